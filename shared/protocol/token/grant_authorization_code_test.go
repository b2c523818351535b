package token

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

func TestCodeExchange(t *testing.T) {
	t.Run("valid code returns access, refresh and id tokens", func(t *testing.T) {
		f := newFixture(t)
		r := f.redeem(spaID, f.newCode(codeSpec{nonce: "n-0S6_WzA2Mj", scope: "openid profile offline_access read:data unknown:scope"}))
		wantOK(t, r)
		if r.RefreshToken == "" || r.IDToken == "" || r.TokenType != "Bearer" || r.ExpiresIn != 3600 {
			t.Fatalf("response = %+v", r)
		}
		if got, want := scopeOf(r), "openid profile offline_access read:data"; got != want {
			t.Errorf("scope = %q, want %q", got, want)
		}
		h, claims := f.verify(r.AccessToken)
		if h.Typ != oauth.TypAccessToken || h.Kid == "" || claims["aud"] != apiData || claims["sub"] != userID || claims["client_id"] != spaID {
			t.Errorf("access token header %+v claims %v", h, claims)
		}
		if exp, iat := claimInt(t, claims, "exp"), claimInt(t, claims, "iat"); exp-iat != 3600 {
			t.Errorf("exp-iat = %d", exp-iat)
		}
		_, id := f.verify(r.IDToken)
		if id["aud"] != spaID || id["nonce"] != "n-0S6_WzA2Mj" || id["sub"] != userID || id["iss"] != issuer {
			t.Errorf("id token claims %v", id)
		}
		if claimInt(t, id, "auth_time") != startTime.Add(-time.Minute).Unix() {
			t.Errorf("auth_time = %v", id["auth_time"])
		}
		fam := f.family(r.RefreshToken)
		if fam.ClientID != spaID || fam.UserID != userID || fam.Audience != apiData || fam.Generation != 0 ||
			strings.Join(fam.Scopes, " ") != "openid profile offline_access read:data unknown:scope" ||
			fam.HeadHash != oauth.HashToken(r.RefreshToken) || !fam.CreatedAt.Equal(startTime) {
			t.Errorf("family = %+v", fam)
		}
		if !fam.ExpiresAt.Equal(startTime.Add(86400*time.Second)) || !fam.IdleExpiresAt.Equal(startTime.Add(3600*time.Second)) {
			t.Errorf("ExpiresAt %v IdleExpiresAt %v", fam.ExpiresAt, fam.IdleExpiresAt)
		}
		if len(r.RefreshToken) <= rtEncodedLen || strings.Trim(r.RefreshToken, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
			t.Errorf("refresh token %q is not a sealed token of URL-safe characters", r.RefreshToken)
		}
	})

	t.Run("wrong verifier is refused, revokes nothing, and the code still redeems", func(t *testing.T) {
		f := newFixture(t)
		c := f.newCode(codeSpec{})
		first := f.redeem(spaID, c)
		wantOK(t, first)
		// A replay with a wrong verifier must not revoke the first redemption's family.
		bad := c
		bad.verifier = strings.Repeat("x", 43)
		wantError(t, f.redeem(spaID, bad), http.StatusBadRequest, oauth.InvalidGrant)
		if f.family(first.RefreshToken).Revoked {
			t.Fatal("wrong verifier revoked the family")
		}
		c2 := f.newCode(codeSpec{})
		bad2 := c2
		bad2.verifier = strings.Repeat("y", 43)
		wantError(t, f.redeem(spaID, bad2), http.StatusBadRequest, oauth.InvalidGrant)
		wantOK(t, f.redeem(spaID, c2))
	})

	t.Run("a resource or audience other than the code's is invalid_target and the code still redeems", func(t *testing.T) {
		// RFC 8707 §2.2; SECURITY.md R3 (tokens bound to the consented resource).
		f := newFixture(t)
		c := f.newCode(codeSpec{})
		for _, extra := range []url.Values{
			{"resource": {apiBilling}},
			{"audience": {apiBilling}},
			{"resource": {"https://unknown.example.com"}},
		} {
			form := url.Values{"grant_type": {"authorization_code"}, "code": {c.raw}, "code_verifier": {c.verifier}, "redirect_uri": {callback}}
			for k, v := range extra {
				form[k] = v
			}
			wantError(t, f.token(spaID, form), http.StatusBadRequest, oauth.InvalidTarget)
		}
		// The code's own resource is fine.
		r := f.token(spaID, url.Values{"grant_type": {"authorization_code"}, "code": {c.raw}, "code_verifier": {c.verifier},
			"redirect_uri": {callback}, "resource": {apiData}})
		wantOK(t, r)
		if _, claims := f.verify(r.AccessToken); claims["aud"] != apiData {
			t.Errorf("aud = %v", claims["aud"])
		}
	})

	t.Run("missing verifier is invalid_grant", func(t *testing.T) {
		f := newFixture(t)
		c := f.newCode(codeSpec{})
		r := f.token(spaID, url.Values{"grant_type": {"authorization_code"}, "code": {c.raw}, "redirect_uri": {callback}})
		wantError(t, r, http.StatusBadRequest, oauth.InvalidGrant)
		wantOK(t, f.redeem(spaID, c))
	})

	t.Run("malformed verifier is invalid_request", func(t *testing.T) {
		f := newFixture(t)
		for _, v := range []string{strings.Repeat("a", 42), strings.Repeat("a", 129), strings.Repeat("a", 42) + "+"} {
			c := f.newCode(codeSpec{})
			c.verifier = v
			wantError(t, f.redeem(spaID, c), http.StatusBadRequest, oauth.InvalidRequest)
		}
	})

	t.Run("missing code is invalid_request", func(t *testing.T) {
		f := newFixture(t)
		r := f.token(spaID, url.Values{"grant_type": {"authorization_code"}, "code_verifier": {strings.Repeat("a", 43)}})
		wantError(t, r, http.StatusBadRequest, oauth.InvalidRequest)
	})

	t.Run("code of another client is refused and revokes nothing", func(t *testing.T) {
		f := newFixture(t)
		c := f.newCode(codeSpec{})
		first := f.redeem(spaID, c)
		wantOK(t, first)
		wantError(t, f.redeem(thirdID, c), http.StatusBadRequest, oauth.InvalidGrant)
		if f.family(first.RefreshToken).Revoked {
			t.Fatal("another client's replay revoked the family")
		}
		c2 := f.newCode(codeSpec{})
		wantError(t, f.redeem(thirdID, c2), http.StatusBadRequest, oauth.InvalidGrant)
		wantOK(t, f.redeem(spaID, c2))
	})

	t.Run("wrong redirect_uri is refused", func(t *testing.T) {
		f := newFixture(t)
		c := f.newCode(codeSpec{})
		for _, uri := range []string{"https://app.example.com/callback/", ""} {
			form := url.Values{"grant_type": {"authorization_code"}, "code": {c.raw}, "code_verifier": {c.verifier}}
			if uri != "" {
				form.Set("redirect_uri", uri)
			}
			wantError(t, f.token(spaID, form), http.StatusBadRequest, oauth.InvalidGrant)
		}
		wantOK(t, f.redeem(spaID, c))
	})

	t.Run("expired code is refused", func(t *testing.T) {
		f := newFixture(t)
		c := f.newCode(codeSpec{})
		f.clock.Advance(oauth.CodeLifetime + 2*time.Second)
		wantError(t, f.redeem(spaID, c), http.StatusBadRequest, oauth.InvalidGrant)
	})

	t.Run("unknown code is refused", func(t *testing.T) {
		f := newFixture(t)
		c := f.newCode(codeSpec{})
		c.raw = "x" + c.raw
		wantError(t, f.redeem(spaID, c), http.StatusBadRequest, oauth.InvalidGrant)
	})

	t.Run("code without a challenge is refused", func(t *testing.T) {
		f := newFixture(t)
		verifier := strings.Repeat("v", 43)
		if err := f.store.CreateCode(context.Background(), &oauth.AuthCode{
			Hash: oauth.HashToken("legacy"), ClientID: spaID, RedirectURI: callback, Audience: apiData,
			Scopes: []string{"read:data"}, UserID: userID, ExpiresAt: f.clock.Now().Add(time.Minute),
		}); err != nil {
			t.Fatal(err)
		}
		wantError(t, f.redeem(spaID, code{raw: "legacy", verifier: verifier}), http.StatusBadRequest, oauth.InvalidGrant)
	})

	t.Run("second valid redemption is refused and revokes the family from the first", func(t *testing.T) {
		f := newFixture(t)
		c := f.newCode(codeSpec{})
		first := f.redeem(spaID, c)
		wantOK(t, first)
		f.clock.Advance(30 * time.Second)
		r := f.redeem(spaID, c)
		wantError(t, r, http.StatusBadRequest, oauth.InvalidGrant)
		if r.Description != "authorization code already used" {
			t.Errorf("description = %q", r.Description)
		}
		fam := f.family(first.RefreshToken)
		if !fam.Revoked || fam.RevokeReason != "authorization_code_reuse" {
			t.Errorf("family revoked=%v reason=%q", fam.Revoked, fam.RevokeReason)
		}
		wantError(t, f.refresh(spaID, first.RefreshToken), http.StatusBadRequest, oauth.InvalidGrant)
	})

	t.Run("refresh token needs offline_access, an offline API and the refresh grant", func(t *testing.T) {
		f := newFixture(t)
		f.updateClient(webID, func(c *oauth.Client) { c.GrantTypes = []string{oauth.GrantTypeAuthorizationCode} })
		cases := []struct {
			name   string
			spec   codeSpec
			wantRT bool
		}{
			{"offline_access on an offline API", codeSpec{scope: "offline_access read:data"}, true},
			{"no offline_access", codeSpec{scope: "openid read:data"}, false},
			{"API without allow_offline_access", codeSpec{audience: apiReports, scope: "offline_access read:reports"}, false},
			{"client without the refresh_token grant", codeSpec{client: webID, scope: "offline_access read:data"}, false},
		}
		for _, tc := range cases {
			client := tc.spec.client
			if client == "" {
				client = spaID
			}
			r := f.redeem(client, f.newCode(tc.spec))
			wantOK(t, r)
			if (r.RefreshToken != "") != tc.wantRT {
				t.Errorf("%s: refresh token present = %v, want %v", tc.name, r.RefreshToken != "", tc.wantRT)
			}
		}
	})

	t.Run("id_token only with openid", func(t *testing.T) {
		f := newFixture(t)
		r := f.redeem(spaID, f.newCode(codeSpec{scope: "offline_access read:data"}))
		wantOK(t, r)
		if r.IDToken != "" {
			t.Error("id_token without openid")
		}
	})

	t.Run("client without the authorization_code grant is unauthorized_client", func(t *testing.T) {
		f := newFixture(t)
		c := f.newCode(codeSpec{client: m2mID})
		wantError(t, f.redeem(m2mID, c), http.StatusBadRequest, oauth.UnauthorizedClient)
	})

	t.Run("confidential client redeems with its secret", func(t *testing.T) {
		f := newFixture(t)
		wantOK(t, f.redeem(webID, f.newCode(codeSpec{client: webID})))
		wantOK(t, f.redeem(postID, f.newCode(codeSpec{client: postID})))
	})

	t.Run("API deleted since the code was issued is invalid_grant", func(t *testing.T) {
		f := newFixture(t)
		c := f.newCode(codeSpec{audience: apiBilling, scope: "read:billing"})
		if err := f.store.DeleteResourceServer(context.Background(), apiBilling); err != nil {
			t.Fatal(err)
		}
		wantError(t, f.redeem(spaID, c), http.StatusBadRequest, oauth.InvalidGrant)
	})
}

