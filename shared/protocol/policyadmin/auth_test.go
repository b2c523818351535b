package policyadmin

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// TestEveryRouteRequiresItsScope runs, for every route, a request without a
// token, with a bad signature, the wrong audience, an expired token, and
// every scope but the route's (each refused, nothing changed), then the same
// request with only the route's scope (the documented 2xx).
func TestEveryRouteRequiresItsScope(t *testing.T) {
	d := loadOpenAPI(t)
	for _, o := range d.operations() {
		scope := routeScope(o.route())
		if scope == "" {
			continue
		}
		t.Run(o.route(), func(t *testing.T) {
			e := newEnv(t)
			ex := o.examples(t)[0]
			status, _ := o.success(t)
			others := slices.DeleteFunc(slices.Clone(Scopes), func(s string) bool { return s == scope })

			tampered := e.token(scope)
			tampered = tampered[:len(tampered)-4] + flip(tampered[len(tampered)-4:])
			wrongAud := e.adminClaims(scope)
			wrongAud["aud"] = apiData
			expired := e.adminClaims(scope)
			expired["iat"] = testStart.Add(-2 * time.Hour).Unix()
			expired["exp"] = testStart.Add(-time.Hour).Unix()
			_, other := signers(t)

			for _, c := range []struct {
				name, token string
				status      int
				code        string
			}{
				{"no token is refused", "", http.StatusUnauthorized, "missing_authentication"},
				{"a token signed by unknown keys is refused", e.sign(other, oauth.TypAccessToken, e.adminClaims(scope)), http.StatusUnauthorized, "invalid_token"},
				{"a token with a tampered signature is refused", tampered, http.StatusUnauthorized, "invalid_token"},
				{"a token for another audience is refused", e.sign(e.signer, oauth.TypAccessToken, wrongAud), http.StatusUnauthorized, "invalid_token"},
				{"an expired token is refused", e.sign(e.signer, oauth.TypAccessToken, expired), http.StatusUnauthorized, "invalid_token"},
				{"a token with every other scope is forbidden", e.token(others...), http.StatusForbidden, "insufficient_scope"},
			} {
				w := e.callWith(c.token, o.method, o.url(t), ex.body)
				eb := wantError(t, w, c.status, c.code, "")
				challenge := w.Header().Get("WWW-Authenticate")
				switch c.status {
				case http.StatusUnauthorized:
					if c.token == "" && challenge != "Bearer" {
						t.Errorf("%s: WWW-Authenticate = %q, want Bearer", c.name, challenge)
					}
					if c.token != "" && !strings.HasPrefix(challenge, `Bearer error="invalid_token"`) {
						t.Errorf("%s: WWW-Authenticate = %q", c.name, challenge)
					}
				case http.StatusForbidden:
					if want := fmt.Sprintf(`Bearer error="insufficient_scope", scope="%s"`, scope); challenge != want {
						t.Errorf("%s: WWW-Authenticate = %q, want %q", c.name, challenge, want)
					}
					if !strings.Contains(eb.Message, scope) {
						t.Errorf("%s: message %q does not name %s", c.name, eb.Message, scope)
					}
				}
			}
			// The refused requests changed nothing: a DELETE now still
			// finds its object, a POST its free name.
			w := e.callWith(e.token(scope), o.method, o.url(t), ex.body)
			wantStatus(t, w, status)
		})
	}
}

func flip(s string) string {
	b := []byte(s)
	for i := range b {
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
	}
	return string(b)
}

