package policyadmin

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

type validationCase struct {
	name   string
	method string
	path   string
	body   string
	status int    // 0: 400
	msg    string // substring of the message (the field and the rule)
}

// runValidation sends each case to a fresh store; refused requests must
// leave the store as it was.
func runValidation(t *testing.T, cases []validationCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			before := snapshot(t, e)
			w := e.call(c.method, c.path, c.body)
			switch {
			case c.status >= 200 && c.status < 300:
				wantStatus(t, w, c.status)
			case c.status == 0 || c.status == 400:
				wantError(t, w, 400, "invalid_body", c.msg)
			default:
				wantStatus(t, w, c.status)
				if !strings.Contains(w.Body.String(), c.msg) {
					t.Errorf("body %s lacks %q", w.Body, c.msg)
				}
			}
			if w.Code >= 400 {
				if diff := cmp.Diff(before, snapshot(t, e)); diff != "" {
					t.Errorf("a refused request changed the store:\n%s", diff)
				}
			}
		})
	}
}

type storeSnapshot struct {
	Clients []*oauth.Client
	APIs    []*oauth.ResourceServer
	Grants  []*oauth.ClientGrant
	Users   []*oauth.User
	Fams    []*oauth.Family
}

func snapshot(t testing.TB, e *env) storeSnapshot {
	t.Helper()
	ctx := context.Background()
	var s storeSnapshot
	var err error
	s.Clients, err = e.store.Clients(ctx)
	must(t, err)
	s.APIs, err = e.store.ResourceServers(ctx)
	must(t, err)
	s.Grants, err = e.store.ClientGrants(ctx)
	must(t, err)
	s.Users, err = e.store.Users(ctx)
	must(t, err)
	s.Fams, err = e.store.FamiliesByUser(ctx, exUserID)
	must(t, err)
	return s
}

