package policyadmin

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

func TestClientCredentialValidation(t *testing.T) {
	const post, patch = "POST", "PATCH"
	creds := "/api/v2/clients/" + exClientID + "/credentials"
	pemJSON, _ := json.Marshal(exCredPEM)
	body := func(extra string) string {
		return `{"credential_type":"public_key","alg":"ES256","pem":` + string(pemJSON) + extra + `}`
	}
	runValidation(t, []validationCase{
		{"a public key is accepted", post, creds, body(""), 201, ""},
		{"an expiry in the future is accepted", post, creds, body(`,"expires_at":"2027-01-01T00:00:00Z"`), 201, ""},
		{"no credential_type is refused", post, creds, `{"pem":` + string(pemJSON) + `}`, 0, "credential_type: is required"},
		{"an mTLS certificate type is refused", post, creds, `{"credential_type":"x509_cert","pem":` + string(pemJSON) + `}`, 0, "credential_type: must be public_key"},
		{"no pem is refused", post, creds, `{"credential_type":"public_key"}`, 0, "pem: is required"},
		{"a pem that is no key is refused", post, creds, `{"credential_type":"public_key","pem":"nope"}`, 0, "pem: no PEM block"},
		{"an EC key under RS256 (the default alg) is refused", post, creds, `{"credential_type":"public_key","pem":` + string(pemJSON) + `}`, 0, "alg: must be ES256 for an EC key"},
		{"an expiry in the past is refused", post, creds, body(`,"expires_at":"2020-01-01T00:00:00Z"`), 0, "expires_at: must be in the future"},
		{"an expiry that is no date is refused", post, creds, body(`,"expires_at":"tomorrow"`), 0, "expires_at: must be an RFC 3339 date-time"},
		{"parse_expiry_from_cert is refused", post, creds, body(`,"parse_expiry_from_cert":true`), 0, "parse_expiry_from_cert: is not supported"},
		{"an unknown member is refused", post, creds, body(`,"subject_dn":"CN=x"`), 0, "subject_dn"},
		{"a credential of an unknown client is not found", post, "/api/v2/clients/nope/credentials", body(""), 404, "inexistent_client"},
		{"only expires_at can change", patch, creds + "/" + exCredID, `{"name":"x"}`, 0, "name"},
		{"an unknown credential is not found", patch, creds + "/cred_nope", `{"expires_at":null}`, 404, "inexistent_credential"},
		{"naming an unknown credential is refused", patch, "/api/v2/clients/" + exClientID,
			`{"token_endpoint_auth_method":"private_key_jwt","client_authentication_methods":{"private_key_jwt":{"credentials":[{"id":"cred_nope"}]}}}`, 0,
			"client_authentication_methods.private_key_jwt.credentials[0].id: names no credential of this client"},
		{"naming a credential twice is refused", patch, "/api/v2/clients/" + exClientID,
			`{"token_endpoint_auth_method":"private_key_jwt","client_authentication_methods":{"private_key_jwt":{"credentials":[{"id":"` + exCredID + `"},{"id":"` + exCredID + `"}]}}}`, 0,
			"credentials[1].id: is named twice"},
	})
}