func TestCodeExchangeFaults(t *testing.T) {
	unavailable := fmt.Errorf("dynamodb: throttled: %w", oauth.ErrUnavailable)
	for name, inject := range map[string]func(f *fixture){
		"signer unavailable":          func(f *fixture) { f.signer.FailNext("", unavailable) },
		"id token signer unavailable": func(f *fixture) { f.signer.FailNext(oauth.TypIDToken, unavailable) },
		"redeem unavailable":          func(f *fixture) { f.store.FailNext("RedeemCode", unavailable) },
		"code read unavailable":       func(f *fixture) { f.store.FailNext("Code", unavailable) },
	} {
		t.Run(name+" is 503 and the code still redeems", func(t *testing.T) {
			f := newFixture(t)
			c := f.newCode(codeSpec{})
			inject(f)
			r := f.redeem(spaID, c)
			wantError(t, r, http.StatusServiceUnavailable, oauth.TemporarilyUnavailable)
			if r.Header.Get("Retry-After") == "" {
				t.Error("no Retry-After")
			}
			wantOK(t, f.redeem(spaID, c))
		})
	}
}

func TestCodeExchangeConcurrent(t *testing.T) {
	const n = 50
	f := newFixture(t)
	c := f.newCode(codeSpec{})
	results := make([]result, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { results[i] = f.redeem(spaID, c) })
	}
	wg.Wait()
	var winner string
	ok := 0
	for _, r := range results {
		switch {
		case r.Status == http.StatusOK:
			ok++
			winner = r.RefreshToken
		case r.Error != string(oauth.InvalidGrant):
			t.Errorf("loser got %v", r)
		}
	}
	if ok != 1 {
		t.Fatalf("%d redemptions succeeded, want 1", ok)
	}
	if !f.family(winner).Revoked {
		t.Error("replays did not revoke the winner's family")
	}
}