func TestClientValidation(t *testing.T) {
	const post, patch = "POST", "PATCH"
	const clients = "/api/v2/clients"
	spa := clients + "/" + spaID
	web := clients + "/" + exClientID
	third := clients + "/" + thirdID
	rtRotating := `"rotation_type":"rotating","expiration_type":"expiring"`
	policy := func(ps string) string { return `{"refresh_token":{"policies":` + ps + `}}` }
	manyCallbacks := make([]string, oauth.MaxURLs+1)
	for i := range manyCallbacks {
		manyCallbacks[i] = fmt.Sprintf(`"https://app.example.com/cb%d"`, i)
	}
	runValidation(t, []validationCase{
		// name
		{"a client without a name is refused", post, clients, `{"app_type":"spa"}`, 0, "name: is required"},
		{"an empty name is refused", post, clients, `{"name":""}`, 0, "name: must not be empty"},
		{"a name over 200 characters is refused", post, clients, `{"name":"` + strings.Repeat("é", 201) + `"}`, 0, "name: must have at most 200"},
		{"a name of 200 characters is accepted", post, clients, `{"name":"` + strings.Repeat("é", 200) + `"}`, 201, ""},
		{"a name with < or > is refused", post, clients, `{"name":"<script>"}`, 0, "name: must not contain"},
		{"a name with a control character is refused", post, clients, `{"name":"a\u0007b"}`, 0, "name: must not contain"},
		// enums
		{"an unknown app_type is refused", post, clients, `{"name":"x","app_type":"desktop"}`, 0, "app_type: must be one of spa, native, regular_web, non_interactive"},
		{"an unknown token_endpoint_auth_method is refused", post, clients, `{"name":"x","token_endpoint_auth_method":"tls_client_auth"}`, 0, "token_endpoint_auth_method: must be one of none, client_secret_post, client_secret_basic, private_key_jwt"},
		{"private_key_jwt without a credential is refused", post, clients, `{"name":"x","app_type":"non_interactive","token_endpoint_auth_method":"private_key_jwt"}`, 0, "client_authentication_methods.private_key_jwt.credentials: must name one or two credentials"},
		{"a credential that is not a PEM public key is refused", post, clients, `{"name":"x","app_type":"non_interactive","token_endpoint_auth_method":"private_key_jwt","client_authentication_methods":{"private_key_jwt":{"credentials":[{"credential_type":"public_key","pem":"nope","alg":"RS256"}]}}}`, 0, "credentials[0].pem: no PEM block"},
		{"an unsupported grant type is refused", post, clients, `{"name":"x","grant_types":["password"]}`, 0, "grant_types[0]: must be one of authorization_code, refresh_token, client_credentials"},
		{"a repeated grant type is refused", post, clients, `{"name":"x","grant_types":["refresh_token","refresh_token"]}`, 0, "grant_types[1]: duplicate grant type"},
		{"client_credentials for a public client is refused", post, clients, `{"name":"x","app_type":"spa","grant_types":["client_credentials"]}`, 0, "grant_types[0]: client_credentials is not allowed for public clients"},
		{"a client that becomes public keeps no client_credentials", patch, web, `{"token_endpoint_auth_method":"none","refresh_token":{` + rtRotating + `}}`, 0, "grant_types[2]: client_credentials is not allowed for public clients"},
		// callbacks
		{"an https callback is accepted", post, clients, `{"name":"x","callbacks":["https://app.example.com/cb?x=1"]}`, 201, ""},
		{"an http callback on a public host is refused", post, clients, `{"name":"x","callbacks":["http://app.example.com/cb"]}`, 0, "callbacks[0]: must use https (http only for localhost, 127.0.0.1 and [::1])"},
		{"a loopback http callback of a native app is accepted", post, clients, `{"name":"x","app_type":"native","callbacks":["http://127.0.0.1:8400/cb","http://[::1]/cb"]}`, 201, ""},
		{"a local development http callback of an SPA is accepted", post, clients, `{"name":"x","app_type":"spa","callbacks":["http://localhost:3000/callback","http://127.0.0.1:8400/cb"],"allowed_logout_urls":["http://localhost:3000/"],"web_origins":["http://localhost:3000"]}`, 201, ""},
		{"an origin with a path is refused", post, clients, `{"name":"x","allowed_origins":["https://app.example.com/x"]}`, 0, "allowed_origins[0]: must be an origin"},
		{"an http origin on a public host is refused", post, clients, `{"name":"x","web_origins":["http://app.example.com"]}`, 0, "web_origins[0]: must use https"},
		{"a logout URL with a fragment is refused", post, clients, `{"name":"x","allowed_logout_urls":["https://app.example.com/#x"]}`, 0, "allowed_logout_urls[0]: must not contain a fragment"},
		{"require_proof_of_possession is accepted", post, clients, `{"name":"x","require_proof_of_possession":true}`, 201, `"require_proof_of_possession":true`},
		{"Auth0 application fields are accepted", post, clients, `{"name":"x","description":"d","logo_uri":"https://a.example.com/l.png","initiate_login_uri":"https://a.example.com/login","cross_origin_authentication":false,"oidc_conformant":true,"sso_disabled":false,"jwt_configuration":{"alg":"RS256"}}`, 201, ""},
		{"an ID token algorithm this server does not sign with is refused", post, clients, `{"name":"x","jwt_configuration":{"alg":"HS256"}}`, 0, "jwt_configuration.alg"},
		{"an Auth0 field without a meaning here is refused, named", post, clients, `{"name":"x","jwt_configuration":{"alg":"RS256","lifetime_in_seconds":36000}}`, 0, "lifetime_in_seconds"},
		{"a logo over http is refused", post, clients, `{"name":"x","logo_uri":"http://a.example.com/l.png"}`, 0, "logo_uri: must be an absolute https URL"},
		{"localhost over http is accepted for a native app too (matched exactly)", post, clients, `{"name":"x","app_type":"native","callbacks":["http://localhost:8400/cb"]}`, 201, ""},
		{"a callback with a fragment is refused", post, clients, `{"name":"x","callbacks":["https://app.example.com/cb#x"]}`, 0, "callbacks[0]: must not contain a fragment"},
		{"a callback with an empty fragment is refused", post, clients, `{"name":"x","callbacks":["https://app.example.com/cb#"]}`, 0, "callbacks[0]: must not contain a fragment"},
		{"a wildcard host is refused", post, clients, `{"name":"x","callbacks":["https://*.example.com/cb"]}`, 0, "callbacks[0]: must not contain a wildcard"},
		{"a wildcard path is refused", post, clients, `{"name":"x","callbacks":["https://app.example.com/*"]}`, 0, "callbacks[0]: must not contain a wildcard"},
		{"a relative callback is refused", post, clients, `{"name":"x","callbacks":["/callback"]}`, 0, "callbacks[0]: must be an absolute URL"},
		{"a private-use scheme is refused", post, clients, `{"name":"x","app_type":"native","callbacks":["com.example.app:/cb"]}`, 0, "callbacks[0]: must be an absolute URL"},
		{"a callback with credentials is refused", post, clients, `{"name":"x","callbacks":["https://user:pw@app.example.com/cb"]}`, 0, "callbacks[0]: must not contain user information"},
		{"a callback with a space is refused", post, clients, `{"name":"x","callbacks":["https://app.example.com/a b"]}`, 0, "callbacks[0]: must be an absolute URL"},
		{"a repeated callback is refused", post, clients, `{"name":"x","callbacks":["https://a.example.com/cb","https://a.example.com/cb"]}`, 0, "callbacks[1]: duplicate URL"},
		{"more than 100 callbacks are refused", post, clients, `{"name":"x","callbacks":[` + strings.Join(manyCallbacks, ",") + `]}`, 0, "callbacks: must have at most 100"},
		{"a machine-to-machine client with callbacks is refused", post, clients, `{"name":"x","app_type":"non_interactive","callbacks":["https://a.example.com/cb"]}`, 0, "callbacks: must be empty for non_interactive"},
		// refresh_token bounds (Auth0)
		{"refresh_token without rotation_type on create is refused", post, clients, `{"name":"x","refresh_token":{"expiration_type":"expiring"}}`, 0, "refresh_token.rotation_type: is required"},
		{"refresh_token without expiration_type on create is refused", post, clients, `{"name":"x","refresh_token":{"rotation_type":"rotating"}}`, 0, "refresh_token.expiration_type: is required"},
		{"refresh_token null on create takes the defaults", post, clients, `{"name":"x","refresh_token":null}`, 201, ""},
		{"an unknown rotation_type is refused", patch, spa, `{"refresh_token":{"rotation_type":"reusable"}}`, 0, "refresh_token.rotation_type: must be one of rotating, non-rotating"},
		{"an unknown expiration_type is refused", patch, spa, `{"refresh_token":{"expiration_type":"never"}}`, 0, "refresh_token.expiration_type: must be one of expiring, non-expiring"},
		{"rotating tokens that never expire are refused", patch, web, `{"refresh_token":{"rotation_type":"rotating","expiration_type":"non-expiring"}}`, 0, "refresh_token.expiration_type: must be expiring when rotation_type is rotating"},
		{"a public client with non-rotating tokens is refused", post, clients, `{"name":"x","app_type":"spa","refresh_token":{"rotation_type":"non-rotating","expiration_type":"expiring"}}`, 0, "refresh_token.rotation_type: must be rotating for public clients"},
		{"a confidential client with non-rotating tokens is accepted", post, clients, `{"name":"x","refresh_token":{"rotation_type":"non-rotating","expiration_type":"expiring"}}`, 201, ""},
		{"a negative leeway is refused", patch, spa, `{"refresh_token":{"leeway":-1}}`, 0, "refresh_token.leeway: must be at least 0"},
		{"a leeway of 0 is accepted", patch, spa, `{"refresh_token":{"leeway":0}}`, 200, ""},
		{"a token_lifetime of 0 is refused", patch, spa, `{"refresh_token":{"token_lifetime":0}}`, 0, "refresh_token.token_lifetime: must be between 1 and 157788000"},
		{"a token_lifetime over five years is refused", patch, spa, `{"refresh_token":{"token_lifetime":157788001}}`, 0, "refresh_token.token_lifetime: must be between 1 and 157788000"},
		{"a token_lifetime of five years is accepted", patch, spa, `{"refresh_token":{"token_lifetime":157788000}}`, 200, ""},
		{"an idle_token_lifetime of 0 is refused", patch, spa, `{"refresh_token":{"idle_token_lifetime":0}}`, 0, "refresh_token.idle_token_lifetime: must be between 1 and 157788000"},
		{"an idle_token_lifetime over five years is refused", patch, spa, `{"refresh_token":{"idle_token_lifetime":157788001}}`, 0, "refresh_token.idle_token_lifetime: must be between 1 and 157788000"},
		{"an idle lifetime longer than the absolute one is refused", patch, spa, `{"refresh_token":{"token_lifetime":3600,"idle_token_lifetime":3601}}`, 0, "refresh_token.idle_token_lifetime: must not exceed token_lifetime (3600)"},
		{"an idle lifetime equal to the absolute one is accepted", patch, spa, `{"refresh_token":{"token_lifetime":3600,"idle_token_lifetime":3600}}`, 200, ""},
		{"a long idle lifetime with infinite idle expiry is accepted", patch, spa, `{"refresh_token":{"token_lifetime":3600,"idle_token_lifetime":7200,"infinite_idle_token_lifetime":true}}`, 200, ""},
		{"expiring tokens with an infinite lifetime are refused", patch, spa, `{"refresh_token":{"infinite_token_lifetime":true}}`, 0, "refresh_token.infinite_token_lifetime: must be false when expiration_type is expiring"},
		{"non-expiring tokens with a finite lifetime are refused", patch, web, `{"refresh_token":{"expiration_type":"non-expiring","infinite_token_lifetime":false}}`, 0, "refresh_token.infinite_token_lifetime: must be true when expiration_type is non-expiring"},
		{"non-expiring tokens with an idle expiry are refused", patch, web, `{"refresh_token":{"infinite_idle_token_lifetime":false}}`, 0, "refresh_token.infinite_idle_token_lifetime: must be true when expiration_type is non-expiring"},
		// MRRT limits
		{"an empty policy list is refused", patch, spa, policy(`[]`), 0, "refresh_token.policies: must have at least one entry, or be null"},
		{"policies on a third-party client are refused", patch, third, policy(`[{"audience":"` + apiData + `","scope":["read:data"]}]`), 0, "refresh_token.policies: are allowed only on first-party clients"},
		{"a client with policies cannot become third-party", patch, spa, `{"is_first_party":false,"refresh_token":{"policies":[{"audience":"` + apiData + `","scope":["read:data"]}]}}`, 0, "refresh_token.policies: are allowed only on first-party clients"},
		{"a policy for an unknown API is refused", patch, spa, policy(`[{"audience":"https://nowhere.example.com","scope":["read:x"]}]`), 0, `refresh_token.policies[0].audience: no API has the identifier "https://nowhere.example.com"`},
		{"a policy for an API without consent skipping is refused", patch, spa, policy(`[{"audience":"` + apiPartner + `","scope":["read:partner"]}]`), 0, "refresh_token.policies[0].audience: the API \"https://partner.example.com\" does not allow skipping consent"},
		{"a policy scope the API does not define is refused", patch, spa, policy(`[{"audience":"` + apiData + `","scope":["read:data","delete:data"]}]`), 0, `refresh_token.policies[0].scope[1]: scope "delete:data" is not defined on the API`},
		{"an OpenID Connect scope in a policy is refused", patch, spa, policy(`[{"audience":"` + apiData + `","scope":["openid"]}]`), 0, `refresh_token.policies[0].scope[0]: scope "openid" is not defined`},
		{"the admin API in a policy is refused", patch, spa, policy(`[{"audience":"` + testAudience + `","scope":["read:clients"]}]`), 0, "refresh_token.policies[0].audience: the admin API"},
		{"a repeated audience is refused", patch, spa, policy(`[{"audience":"` + apiData + `","scope":["read:data"]},{"audience":"` + apiData + `","scope":["write:data"]}]`), 0, "refresh_token.policies[1].audience: duplicate audience"},
		{"a policy without scopes is refused", patch, spa, policy(`[{"audience":"` + apiData + `","scope":[]}]`), 0, "refresh_token.policies[0].scope: must list at least one scope"},
		{"a repeated scope is refused", patch, spa, policy(`[{"audience":"` + apiData + `","scope":["read:data","read:data"]}]`), 0, `refresh_token.policies[0].scope[1]: duplicate scope "read:data"`},
		{"a policy without audience is refused", patch, spa, policy(`[{"scope":["read:data"]}]`), 0, "refresh_token.policies[0].audience: is required"},
		{"a policy without scope is refused", patch, spa, policy(`[{"audience":"` + apiData + `"}]`), 0, "refresh_token.policies[0].scope: is required"},
		{"a null audience is refused", patch, spa, policy(`[{"audience":null,"scope":["read:data"]}]`), 0, "refresh_token.policies[0].audience: must not be null"},
		{"an empty audience is refused", patch, spa, policy(`[{"audience":"","scope":["read:data"]}]`), 0, "refresh_token.policies[0].audience: must have 1 to 600 characters"},
		{"an audience over 600 characters is refused", patch, spa, policy(`[{"audience":"https://` + strings.Repeat("a", 600) + `","scope":["read:data"]}]`), 0, "refresh_token.policies[0].audience: must have 1 to 600 characters"},
		{"a scope over 280 characters is refused", patch, spa, policy(`[{"audience":"` + apiData + `","scope":["` + strings.Repeat("a", 281) + `"]}]`), 0, "refresh_token.policies[0].scope[0]: must have 1 to 280 characters"},
		{"a policy over two APIs is accepted", patch, spa, policy(`[{"audience":"` + apiData + `","scope":["read:data"]},{"audience":"` + apiBilling + `","scope":["read:billing","write:billing"]}]`), 200, ""},
		{"a null policy list is accepted", patch, spa, policy(`null`), 200, ""},
		// not found
		{"an unknown client is not found", patch, clients + "/nope", `{"name":"x"}`, 404, "inexistent_client"},
	})
}

