package oauthtest

import (
	"maps"
	"strings"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// The validation cases: configurations in Auth0's Management API shapes and
// the verdict of the rules (shared/core/oauth/validate.go). The admin API
// and the seed loader each run every case through their own input path, so
// the two can never accept different configurations.

// ValidationCase is one configuration and its verdict.
type ValidationCase struct {
	Name string
	// Body is the entry as the admin API's create request takes it (no
	// client_id, no client_secret for clients).
	Body map[string]any
	// WantField is the field the refusal names; "" means accepted.
	WantField string
}

// Identifiers of the APIs the client cases refer to (ValidationAPIs).
const (
	CaseAPI        = "https://cases.example.com/api"     // allows skipping consent
	CaseConsentAPI = "https://cases.example.com/consent" // does not
)

// ValidationAPIs are the APIs the client cases' MRRT policies name.
func ValidationAPIs() []oauth.ResourceServer {
	return []oauth.ResourceServer{
		{Identifier: CaseAPI, Name: "Cases", Scopes: []oauth.Scope{{Value: "read:a"}, {Value: "write:a"}},
			TokenLifetime: 3600, SigningAlg: oauth.AlgRS256, SkipConsentForVerifiableFirstPartyClients: true, AllowOfflineAccess: true},
		{Identifier: CaseConsentAPI, Name: "Consent", Scopes: []oauth.Scope{{Value: "read:c"}},
			TokenLifetime: 3600, SigningAlg: oauth.AlgRS256},
	}
}

// ClientValidationCases are client configurations, for an admin API whose
// audience is adminAudience.
func ClientValidationCases(adminAudience string) []ValidationCase {
	spa := func(change func(m map[string]any)) map[string]any {
		m := map[string]any{
			"name": "Case SPA", "app_type": "spa", "is_first_party": true,
			"callbacks":                  []any{"https://app.example.com/callback"},
			"token_endpoint_auth_method": "none",
			"refresh_token": map[string]any{
				"rotation_type": "rotating", "expiration_type": "expiring", "leeway": 0,
				"token_lifetime": 86400, "idle_token_lifetime": 3600,
			},
		}
		if change != nil {
			change(m)
		}
		return m
	}
	web := func(change func(m map[string]any)) map[string]any {
		m := map[string]any{
			"name": "Case web", "app_type": "regular_web", "is_first_party": true,
			"callbacks":                  []any{"https://web.example.com/callback"},
			"token_endpoint_auth_method": "client_secret_post",
		}
		if change != nil {
			change(m)
		}
		return m
	}
	rt := func(m map[string]any) map[string]any { return m["refresh_token"].(map[string]any) }
	policy := func(aud string, scopes ...any) map[string]any {
		return map[string]any{"audience": aud, "scope": scopes}
	}
	many := make([]any, oauth.MaxURLs+1)
	for i := range many {
		many[i] = "https://app.example.com/cb" + strings.Repeat("x", i)
	}
	return []ValidationCase{
		{"a first-party SPA is accepted", spa(nil), ""},
		{"a confidential web app is accepted", web(nil), ""},
		{"a native app may use a loopback http callback", spa(func(m map[string]any) {
			m["app_type"] = "native"
			m["callbacks"] = []any{"http://127.0.0.1:7777/callback"}
		}), ""},
		{"an SPA may use a localhost http callback, logout URL and origin (local development)", spa(func(m map[string]any) {
			m["callbacks"] = []any{"http://localhost:3000/callback"}
			m["allowed_logout_urls"] = []any{"http://localhost:3000/"}
			m["web_origins"] = []any{"http://localhost:3000"}
		}), ""},
		{"an SPA with an MRRT policy is accepted", spa(func(m map[string]any) {
			rt(m)["policies"] = []any{policy(CaseAPI, "read:a")}
		}), ""},
		{"an empty name is refused", spa(func(m map[string]any) { m["name"] = "" }), "name"},
		{"a name with < is refused", spa(func(m map[string]any) { m["name"] = "<b>" }), "name"},
		{"an unknown app_type is refused", spa(func(m map[string]any) { m["app_type"] = "desktop" }), "app_type"},
		{"an unknown auth method is refused", spa(func(m map[string]any) { m["token_endpoint_auth_method"] = "private" }), "token_endpoint_auth_method"},
		{"an unknown grant type is refused", spa(func(m map[string]any) { m["grant_types"] = []any{"password"} }), "grant_types[0]"},
		{"a repeated grant type is refused", spa(func(m map[string]any) {
			m["grant_types"] = []any{"authorization_code", "authorization_code"}
		}), "grant_types[1]"},
		{"a public client cannot use client_credentials", spa(func(m map[string]any) {
			m["grant_types"] = []any{"authorization_code", "client_credentials"}
		}), "grant_types[1]"},
		{"a wildcard callback is refused", spa(func(m map[string]any) { m["callbacks"] = []any{"https://*.example.com/cb"} }), "callbacks[0]"},
		{"a callback with a fragment is refused", spa(func(m map[string]any) { m["callbacks"] = []any{"https://app.example.com/cb#x"} }), "callbacks[0]"},
		{"a callback with user information is refused", spa(func(m map[string]any) { m["callbacks"] = []any{"https://user@app.example.com/cb"} }), "callbacks[0]"},
		{"an over-long callback is refused", spa(func(m map[string]any) {
			m["callbacks"] = []any{"https://app.example.com/" + strings.Repeat("a", oauth.MaxURLLen)}
		}), "callbacks[0]"},
		{"a callback with a control character is refused", spa(func(m map[string]any) { m["callbacks"] = []any{"https://app.example.com/c\tb"} }), "callbacks[0]"},
		{"a relative callback is refused", spa(func(m map[string]any) { m["callbacks"] = []any{"/callback"} }), "callbacks[0]"},
		{"an http callback off loopback is refused", spa(func(m map[string]any) { m["callbacks"] = []any{"http://app.example.com/cb"} }), "callbacks[0]"},
		{"an origin with a path is refused", spa(func(m map[string]any) { m["allowed_origins"] = []any{"https://app.example.com/cb"} }), "allowed_origins[0]"},
		{"a repeated callback is refused", spa(func(m map[string]any) {
			m["callbacks"] = []any{"https://app.example.com/cb", "https://app.example.com/cb"}
		}), "callbacks[1]"},
		{"too many callbacks are refused", spa(func(m map[string]any) { m["callbacks"] = many }), "callbacks"},
		{"a machine-to-machine client has no callbacks", web(func(m map[string]any) { m["app_type"] = "non_interactive" }), "callbacks"},
		{"rotating tokens must expire", web(func(m map[string]any) {
			m["refresh_token"] = map[string]any{"rotation_type": "rotating", "expiration_type": "non-expiring"}
		}), "refresh_token.expiration_type"},
		{"public clients must rotate", spa(func(m map[string]any) { rt(m)["rotation_type"] = "non-rotating" }), "refresh_token.rotation_type"},
		{"an expiring token cannot have an infinite lifetime", web(func(m map[string]any) {
			m["refresh_token"] = map[string]any{"rotation_type": "non-rotating", "expiration_type": "expiring", "infinite_token_lifetime": true}
		}), "refresh_token.infinite_token_lifetime"},
		{"a negative leeway is refused", spa(func(m map[string]any) { rt(m)["leeway"] = -1 }), "refresh_token.leeway"},
		{"a lifetime over five years is refused", spa(func(m map[string]any) { rt(m)["token_lifetime"] = oauth.MaxLifetimeSeconds + 1 }), "refresh_token.token_lifetime"},
		{"an idle lifetime over the absolute one is refused", spa(func(m map[string]any) { rt(m)["idle_token_lifetime"] = 90000 }), "refresh_token.idle_token_lifetime"},
		{"an empty policy list is refused", spa(func(m map[string]any) { rt(m)["policies"] = []any{} }), "refresh_token.policies"},
		{"policies are for first-party clients only", spa(func(m map[string]any) {
			m["is_first_party"] = false
			rt(m)["policies"] = []any{policy(CaseAPI, "read:a")}
		}), "refresh_token.policies"},
		{"a policy naming an unknown API is refused", spa(func(m map[string]any) {
			rt(m)["policies"] = []any{policy("https://nope.example.com", "read:a")}
		}), "refresh_token.policies[0].audience"},
		{"a policy naming an API that requires consent is refused", spa(func(m map[string]any) {
			rt(m)["policies"] = []any{policy(CaseConsentAPI, "read:c")}
		}), "refresh_token.policies[0].audience"},
		{"a policy naming the admin API is refused", spa(func(m map[string]any) {
			rt(m)["policies"] = []any{policy(adminAudience, "read:clients")}
		}), "refresh_token.policies[0].audience"},
		{"a policy scope the API does not define is refused", spa(func(m map[string]any) {
			rt(m)["policies"] = []any{policy(CaseAPI, "delete:a")}
		}), "refresh_token.policies[0].scope[0]"},
		{"a policy with no scope is refused", spa(func(m map[string]any) {
			rt(m)["policies"] = []any{policy(CaseAPI)}
		}), "refresh_token.policies[0].scope"},
		{"a policy audience named twice is refused", spa(func(m map[string]any) {
			rt(m)["policies"] = []any{policy(CaseAPI, "read:a"), policy(CaseAPI, "write:a")}
		}), "refresh_token.policies[1].audience"},
	}
}

// APIValidationCases are resource-server configurations.
func APIValidationCases() []ValidationCase {
	api := func(change func(m map[string]any)) map[string]any {
		m := map[string]any{
			"identifier": "https://new.example.com/api", "name": "New API", "token_lifetime": 3600,
			"signing_alg": "RS256", "scopes": []any{map[string]any{"value": "read:x", "description": "Read x"}},
		}
		if change != nil {
			change(m)
		}
		return m
	}
	return []ValidationCase{
		{"an API is accepted", api(nil), ""},
		{"a relative identifier is refused", api(func(m map[string]any) { m["identifier"] = "new-api" }), "identifier"},
		{"an identifier with a fragment is refused", api(func(m map[string]any) { m["identifier"] = "https://new.example.com/#x" }), "identifier"},
		{"a name with control characters is refused", api(func(m map[string]any) { m["name"] = "a\x01b" }), "name"},
		{"a token lifetime over 30 days is refused", api(func(m map[string]any) { m["token_lifetime"] = oauth.MaxAPITokenLifetime + 1 }), "token_lifetime"},
		{"an unknown signing algorithm is refused", api(func(m map[string]any) { m["signing_alg"] = "HS256" }), "signing_alg"},
		{"a scope with a space is refused", api(func(m map[string]any) { m["scopes"] = []any{map[string]any{"value": "read x"}} }), "scopes[0].value"},
		{"an OpenID Connect scope cannot be defined", api(func(m map[string]any) { m["scopes"] = []any{map[string]any{"value": "openid"}} }), "scopes[0].value"},
		{"a repeated scope is refused", api(func(m map[string]any) {
			m["scopes"] = []any{map[string]any{"value": "read:x"}, map[string]any{"value": "read:x"}}
		}), "scopes[1].value"},
	}
}

// UserValidationCases are user configurations.
func UserValidationCases() []ValidationCase {
	user := func(change func(m map[string]any)) map[string]any {
		m := map[string]any{"email": "case@example.com", "password": "case-password", "name": "Case"}
		if change != nil {
			change(m)
		}
		return m
	}
	return []ValidationCase{
		{"a user is accepted", user(nil), ""},
		{"an invalid email is refused", user(func(m map[string]any) { m["email"] = "not-an-email" }), "email"},
		{"an email with a display name is refused", user(func(m map[string]any) { m["email"] = "Case <case@example.com>" }), "email"},
		{"a short password is refused", user(func(m map[string]any) { m["password"] = "short" }), "password"},
		{"an over-long name is refused", user(func(m map[string]any) { m["name"] = strings.Repeat("n", oauth.MaxUserNameLen+1) }), "name"},
	}
}

// IsPublicBody reports whether a client body describes a public client,
// with the defaults of oauth.Client.ApplyDefaults.
func IsPublicBody(body map[string]any) bool {
	if m, ok := body["token_endpoint_auth_method"].(string); ok {
		return m == oauth.AuthMethodNone
	}
	t, _ := body["app_type"].(string)
	return t == oauth.AppTypeSPA || t == oauth.AppTypeNative
}

// CloneBody copies a case's body one level deep, for callers that add
// members.
func CloneBody(body map[string]any) map[string]any { return maps.Clone(body) }