func TestAccessTokenChecks(t *testing.T) {
	const path = "/api/v2/clients"
	e := newEnv(t)
	_, other := signers(t)
	now := testStart
	with := func(change func(map[string]any)) map[string]any {
		c := e.adminClaims(scopeReadClients)
		change(c)
		return c
	}
	unsigned := func(claims string) string {
		enc := base64.RawURLEncoding.EncodeToString
		return enc([]byte(`{"alg":"none","typ":"at+jwt"}`)) + "." + enc([]byte(claims)) + "."
	}
	for _, c := range []struct {
		name   string
		header []string // Authorization header values
		status int
	}{
		{"a valid client-credentials token is accepted", []string{"Bearer " + e.token(scopeReadClients)}, 200},
		{"the scheme is case-insensitive", []string{"bearer " + e.token(scopeReadClients)}, 200},
		{"typ application/at+jwt is accepted (RFC 9068 §4)", []string{"Bearer " + e.sign(e.signer, "application/at+jwt", e.adminClaims(scopeReadClients))}, 200},
		{"an ID token (typ JWT) is refused", []string{"Bearer " + e.sign(e.signer, oauth.TypIDToken, e.adminClaims(scopeReadClients))}, 401},
		{"an ES256 token of the server is accepted", []string{"Bearer " + mustSign(t, e, oauth.AlgES256, e.adminClaims(scopeReadClients))}, 200},
		{"alg none is refused", []string{"Bearer " + unsigned(`{"iss":"`+testIssuer+`"}`)}, 401},
		{"another issuer is refused", []string{"Bearer " + e.sign(e.signer, oauth.TypAccessToken, with(func(c map[string]any) { c["iss"] = "https://evil.example.com" }))}, 401},
		{"an aud array naming the admin API is accepted (RFC 7519 §4.1.3)", []string{"Bearer " + e.sign(e.signer, oauth.TypAccessToken, with(func(c map[string]any) { c["aud"] = []string{apiData, testAudience} }))}, 200},
		{"an aud array without the admin API is refused", []string{"Bearer " + e.sign(e.signer, oauth.TypAccessToken, with(func(c map[string]any) { c["aud"] = []string{apiData} }))}, 401},
		{"a token without exp is refused", []string{"Bearer " + e.sign(e.signer, oauth.TypAccessToken, with(func(c map[string]any) { delete(c, "exp") }))}, 401},
		{"a token expired within the clock skew is accepted", []string{"Bearer " + e.sign(e.signer, oauth.TypAccessToken, with(func(c map[string]any) { c["exp"] = now.Add(-10 * time.Second).Unix() }))}, 200},
		{"a token expired beyond the clock skew is refused", []string{"Bearer " + e.sign(e.signer, oauth.TypAccessToken, with(func(c map[string]any) { c["exp"] = now.Add(-clockSkew).Unix() }))}, 401},
		{"a token issued in the future is refused", []string{"Bearer " + e.sign(e.signer, oauth.TypAccessToken, with(func(c map[string]any) { c["iat"] = now.Add(time.Minute).Unix() }))}, 401},
		{"a token without iat is refused", []string{"Bearer " + e.sign(e.signer, oauth.TypAccessToken, with(func(c map[string]any) { delete(c, "iat") }))}, 401},
		{"a token not valid yet (nbf) is refused", []string{"Bearer " + e.sign(e.signer, oauth.TypAccessToken, with(func(c map[string]any) { c["nbf"] = now.Add(time.Minute).Unix() }))}, 401},
		{"a user's token is refused", []string{"Bearer " + e.sign(e.signer, oauth.TypAccessToken, with(func(c map[string]any) { c["sub"] = exUserID }))}, 401},
		{"a token whose sub is the bare client_id is accepted", []string{"Bearer " + e.sign(e.signer, oauth.TypAccessToken, with(func(c map[string]any) { c["sub"] = adminClientID }))}, 200},
		{"a token without client_id is refused", []string{"Bearer " + e.sign(e.signer, oauth.TypAccessToken, with(func(c map[string]any) { delete(c, "client_id") }))}, 401},
		{"a scope that only starts with the needed one is forbidden", []string{"Bearer " + e.token("read:clientsX", "xread:clients")}, 403},
		{"a token signed by unknown keys is refused", []string{"Bearer " + e.sign(other, oauth.TypAccessToken, e.adminClaims(scopeReadClients))}, 401},
		{"two Authorization headers are refused", []string{"Bearer " + e.token(scopeReadClients), "Bearer " + e.token(scopeReadClients)}, 401},
		{"Basic credentials are refused", []string{"Basic YWRtaW46c2VjcmV0"}, 401},
		{"a malformed token is refused", []string{"Bearer not.a.jwt"}, 401},
		{"an empty bearer token is refused", []string{"Bearer "}, 401},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := request(http.MethodGet, path, nil)
			for _, h := range c.header {
				r.Header.Add("Authorization", h)
			}
			w := e.serve(r)
			wantStatus(t, w, c.status)
			if c.status == 401 && !strings.HasPrefix(w.Header().Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("WWW-Authenticate = %q", w.Header().Get("WWW-Authenticate"))
			}
		})
	}
}