func TestClientCreateDefaultsAndSecret(t *testing.T) {
	for _, c := range []struct {
		name   string
		body   string
		want   oauth.Client
		secret bool
	}{
		{"a single-page app is public, code flow, rotating", `{"name":"SPA","app_type":"spa"}`, oauth.Client{
			Name: "SPA", AppType: oauth.AppTypeSPA, IsFirstParty: true, Callbacks: []string{},
			GrantTypes: []string{oauth.GrantTypeAuthorizationCode, oauth.GrantTypeRefreshToken}, TokenEndpointAuthMethod: oauth.AuthMethodNone,
			RefreshToken: oauth.RefreshTokenConfig{RotationType: oauth.RotationRotating, ExpirationType: oauth.ExpirationExpiring,
				TokenLifetime: oauth.DefaultTokenLifetime, IdleTokenLifetime: oauth.DefaultIdleTokenLifetime},
		}, false},
		{"a web app is confidential with non-rotating tokens and gets a secret", `{"name":"Web"}`, oauth.Client{
			Name: "Web", AppType: oauth.AppTypeRegularWeb, IsFirstParty: true, Callbacks: []string{},
			GrantTypes: []string{oauth.GrantTypeAuthorizationCode, oauth.GrantTypeRefreshToken}, TokenEndpointAuthMethod: oauth.AuthMethodClientSecretPost,
			RefreshToken: oauth.DefaultRefreshConfig(false),
		}, true},
		{"a machine-to-machine client has client_credentials and a secret", `{"name":"M2M","app_type":"non_interactive","is_first_party":false}`, oauth.Client{
			Name: "M2M", AppType: oauth.AppTypeNonInteractive, IsFirstParty: false, Callbacks: []string{},
			GrantTypes: []string{oauth.GrantTypeClientCredentials}, TokenEndpointAuthMethod: oauth.AuthMethodClientSecretPost,
			RefreshToken: oauth.DefaultRefreshConfig(false),
		}, true},
		{"a short absolute lifetime caps the default idle one", `{"name":"Short","refresh_token":{"rotation_type":"rotating","expiration_type":"expiring","token_lifetime":600}}`, oauth.Client{
			Name: "Short", AppType: oauth.AppTypeRegularWeb, IsFirstParty: true, Callbacks: []string{},
			GrantTypes: []string{oauth.GrantTypeAuthorizationCode, oauth.GrantTypeRefreshToken}, TokenEndpointAuthMethod: oauth.AuthMethodClientSecretPost,
			RefreshToken: oauth.RefreshTokenConfig{RotationType: oauth.RotationRotating, ExpirationType: oauth.ExpirationExpiring,
				TokenLifetime: 600, IdleTokenLifetime: 600, InfiniteIdleTokenLifetime: false},
		}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			w := e.call(http.MethodPost, "/api/v2/clients", c.body)
			wantStatus(t, w, http.StatusCreated)
			got := decode[map[string]any](t, w)
			secret, _ := got["client_secret"].(string)
			if (secret != "") != c.secret {
				t.Fatalf("client_secret = %q, want one: %v", secret, c.secret)
			}
			stored := e.client(got["client_id"].(string))
			if c.secret && !oauth.VerifySecret(stored.SecretHash, secret) {
				t.Error("the stored hash does not verify the returned secret")
			}
			if !c.secret && stored.SecretHash != "" {
				t.Error("a public client has a secret hash")
			}
			if stored.SecretHash == secret && secret != "" {
				t.Error("the secret is stored in clear")
			}
			c.want.ClientID, c.want.SecretHash = stored.ClientID, stored.SecretHash
			if diff := cmp.Diff(&c.want, stored); diff != "" {
				t.Errorf("stored client (-want +got):\n%s", diff)
			}
			// The secret is never shown again.
			for _, path := range []string{"/api/v2/clients/" + stored.ClientID, "/api/v2/clients"} {
				r := e.call(http.MethodGet, path, nil)
				wantStatus(t, r, 200)
				body := r.Body.String()
				if strings.Contains(body, `"client_secret"`) || secret != "" && strings.Contains(body, secret) ||
					stored.SecretHash != "" && strings.Contains(body, stored.SecretHash) {
					t.Errorf("GET %s shows the secret or its hash: %s", path, body)
				}
			}
			if secret != "" && strings.Contains(e.logs.String(), secret) {
				t.Error("the secret is logged")
			}
		})
	}
}

