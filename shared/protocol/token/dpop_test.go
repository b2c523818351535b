package token

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/testkit/oauthtest"
)

// dpopKeyPair is a client's DPoP key.
type dpopKeyPair struct{ *oauthtest.DPoPKey }

func newDPoPKey(t testing.TB) *dpopKeyPair { return &dpopKeyPair{oauthtest.NewDPoPKey(t)} }

// proof signs a DPoP proof for method and path of the issuer, with nonce
// and, for a resource request, ath of accessToken.
func (k *dpopKeyPair) proof(t testing.TB, f *fixture, method, path, nonce, accessToken string) string {
	t.Helper()
	return k.Proof(t, method, issuer+path, f.clock.Now(), nonce, accessToken)
}

// dpopToken posts form to the token endpoint with a proof of k: the first
// try without a nonce must ask for one (use_dpop_nonce), the second uses it.
func (f *fixture) dpopToken(k *dpopKeyPair, clientID string, form url.Values) result {
	f.t.Helper()
	send := func(nonce string) result {
		r := httptest.NewRequest(http.MethodPost, "/oauth/token", nil)
		f.auth(clientID)(r, form)
		r.Header.Set("DPoP", k.proof(f.t, f, http.MethodPost, "/oauth/token", nonce, ""))
		return f.do(r, form.Encode())
	}
	first := send("")
	if first.Status != http.StatusBadRequest || first.Error != string(oauth.UseDPoPNonce) || first.Header.Get("DPoP-Nonce") == "" {
		f.t.Fatalf("a proof without a nonce: %v, DPoP-Nonce %q; want 400 use_dpop_nonce with a nonce", first, first.Header.Get("DPoP-Nonce"))
	}
	return send(first.Header.Get("DPoP-Nonce"))
}

// wantBound checks a DPoP-bound answer; k nil: bound to any key.
func wantBound(t *testing.T, f *fixture, r result, k *dpopKeyPair) {
	t.Helper()
	wantOK(t, r)
	if r.TokenType != "DPoP" {
		t.Errorf("token_type %q, want DPoP", r.TokenType)
	}
	_, c := f.verify(r.AccessToken)
	cnf, _ := c["cnf"].(map[string]any)
	if cnf == nil || cnf["jkt"] == nil || (k != nil && cnf["jkt"] != k.JKT) {
		t.Errorf("access token cnf %v, want a jkt", c["cnf"])
	}
}

func TestDPoPBindsPublicClientRefreshTokensToTheKey(t *testing.T) {
	f := newFixture(t)
	k := newDPoPKey(t)
	c := f.newCode(codeSpec{})
	code := f.dpopToken(k, spaID, url.Values{"grant_type": {"authorization_code"}, "code": {c.raw}, "code_verifier": {c.verifier}, "redirect_uri": {callback}})
	wantBound(t, f, code, k)
	if fam := f.family(code.RefreshToken); fam.DPoPJKT != k.JKT {
		t.Fatalf("family jkt %q, want %q", fam.DPoPJKT, k.JKT)
	}
	rt := code.RefreshToken
	refresh := func(key *dpopKeyPair, token string, extra ...string) result {
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {token}}
		for i := 0; i+1 < len(extra); i += 2 {
			form.Set(extra[i], extra[i+1])
		}
		if key == nil {
			return f.token(spaID, form)
		}
		return f.dpopToken(key, spaID, form)
	}

	t.Run("a refresh without a proof is invalid_grant and revokes nothing", func(t *testing.T) {
		wantError(t, refresh(nil, rt), http.StatusBadRequest, oauth.InvalidGrant)
		if fam := f.family(rt); fam.Revoked {
			t.Fatal("family revoked by a request without the key")
		}
	})
	t.Run("a refresh with another key is invalid_grant and revokes nothing", func(t *testing.T) {
		wantError(t, refresh(newDPoPKey(t), rt), http.StatusBadRequest, oauth.InvalidGrant)
		if fam := f.family(rt); fam.Revoked {
			t.Fatal("family revoked by a request with another key")
		}
	})
	t.Run("the key holder refreshes, MRRT to another audience included", func(t *testing.T) {
		r := refresh(k, rt)
		wantBound(t, f, r, k)
		old := rt
		rt = r.RefreshToken
		mrrt := refresh(k, rt, "audience", apiBilling)
		wantBound(t, f, mrrt, k)
		rt = mrrt.RefreshToken
		// A stolen retired token without the key: refused before reuse
		// detection, so the thief cannot log the user out.
		wantError(t, refresh(nil, old), http.StatusBadRequest, oauth.InvalidGrant)
		wantError(t, refresh(newDPoPKey(t), old), http.StatusBadRequest, oauth.InvalidGrant)
		wantBound(t, f, refresh(k, rt), k)
	})
}