func TestClientCredentialLifecycle(t *testing.T) {
	e := newEnv(t)
	base := "/api/v2/clients/" + exClientID
	create := func(name string) string {
		t.Helper()
		w := e.call(http.MethodPost, base+"/credentials", map[string]any{"credential_type": "public_key", "name": name, "alg": "ES256", "pem": exCredPEM})
		wantStatus(t, w, http.StatusCreated)
		if strings.Contains(w.Body.String(), "BEGIN PUBLIC KEY") {
			t.Fatalf("the answer shows the key: %s", w.Body)
		}
		v := decode[credentialView](t, w)
		if !strings.HasPrefix(v.ID, "cred_") || v.Name != name || v.Alg != "ES256" || v.CredentialType != "public_key" || v.CreatedAt == nil {
			t.Fatalf("created %+v", v)
		}
		return v.ID
	}
	use := func(ids ...string) *httptest.ResponseRecorder {
		refs := make([]map[string]string, len(ids))
		for i, id := range ids {
			refs[i] = map[string]string{"id": id}
		}
		return e.call(http.MethodPatch, base, map[string]any{"token_endpoint_auth_method": "private_key_jwt",
			"client_authentication_methods": map[string]any{"private_key_jwt": map[string]any{"credentials": refs}}})
	}
	first := create("first")
	t.Run("a created credential is listed but not used until the client names it", func(t *testing.T) {
		list := decode[[]credentialView](t, e.call(http.MethodGet, base+"/credentials", nil))
		if len(list) != 2 || list[1].ID != first {
			t.Fatalf("list %+v", list)
		}
		if c := e.client(exClientID); len(c.AssertionKeys()) != 0 || c.TokenEndpointAuthMethod != oauth.AuthMethodClientSecretPost {
			t.Fatalf("in use before it is named: %+v", c.AssertionKeys())
		}
	})
	t.Run("naming it by id makes the client a private_key_jwt client, and the client shows only the id", func(t *testing.T) {
		w := use(first)
		wantStatus(t, w, http.StatusOK)
		var got struct {
			Methods json.RawMessage `json:"client_authentication_methods"`
		}
		json.Unmarshal(w.Body.Bytes(), &got)
		if want := fmt.Sprintf(`{"private_key_jwt":{"credentials":[{"id":%q}]}}`, first); string(got.Methods) != want {
			t.Errorf("client_authentication_methods %s, want %s", got.Methods, want)
		}
		if keys := e.client(exClientID).AssertionKeys(); len(keys) != 1 || keys[0].PEM != exCredPEM {
			t.Errorf("assertion keys %+v", keys)
		}
	})
	t.Run("the last credential in use cannot be deleted", func(t *testing.T) {
		wantError(t, e.call(http.MethodDelete, base+"/credentials/"+first, nil), http.StatusConflict, "conflict", "name another")
	})
	t.Run("rotation: a second key, both named, then the first deleted", func(t *testing.T) {
		second := create("second")
		wantStatus(t, use(first, second), http.StatusOK)
		wantStatus(t, e.call(http.MethodDelete, base+"/credentials/"+first, nil), http.StatusNoContent)
		c := e.client(exClientID)
		if keys := c.AssertionKeys(); len(keys) != 1 || keys[0].ID != second {
			t.Errorf("assertion keys after the rotation %+v, want only %s", keys, second)
		}
		wantError(t, e.call(http.MethodGet, base+"/credentials/"+first, nil), http.StatusNotFound, "inexistent_credential", "")
	})
	t.Run("expires_at is set and cleared", func(t *testing.T) {
		w := e.call(http.MethodPatch, base+"/credentials/"+exCredID, map[string]any{"expires_at": "2027-06-30T00:00:00Z"})
		wantStatus(t, w, http.StatusOK)
		if v := decode[credentialView](t, w); v.ExpiresAt == nil || v.ExpiresAt.Format("2006-01-02") != "2027-06-30" {
			t.Fatalf("after setting: %+v", v)
		}
		w = e.call(http.MethodPatch, base+"/credentials/"+exCredID, map[string]any{"expires_at": nil})
		if v := decode[credentialView](t, w); v.ExpiresAt != nil || e.client(exClientID).Credential(exCredID).ExpiresAt != nil {
			t.Fatalf("after clearing: %+v", v)
		}
	})
	t.Run("credentials given in full at client creation are created and named by id", func(t *testing.T) {
		w := e.call(http.MethodPost, "/api/v2/clients", map[string]any{"name": "m2m", "app_type": "non_interactive",
			"grant_types": []string{"client_credentials"}, "token_endpoint_auth_method": "private_key_jwt",
			"client_authentication_methods": map[string]any{"private_key_jwt": map[string]any{"credentials": []map[string]string{
				{"credential_type": "public_key", "name": "k", "alg": "ES256", "pem": exCredPEM}}}}})
		wantStatus(t, w, http.StatusCreated)
		created := decode[struct {
			ClientID string `json:"client_id"`
		}](t, w)
		c := e.client(created.ClientID)
		if len(c.Credentials) != 1 || !cmp.Equal(c.ClientAuthenticationMethods.PrivateKeyJWT.Credentials, []oauth.Credential{{ID: c.Credentials[0].ID}}) {
			t.Fatalf("credentials %+v, methods %+v", c.Credentials, c.ClientAuthenticationMethods.PrivateKeyJWT)
		}
		list := decode[[]credentialView](t, e.call(http.MethodGet, "/api/v2/clients/"+created.ClientID+"/credentials", nil))
		if len(list) != 1 || list[0].Name != "k" {
			t.Errorf("list %+v", list)
		}
	})
	t.Run("a client has at most ten credentials", func(t *testing.T) {
		for range oauth.MaxCredentials - len(e.client(exClientID).Credentials) {
			create("more")
		}
		wantError(t, e.call(http.MethodPost, base+"/credentials", map[string]any{"credential_type": "public_key", "alg": "ES256", "pem": exCredPEM}),
			http.StatusBadRequest, "invalid_body", "at most 10")
	})
}