func TestRotateSecret(t *testing.T) {
	t.Run("a new secret replaces the old one at once", func(t *testing.T) {
		e := newEnv(t)
		w := e.call(http.MethodPost, "/api/v2/clients/"+exClientID+"/rotate-secret", nil)
		wantStatus(t, w, 200)
		secret := decode[map[string]any](t, w)["client_secret"].(string)
		stored := e.client(exClientID)
		if !oauth.VerifySecret(stored.SecretHash, secret) {
			t.Error("the new secret does not verify")
		}
		if oauth.VerifySecret(stored.SecretHash, exClientSecret) {
			t.Error("the old secret still verifies")
		}
		w2 := e.call(http.MethodPost, "/api/v2/clients/"+exClientID+"/rotate-secret", nil)
		if secret2 := decode[map[string]any](t, w2)["client_secret"]; secret2 == secret {
			t.Error("two rotations gave the same secret")
		}
	})
	t.Run("a public client has no secret to rotate", func(t *testing.T) {
		e := newEnv(t)
		wantError(t, e.call(http.MethodPost, "/api/v2/clients/"+spaID+"/rotate-secret", nil), 400, "invalid_body", "public clients")
	})
	t.Run("an unknown client is not found", func(t *testing.T) {
		e := newEnv(t)
		wantError(t, e.call(http.MethodPost, "/api/v2/clients/nope/rotate-secret", nil), 404, "inexistent_client", "")
	})
}