func mustSign(t *testing.T, e *env, alg string, claims map[string]any) string {
	t.Helper()
	tok, err := e.signer.Sign(context.Background(), alg, oauth.TypAccessToken, claims)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestKeyFailures(t *testing.T) {
	for _, c := range []struct {
		name   string
		err    error
		status int
		code   string
	}{
		{"an unavailable key source is 503 with Retry-After", fmt.Errorf("kms: %w", oauth.ErrUnavailable), http.StatusServiceUnavailable, "temporarily_unavailable"},
		{"a broken key source is a generic 500", errors.New("secret detail"), http.StatusInternalServerError, "internal_error"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			tok := e.token(scopeReadClients)
			e.keys = func(context.Context) ([]oauth.PublicKey, error) { return nil, c.err }
			w := e.callWith(tok, http.MethodGet, "/api/v2/clients", nil)
			eb := wantError(t, w, c.status, c.code, "")
			if strings.Contains(eb.Message, "secret detail") {
				t.Errorf("message leaks the cause: %q", eb.Message)
			}
			if c.status == 503 && w.Header().Get("Retry-After") == "" {
				t.Error("no Retry-After")
			}
			if !strings.Contains(e.logs.String(), c.err.Error()) {
				t.Error("the cause is not logged")
			}
		})
	}
}

func TestChangesAreLoggedWithTheCaller(t *testing.T) {
	e := newEnv(t)
	tok := e.token(Scopes...)
	wantStatus(t, e.callWith(tok, http.MethodDelete, "/api/v2/clients/"+spaID, nil), http.StatusNoContent)
	logs := e.logs.String()
	for _, want := range []string{"route=\"DELETE /api/v2/clients/{id}\"", "id=" + spaID, "client_id=" + adminClientID, "status=204"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %s:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, tok) {
		t.Error("the token is logged")
	}
}

// An admin token dies with its client's standing: deleting the client or
// its grant for the admin API ends it at once, and a scope taken out of the
// grant is refused (RFC 6750 §3.1). On Lambda, a change made through
// another warm instance is seen within CONFIG_CACHE_TTL.
func TestAdminTokenOutlivesNeitherItsClientNorItsGrant(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(e *env, t *testing.T)
		status int
		code   string
	}{
		{"the client is deleted", func(e *env, t *testing.T) {
			must(t, e.store.DeleteClient(context.Background(), adminClientID))
		}, http.StatusUnauthorized, "invalid_token"},
		{"the client's grant for the admin API is deleted", func(e *env, t *testing.T) {
			must(t, e.store.DeleteClientGrant(context.Background(), "cgr_admin"))
		}, http.StatusUnauthorized, "invalid_token"},
		{"the scope used is taken out of the grant", func(e *env, t *testing.T) {
			g, err := e.store.ClientGrant(context.Background(), "cgr_admin")
			must(t, err)
			g.Scope = slices.DeleteFunc(g.Scope, func(s string) bool { return s == scopeReadClients })
			must(t, e.store.UpdateClientGrant(context.Background(), g))
		}, http.StatusForbidden, "insufficient_scope"},
	} {
		t.Run("an unexpired admin token is refused once "+c.name, func(t *testing.T) {
			e := newEnv(t)
			tok := e.token(Scopes...)
			wantStatus(t, e.callWith(tok, http.MethodGet, "/api/v2/clients", nil), http.StatusOK)
			c.change(e, t)
			wantError(t, e.callWith(tok, http.MethodGet, "/api/v2/clients", nil), c.status, c.code, "")
		})
	}
}
