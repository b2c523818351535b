package apiauth_test

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/mrrt-auth/mrrt/shared/protocol/apiauth"
	"github.com/mrrt-auth/mrrt/shared/testkit/localserver"
	"github.com/mrrt-auth/mrrt/shared/testkit/oauthtest"
)

const api = "https://api.example.com"

type key struct{ *oauthtest.DPoPKey }

func newKey(t *testing.T) *key { return &key{oauthtest.NewDPoPKey(t)} }

func (k *key) proof(t *testing.T, method, htu, nonce, accessToken string) string {
	t.Helper()
	return k.Proof(t, method, htu, time.Now(), nonce, accessToken)
}

func TestVerifier(t *testing.T) {
	srv := localserver.Start(t, localserver.Options{})
	v := &apiauth.Verifier{Issuer: srv.URL, Audience: api, BaseURL: api}
	k := newKey(t)
	bearer := oauthtest.ClientCredentials(t, srv.Client(), srv.URL, api, nil)
	bound := oauthtest.ClientCredentials(t, srv.Client(), srv.URL, api, k.DPoPKey)
	request := func(auth, proof string) *http.Request {
		r := httptest.NewRequest(http.MethodGet, api+"/items", nil)
		r.Header.Set("Authorization", auth)
		if proof != "" {
			r.Header.Set("DPoP", proof)
		}
		return r
	}
	t.Run("a Bearer token of the issuer for the API is accepted", func(t *testing.T) {
		c, err := v.Verify(t.Context(), request("Bearer "+bearer, ""))
		if err != nil || c.ClientID != "demo-m2m" || !c.HasScope("read:data") || c.JKT != "" {
			t.Fatalf("%+v, %v", c, err)
		}
	})
	t.Run("a DPoP-bound token with a proof of its key is accepted", func(t *testing.T) {
		c, err := v.Verify(t.Context(), request("DPoP "+bound, k.proof(t, http.MethodGet, api+"/items", "", bound)))
		if err != nil || c.JKT == "" {
			t.Fatalf("%+v, %v", c, err)
		}
	})
	for _, tc := range []struct {
		name string
		r    func() *http.Request
	}{
		{"a DPoP-bound token used as Bearer", func() *http.Request { return request("Bearer "+bound, "") }},
		{"a DPoP-bound token without a proof", func() *http.Request { return request("DPoP "+bound, "") }},
		{"a proof of another key", func() *http.Request {
			return request("DPoP "+bound, newKey(t).proof(t, http.MethodGet, api+"/items", "", bound))
		}},
		{"a proof for another token (ath)", func() *http.Request {
			return request("DPoP "+bound, k.proof(t, http.MethodGet, api+"/items", "", bearer))
		}},
		{"a proof for another URL", func() *http.Request {
			return request("DPoP "+bound, k.proof(t, http.MethodGet, api+"/other", "", bound))
		}},
		{"a tampered token", func() *http.Request { return request("Bearer "+bearer[:len(bearer)-4]+"AAAA", "") }},
	} {
		t.Run(tc.name+" is refused", func(t *testing.T) {
			if _, err := v.Verify(t.Context(), tc.r()); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	t.Run("without BaseURL the proof's htu is https and the request's host", func(t *testing.T) {
		byHost := &apiauth.Verifier{Issuer: srv.URL, Audience: api}
		if _, err := byHost.Verify(t.Context(), request("DPoP "+bound, k.proof(t, http.MethodGet, api+"/items", "", bound))); err != nil {
			t.Fatalf("proof for %s/items: %v", api, err)
		}
		r := request("DPoP "+bound, k.proof(t, http.MethodGet, api+"/items", "", bound))
		r.Host = "other.example.com"
		if _, err := byHost.Verify(t.Context(), r); err == nil {
			t.Fatal("a proof for api.example.com accepted at other.example.com")
		}
	})
	t.Run("another API's verifier refuses the token (aud)", func(t *testing.T) {
		other := &apiauth.Verifier{Issuer: srv.URL, Audience: "https://billing.example.com", BaseURL: api}
		if _, err := other.Verify(t.Context(), request("Bearer "+bearer, "")); err == nil {
			t.Fatal("accepted")
		}
	})
}