func TestClientPatchChangesOnlyWhatIsPresent(t *testing.T) {
	withPolicy := func(c *oauth.Client) {
		c.RefreshToken.Policies = []oauth.Policy{{Audience: apiBilling, Scope: []string{"read:billing"}}}
	}
	for _, c := range []struct {
		name   string
		id     string
		setup  func(*oauth.Client)
		body   string
		change func(*oauth.Client) // applied to the stored client to get the expected one
		secret bool
	}{
		{"a new name leaves the rest alone", spaID, nil, `{"name":"Renamed"}`, func(c *oauth.Client) { c.Name = "Renamed" }, false},
		{"setting policies keeps the other refresh-token settings", spaID, nil,
			`{"refresh_token":{"policies":[{"audience":"` + apiBilling + `","scope":["read:billing"]}]}}`, withPolicy, false},
		{"policies null removes the MRRT policy", spaID, withPolicy, `{"refresh_token":{"policies":null}}`,
			func(c *oauth.Client) { c.RefreshToken.Policies = nil }, false},
		{"a leeway change keeps the policies", spaID, withPolicy, `{"refresh_token":{"leeway":30}}`,
			func(c *oauth.Client) { c.RefreshToken.Leeway = 30 }, false},
		{"refresh_token null restores the defaults", spaID, func(c *oauth.Client) { withPolicy(c); c.RefreshToken.Leeway = 9 }, `{"refresh_token":null}`,
			func(c *oauth.Client) { c.RefreshToken = oauth.DefaultRefreshConfig(true) }, false},
		{"expiring tokens get a finite lifetime", exClientID, nil, `{"refresh_token":{"expiration_type":"expiring"}}`,
			func(c *oauth.Client) {
				c.RefreshToken.ExpirationType = oauth.ExpirationExpiring
				c.RefreshToken.InfiniteTokenLifetime = false
			}, false},
		{"a public client cannot switch to non-rotating tokens", spaID, nil, `{"refresh_token":{"rotation_type":"non-rotating","expiration_type":"non-expiring"}}`,
			nil, false}, // nil change: refused
		{"a public client that becomes confidential gets a secret", spaID, nil, `{"token_endpoint_auth_method":"client_secret_basic"}`,
			func(c *oauth.Client) { c.TokenEndpointAuthMethod = oauth.AuthMethodClientSecretBasic }, true},
		{"a confidential client that becomes public loses its secret", exClientID, nil,
			`{"token_endpoint_auth_method":"none","grant_types":["authorization_code","refresh_token"],"refresh_token":{"rotation_type":"rotating","expiration_type":"expiring"}}`,
			func(c *oauth.Client) {
				c.TokenEndpointAuthMethod = oauth.AuthMethodNone
				c.GrantTypes = []string{oauth.GrantTypeAuthorizationCode, oauth.GrantTypeRefreshToken}
				c.RefreshToken = oauth.RefreshTokenConfig{RotationType: oauth.RotationRotating, ExpirationType: oauth.ExpirationExpiring,
					TokenLifetime: oauth.DefaultTokenLifetime, IdleTokenLifetime: oauth.DefaultIdleTokenLifetime, InfiniteIdleTokenLifetime: true}
				c.SecretHash = ""
			}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			if c.setup != nil {
				cl := e.client(c.id)
				c.setup(cl)
				must(t, e.store.UpdateClient(ctx, cl))
			}
			before := e.client(c.id)
			w := e.call(http.MethodPatch, "/api/v2/clients/"+c.id, c.body)
			if c.change == nil {
				wantError(t, w, 400, "invalid_body", "refresh_token.rotation_type: must be rotating for public clients")
				return
			}
			wantStatus(t, w, 200)
			got := decode[map[string]any](t, w)
			after := e.client(c.id)
			secret, _ := got["client_secret"].(string)
			if (secret != "") != c.secret {
				t.Fatalf("client_secret %q, want one: %v", secret, c.secret)
			}
			if c.secret {
				if !oauth.VerifySecret(after.SecretHash, secret) {
					t.Error("the stored hash does not verify the new secret")
				}
				before.SecretHash = after.SecretHash
			}
			c.change(before)
			if diff := cmp.Diff(before, after); diff != "" {
				t.Errorf("stored client (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStalePolicyDoesNotBlockOtherChanges(t *testing.T) {
	e := newEnv(t)
	body := `{"refresh_token":{"policies":[{"audience":"` + apiBilling + `","scope":["read:billing","write:billing"]}]}}`
	wantStatus(t, e.call(http.MethodPatch, "/api/v2/clients/"+spaID, body), 200)
	// The API drops a scope: the policy is stale (the token endpoint ignores
	// the unknown scope), but the client can still be renamed...
	wantStatus(t, e.call(http.MethodPatch, "/api/v2/resource-servers/billing-api-id", `{"scopes":[{"value":"read:billing"}]}`), 200)
	wantStatus(t, e.call(http.MethodPatch, "/api/v2/clients/"+spaID, `{"name":"Renamed"}`), 200)
	// ...while writing the stale policy again is refused.
	wantError(t, e.call(http.MethodPatch, "/api/v2/clients/"+spaID, body), 400, "invalid_body", `scope "write:billing" is not defined`)
	// Deleting the API leaves the policy in place (ignored at exchange).
	wantStatus(t, e.call(http.MethodDelete, "/api/v2/resource-servers/"+strings.ReplaceAll(apiBilling, "/", "%2F"), nil), 204)
	if ps := e.client(spaID).RefreshToken.Policies; len(ps) != 1 {
		t.Errorf("policies = %v", ps)
	}
	wantStatus(t, e.call(http.MethodPatch, "/api/v2/clients/"+spaID, `{"name":"Again"}`), 200)
}

func TestDeleteClient(t *testing.T) {
	t.Run("deleting a client deletes its grants", func(t *testing.T) {
		e := newEnv(t)
		wantStatus(t, e.call(http.MethodDelete, "/api/v2/clients/"+exClientID, nil), 204)
		wantError(t, e.call(http.MethodGet, "/api/v2/clients/"+exClientID, nil), 404, "inexistent_client", "")
		wantError(t, e.call(http.MethodGet, "/api/v2/client-grants/"+exGrantID, nil), 404, "inexistent_client_grant", "")
		wantStatus(t, e.call(http.MethodGet, "/api/v2/client-grants/cgr_admin", nil), 200)
	})
	t.Run("an unknown client is not found", func(t *testing.T) {
		e := newEnv(t)
		wantError(t, e.call(http.MethodDelete, "/api/v2/clients/nope", nil), 404, "inexistent_client", "")
	})
}
