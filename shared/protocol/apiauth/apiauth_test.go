package apiauth_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mrrt-auth/mrrt/shared/protocol/apiauth"
	"github.com/mrrt-auth/mrrt/shared/testkit/localserver"
)

const api = "https://api.example.com"

type key struct {
	priv *ecdsa.PrivateKey
	jwk  map[string]any
}

func newKey(t *testing.T) *key {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	x, y := make([]byte, 32), make([]byte, 32)
	k.X.FillBytes(x)
	k.Y.FillBytes(y)
	enc := base64.RawURLEncoding.EncodeToString
	return &key{priv: k, jwk: map[string]any{"kty": "EC", "crv": "P-256", "x": enc(x), "y": enc(y)}}
}

func (k *key) proof(t *testing.T, method, htu, nonce, accessToken string) string {
	t.Helper()
	enc := base64.RawURLEncoding.EncodeToString
	h, _ := json.Marshal(map[string]any{"typ": "dpop+jwt", "alg": "ES256", "jwk": k.jwk})
	c := map[string]any{"jti": fmt.Sprint(time.Now().UnixNano()), "htm": method, "htu": htu, "iat": time.Now().Unix()}
	if nonce != "" {
		c["nonce"] = nonce
	}
	if accessToken != "" {
		sum := sha256.Sum256([]byte(accessToken))
		c["ath"] = enc(sum[:])
	}
	cb, _ := json.Marshal(c)
	input := enc(h) + "." + enc(cb)
	sum := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, k.priv, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + enc(sig)
}

// token gets a client-credentials token, DPoP-bound to k when k is set.
func token(t *testing.T, base string, k *key) string {
	t.Helper()
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {"demo-m2m"},
		"client_secret": {"demo-m2m-secret-change-me"}, "audience": {api}}
	post := func(nonce string) (*http.Response, map[string]any) {
		req, _ := http.NewRequest(http.MethodPost, base+"/oauth/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if k != nil {
			req.Header.Set("DPoP", k.proof(t, http.MethodPost, base+"/oauth/token", nonce, ""))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		json.NewDecoder(resp.Body).Decode(&body)
		return resp, body
	}
	resp, body := post("")
	if k != nil {
		resp, body = post(resp.Header.Get("DPoP-Nonce"))
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("token: %d %v", resp.StatusCode, body)
	}
	return body["access_token"].(string)
}

func TestVerifier(t *testing.T) {
	srv := localserver.Start(t, localserver.Options{})
	v := &apiauth.Verifier{Issuer: srv.URL, Audience: api, BaseURL: api}
	k := newKey(t)
	bearer := token(t, srv.URL, nil)
	bound := token(t, srv.URL, k)
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
	t.Run("another API's verifier refuses the token (aud)", func(t *testing.T) {
		other := &apiauth.Verifier{Issuer: srv.URL, Audience: "https://billing.example.com", BaseURL: api}
		if _, err := other.Verify(t.Context(), request("Bearer "+bearer, "")); err == nil {
			t.Fatal("accepted")
		}
	})
}
