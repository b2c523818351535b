package local_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// oauth4webapi (npm registry, pinned in testdata/oauth4webapi/package.json;
// .ci/run installs it with npm ci), a standard OAuth client, in Node: its
// DPoP support against this server for the code exchange, a refresh that
// switches the audience (MRRT) and client credentials. It handles the
// server's use_dpop_nonce answer as RFC 9449 §8 says (retry with the nonce).
func TestOAuth4WebAPIDPoP(t *testing.T) {
	const dir = "testdata/oauth4webapi"
	node := nodeModule(t, dir, "oauth4webapi", "OAUTH4WEBAPI TEST")
	srv, store := devServer(t)
	code, verifier := "o4w-code-"+strings.Repeat("x", 40), strings.Repeat("v", 50)
	now := time.Now()
	if err := store.CreateCode(context.Background(), &oauth.AuthCode{
		Hash: oauth.HashToken(code), ClientID: "demo-spa", RedirectURI: "https://app.example.com/callback",
		CodeChallenge: s256(verifier), CodeChallengeMethod: "S256", Audience: "https://api.example.com",
		Scopes: []string{"offline_access", "read:data"}, UserID: "auth0|demo", AuthTime: now, ExpiresAt: now.Add(time.Minute),
	}); err != nil {
		t.Fatal(err)
	}
	input, _ := json.Marshal(map[string]string{
		"issuer": srv.URL, "spaClient": "demo-spa", "redirectURI": "https://app.example.com/callback", "verifier": verifier,
		"state":         "o4w-state",
		"callbackURL":   "https://app.example.com/callback?" + url.Values{"code": {code}, "state": {"o4w-state"}, "iss": {srv.URL}}.Encode(),
		"otherAudience": "https://billing.example.com", "audience": "https://api.example.com",
		"m2mClient": "demo-m2m", "m2mSecret": "demo-m2m-secret-change-me",
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, node, filepath.Join(dir, "dpop.mjs"), string(input)).CombinedOutput()
	if err != nil {
		t.Fatalf("oauth4webapi: %v\n%s", err, out)
	}
	type view struct {
		TokenType    string         `json:"token_type"`
		Scope        string         `json:"scope"`
		Claims       map[string]any `json:"claims"`
		RefreshToken string         `json:"refresh_token"`
	}
	var got map[string]view
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("oauth4webapi output %q: %v", out, err)
	}
	var jkt string
	for _, step := range []string{"code", "refreshed", "client_credentials"} {
		v := got[step]
		cnf, _ := v.Claims["cnf"].(map[string]any)
		if !strings.EqualFold(v.TokenType, "DPoP") || cnf == nil || cnf["jkt"] == "" {
			t.Errorf("%s: token_type %q, cnf %v; want a DPoP-bound token", step, v.TokenType, v.Claims["cnf"])
			continue
		}
		if jkt == "" {
			jkt = fmt.Sprint(cnf["jkt"])
		} else if cnf["jkt"] != jkt {
			t.Errorf("%s: bound to %v, the other tokens to %s (one key pair)", step, cnf["jkt"], jkt)
		}
	}
	if aud := got["refreshed"].Claims["aud"]; aud != "https://billing.example.com" {
		t.Errorf("the MRRT refresh's token is for %v, want the billing API", aud)
	}
	// The refresh token's family is bound to the same key.
	fams, err := store.FamiliesByUser(context.Background(), "auth0|demo")
	if err != nil {
		t.Fatal(err)
	}
	head := oauth.HashToken(got["refreshed"].RefreshToken)
	found := false
	for _, f := range fams {
		if f.HeadHash == head {
			found = true
			if f.DPoPJKT != jkt {
				t.Errorf("family bound to %q, want %q", f.DPoPJKT, jkt)
			}
		}
	}
	if !found {
		t.Error("no family holds the refreshed token")
	}
}

// oauth4webapi's private_key_jwt (PrivateKeyJwt) for client credentials,
// with the key registered as an Auth0 user would, through the admin API:
// a client credential (POST /api/v2/clients/{id}/credentials), then named
// in the client's client_authentication_methods.
func TestOAuth4WebAPIPrivateKeyJWT(t *testing.T) {
	const dir = "testdata/oauth4webapi"
	node := nodeModule(t, dir, "oauth4webapi", "OAUTH4WEBAPI TEST")
	srv, _ := devServer(t)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := x509.MarshalPKIXPublicKey(&key.PublicKey)
	priv, _ := x509.MarshalPKCS8PrivateKey(key)
	admin := adminAPI(t, srv.URL)
	var client struct {
		ClientID string `json:"client_id"`
	}
	admin.call("POST", "/api/v2/clients", map[string]any{"name": "PKJ", "app_type": "non_interactive",
		"grant_types": []string{"client_credentials"}, "token_endpoint_auth_method": "client_secret_post"}, http.StatusCreated, &client)
	var cred struct {
		ID string `json:"id"`
	}
	admin.call("POST", "/api/v2/clients/"+client.ClientID+"/credentials", map[string]any{"credential_type": "public_key",
		"name": "ci key", "alg": "RS256", "pem": string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}))}, http.StatusCreated, &cred)
	admin.call("PATCH", "/api/v2/clients/"+client.ClientID, map[string]any{"token_endpoint_auth_method": "private_key_jwt",
		"client_authentication_methods": map[string]any{"private_key_jwt": map[string]any{"credentials": []map[string]string{{"id": cred.ID}}}}},
		http.StatusOK, nil)
	admin.call("POST", "/api/v2/client-grants", map[string]any{"client_id": client.ClientID, "audience": "https://api.example.com",
		"scope": []string{"read:data"}}, http.StatusCreated, nil)
	ctx := context.Background()
	input, _ := json.Marshal(map[string]string{
		"issuer": srv.URL, "client": client.ClientID, "audience": "https://api.example.com",
		"privateKeyPEM": string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: priv})),
	})
	cctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(cctx, node, filepath.Join(dir, "pkj.mjs"), string(input)).CombinedOutput()
	if err != nil {
		t.Fatalf("oauth4webapi: %v\n%s", err, out)
	}
	var got map[string]map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("oauth4webapi output %q: %v", out, err)
	}
	for _, k := range []string{"first", "second"} {
		if got[k]["client_id"] != client.ClientID || got[k]["aud"] != "https://api.example.com" {
			t.Errorf("%s token: %v", k, got[k])
		}
	}
}

// nodeModule returns node's path when node and the npm module (installed
// in dir by npm ci) are there; else the test is skipped, or fails in CI.
func nodeModule(t *testing.T, dir, module, test string) string {
	t.Helper()
	node, err := exec.LookPath("node")
	_, modErr := os.Stat(filepath.Join(dir, "node_modules", module))
	if err != nil || modErr != nil {
		msg := test + " SKIPPED: needs node and npm ci --prefix shared/runtime/local/" + dir
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return node
}