func TestDPoPProofErrors(t *testing.T) {
	f := newFixture(t)
	k := newDPoPKey(t)
	rt := f.login(codeSpec{client: webID}) // confidential: refresh tokens unbound
	send := func(proof string) result {
		r := httptest.NewRequest(http.MethodPost, "/oauth/token", nil)
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
		f.auth(webID)(r, form)
		r.Header.Set("DPoP", proof)
		return f.do(r, form.Encode())
	}
	nonce := send(k.proof(t, f, http.MethodPost, "/oauth/token", "", "")).Header.Get("DPoP-Nonce")
	for _, tc := range []struct{ name, proof string }{
		{"a proof for another endpoint", k.proof(t, f, http.MethodPost, "/oauth/revoke", nonce, "")},
		{"a proof for another method", k.proof(t, f, http.MethodGet, "/oauth/token", nonce, "")},
		{"a malformed proof", "not.a.proof"},
	} {
		t.Run(tc.name+" is invalid_dpop_proof", func(t *testing.T) {
			wantError(t, send(tc.proof), http.StatusBadRequest, oauth.InvalidDPoPProof)
		})
	}
	t.Run("a confidential client's access tokens are bound, its family is not", func(t *testing.T) {
		r := send(k.proof(t, f, http.MethodPost, "/oauth/token", nonce, ""))
		wantBound(t, f, r, k)
		if fam := f.family(rt); fam.DPoPJKT != "" { // non-rotating: the same token
			t.Errorf("confidential family bound to %q", fam.DPoPJKT)
		}
	})
	t.Run("client credentials get a bound access token", func(t *testing.T) {
		r := f.dpopToken(k, m2mID, url.Values{"grant_type": {"client_credentials"}, "audience": {apiData}})
		wantBound(t, f, r, k)
	})
}

// RFC 9449 §10: a code requested with dpop_jkt is redeemed only with a
// proof of that key; without, it stays unused.
func TestDPoPJKTBindsTheCode(t *testing.T) {
	f := newFixture(t)
	k := newDPoPKey(t)
	c := f.newCode(codeSpec{dpopJKT: k.JKT})
	wantError(t, f.redeem(spaID, c), http.StatusBadRequest, oauth.InvalidGrant)
	r := f.dpopToken(k, spaID, url.Values{"grant_type": {"authorization_code"}, "code": {c.raw}, "code_verifier": {c.verifier}, "redirect_uri": {callback}})
	wantBound(t, f, r, k)
}

