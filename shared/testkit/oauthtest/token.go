package oauthtest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// ClientCredentials gets an access token for audience from the server at
// issuer as the default seed's machine client (demo-m2m), DPoP-bound to k
// when k is not nil (a first try gets the server's nonce, RFC 9449 §8).
func ClientCredentials(t testing.TB, c *http.Client, issuer, audience string, k *DPoPKey) string {
	t.Helper()
	return clientCredentials(t, c, issuer, url.Values{"client_id": {"demo-m2m"}, "client_secret": {"demo-m2m-secret-change-me"},
		"audience": {audience}}, k)
}

// AdminToken gets an admin API token from the server at issuer as the
// default seed's admin-cli, for scope ("" every scope of its grant).
func AdminToken(t testing.TB, c *http.Client, issuer, scope string) string {
	t.Helper()
	form := url.Values{"client_id": {"admin-cli"}, "client_secret": {"admin-cli-secret-change-me"},
		"audience": {strings.TrimSuffix(issuer, "/") + "/api/v2/"}}
	if scope != "" {
		form.Set("scope", scope)
	}
	return clientCredentials(t, c, issuer, form, nil)
}

func clientCredentials(t testing.TB, c *http.Client, issuer string, form url.Values, k *DPoPKey) string {
	t.Helper()
	form.Set("grant_type", "client_credentials")
	post := func(nonce string) (*http.Response, map[string]any) {
		req, _ := http.NewRequest(http.MethodPost, issuer+"/oauth/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if k != nil {
			req.Header.Set("DPoP", k.Proof(t, http.MethodPost, issuer+"/oauth/token", time.Now(), nonce, ""))
		}
		resp, err := c.Do(req)
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
	tok, _ := body["access_token"].(string)
	if resp.StatusCode != http.StatusOK || tok == "" {
		t.Fatalf("client credentials of %s for %s: %d %v", form.Get("client_id"), form.Get("audience"), resp.StatusCode, body)
	}
	return tok
}
