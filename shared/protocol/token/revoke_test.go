package token

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

func TestRevoke(t *testing.T) {
	revoke := func(f *fixture, client, token string, extra ...string) result {
		form := url.Values{}
		if token != "" {
			form.Set("token", token)
		}
		for i := 0; i+1 < len(extra); i += 2 {
			form.Set(extra[i], extra[i+1])
		}
		return f.post("/oauth/revoke", client, form)
	}

	t.Run("revoked refresh token revokes the family", func(t *testing.T) {
		f := newFixture(t)
		rt1 := f.login(codeSpec{})
		r := f.refresh(spaID, rt1)
		wantOK(t, r)
		res := revoke(f, spaID, r.RefreshToken, "token_type_hint", "refresh_token")
		if res.Status != http.StatusOK {
			t.Fatalf("revoke: %v", res)
		}
		fam := f.family(rt1)
		if !fam.Revoked || fam.RevokeReason != "revoked_by_client" {
			t.Errorf("revoked=%v reason=%q", fam.Revoked, fam.RevokeReason)
		}
		wantError(t, f.refresh(spaID, r.RefreshToken), http.StatusBadRequest, oauth.InvalidGrant)
	})

	t.Run("confidential client revokes with its credentials", func(t *testing.T) {
		f := newFixture(t)
		rt := f.login(codeSpec{client: webID})
		if res := revoke(f, webID, rt); res.Status != http.StatusOK {
			t.Fatalf("revoke: %v", res)
		}
		wantError(t, f.refresh(webID, rt), http.StatusBadRequest, oauth.InvalidGrant)
	})

	t.Run("unknown and invalid tokens get 200", func(t *testing.T) {
		f := newFixture(t)
		rt := f.login(codeSpec{})
		d, _ := decodeRefreshToken(rt, f.key)
		d.family[0] ^= 0xff
		for _, tok := range []string{"garbage", rt[:len(rt)-2] + "AA", d.encode(f.key)} {
			if res := revoke(f, spaID, tok); res.Status != http.StatusOK {
				t.Errorf("revoke %q: %v", tok, res)
			}
		}
		if f.family(rt).Revoked {
			t.Error("family revoked by an invalid token")
		}
	})

	t.Run("access token gets 200 and revokes nothing", func(t *testing.T) {
		f := newFixture(t)
		rt := f.login(codeSpec{})
		r := f.refresh(spaID, rt)
		wantOK(t, r)
		if res := revoke(f, spaID, r.AccessToken, "token_type_hint", "access_token"); res.Status != http.StatusOK {
			t.Fatalf("revoke: %v", res)
		}
		wantOK(t, f.refresh(spaID, r.RefreshToken))
	})

	t.Run("another client's token gets 200 and stays usable", func(t *testing.T) {
		f := newFixture(t)
		rt := f.login(codeSpec{})
		if res := revoke(f, thirdID, rt); res.Status != http.StatusOK {
			t.Fatalf("revoke: %v", res)
		}
		if res := revoke(f, webID, rt); res.Status != http.StatusOK {
			t.Fatalf("revoke: %v", res)
		}
		if f.family(rt).Revoked {
			t.Fatal("another client revoked the family")
		}
		wantOK(t, f.refresh(spaID, rt))
	})

	t.Run("missing token is invalid_request", func(t *testing.T) {
		f := newFixture(t)
		wantError(t, revoke(f, spaID, ""), http.StatusBadRequest, oauth.InvalidRequest)
	})

	t.Run("failed client authentication is 401", func(t *testing.T) {
		f := newFixture(t)
		rt := f.login(codeSpec{client: postID})
		res := f.post("/oauth/revoke", "", url.Values{"token": {rt}, "client_id": {postID}, "client_secret": {"wrong"}})
		wantError(t, res, http.StatusUnauthorized, oauth.InvalidClient)
		if f.family(rt).Revoked {
			t.Error("unauthenticated revocation revoked the family")
		}
	})

	t.Run("repeated parameter is invalid_request", func(t *testing.T) {
		f := newFixture(t)
		rt := f.login(codeSpec{})
		res := f.post("/oauth/revoke", "", url.Values{"token": {rt, rt}, "client_id": {spaID}})
		wantError(t, res, http.StatusBadRequest, oauth.InvalidRequest)
	})

	for _, tc := range []struct {
		name       string
		versionOne bool     // a token from before sealed tokens, whose family is read first
		methods    []string // the store calls a revocation makes
	}{
		{"storage fault is 503 and the token can be revoked on retry", false, []string{"RevokeFamily"}},
		{"storage fault is 503 and a version-1 token can be revoked on retry", true, []string{"Family", "RevokeFamily"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			rt := f.login(codeSpec{})
			if tc.versionOne {
				rt = f.versionOne(rt)
			}
			unavailable := fmt.Errorf("throttled: %w", oauth.ErrUnavailable)
			for _, method := range tc.methods {
				f.store.FailNext(method, unavailable)
				res := revoke(f, spaID, rt)
				wantError(t, res, http.StatusServiceUnavailable, oauth.TemporarilyUnavailable)
				if res.Header.Get("Retry-After") == "" {
					t.Error("no Retry-After")
				}
			}
			if f.family(rt).Revoked {
				t.Fatal("revoked despite the faults")
			}
			if res := revoke(f, spaID, rt); res.Status != http.StatusOK {
				t.Fatalf("retry: %v", res)
			}
			if !f.family(rt).Revoked {
				t.Error("retry did not revoke")
			}
		})
	}
}