// A DPoP-bound token works at /userinfo only with the DPoP scheme and a
// proof of its key (RFC 9449 §7); as a Bearer token it is refused.
func TestUserinfoWithDPoPBoundToken(t *testing.T) {
	f := newFixture(t)
	k := newDPoPKey(t)
	c := f.newCode(codeSpec{audience: oauth.UserinfoAudience(issuer), scope: "openid email"})
	r := f.dpopToken(k, spaID, url.Values{"grant_type": {"authorization_code"}, "code": {c.raw}, "code_verifier": {c.verifier}, "redirect_uri": {callback}})
	wantBound(t, f, r, k)
	get := func(auth, proof string) int {
		req := httptest.NewRequest(http.MethodGet, "/userinfo", nil)
		req.Header.Set("Authorization", auth)
		if proof != "" {
			req.Header.Set("DPoP", proof)
		}
		w := httptest.NewRecorder()
		f.handler.ServeHTTP(w, req)
		return w.Code
	}
	if got := get("Bearer "+r.AccessToken, ""); got != http.StatusUnauthorized {
		t.Errorf("bound token as Bearer: %d, want 401", got)
	}
	nonce := r.Header.Get("DPoP-Nonce")
	if got := get("DPoP "+r.AccessToken, newDPoPKey(t).proof(t, f, http.MethodGet, "/userinfo", nonce, r.AccessToken)); got != http.StatusUnauthorized {
		t.Errorf("a proof of another key: %d, want 401", got)
	}
	if got := get("DPoP "+r.AccessToken, k.proof(t, f, http.MethodGet, "/userinfo", nonce, r.AccessToken)); got != http.StatusOK {
		t.Errorf("DPoP scheme with a proof of the key: %d, want 200", got)
	}
	if got := get("DPoP "+r.AccessToken, k.proof(t, f, http.MethodGet, "/userinfo", nonce, "another-token")); got != http.StatusUnauthorized {
		t.Errorf("a proof with the wrong ath: %d, want 401", got)
	}
}

// Auth0's names: require_proof_of_possession on the application and
// proof_of_possession {mechanism dpop, required} on the API refuse a
// request without a proof, and accept one with it.
func TestDPoPRequiredByPolicy(t *testing.T) {
	t.Run("an application that requires DPoP", func(t *testing.T) {
		f := newFixture(t)
		f.updateClient(m2mID, func(c *oauth.Client) { c.RequireProofOfPossession = true })
		form := url.Values{"grant_type": {"client_credentials"}, "audience": {apiData}}
		wantError(t, f.token(m2mID, form), http.StatusBadRequest, oauth.InvalidRequest)
		wantBound(t, f, f.dpopToken(newDPoPKey(t), m2mID, form), nil)
	})
	t.Run("an API that requires DPoP, reached by MRRT", func(t *testing.T) {
		f := newFixture(t)
		rt := f.login(codeSpec{})
		f.updateAPI(apiBilling, func(a *oauth.ResourceServer) {
			a.ProofOfPossession = &oauth.ProofOfPossession{Mechanism: "dpop", Required: true}
		})
		wantError(t, f.refresh(spaID, rt, "audience", apiBilling), http.StatusBadRequest, oauth.InvalidRequest)
		wantOK(t, f.refresh(spaID, rt)) // the original API does not require it; the token survived the refusal
	})
}

// A proof covers method and URL, not the form (RFC 9449 §4.2): a proof
// captured with a refresh request, replayed with that request's refresh
// token for another audience, must not mint a token for it.
func TestDPoPProofReplayedForAnotherAudienceIsRefused(t *testing.T) {
	f := newFixture(t)
	k := newDPoPKey(t)
	c := f.newCode(codeSpec{})
	code := f.dpopToken(k, spaID, url.Values{"grant_type": {"authorization_code"}, "code": {c.raw}, "code_verifier": {c.verifier}, "redirect_uri": {callback}})
	wantBound(t, f, code, k)
	send := func(proof string, form url.Values) result {
		r := httptest.NewRequest(http.MethodPost, "/oauth/token", nil)
		f.auth(spaID)(r, form)
		r.Header.Set("DPoP", proof)
		return f.do(r, form.Encode())
	}
	nonce := send(k.proof(t, f, http.MethodPost, "/oauth/token", "", ""), url.Values{"grant_type": {"refresh_token"}, "refresh_token": {code.RefreshToken}}).Header.Get("DPoP-Nonce")
	captured := k.proof(t, f, http.MethodPost, "/oauth/token", nonce, "")
	wantBound(t, f, send(captured, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {code.RefreshToken}}), k)

	replay := send(captured, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {code.RefreshToken}, "audience": {apiBilling}})
	wantError(t, replay, http.StatusBadRequest, oauth.InvalidGrant)
	if replay.AccessToken != "" {
		t.Fatal("an access token for the other audience")
	}
}
