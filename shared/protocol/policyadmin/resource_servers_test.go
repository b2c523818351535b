package policyadmin

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

func TestResourceServerValidation(t *testing.T) {
	const post, patch = "POST", "PATCH"
	const apis = "/api/v2/resource-servers"
	billing := apis + "/billing-api-id"
	admin := apis + "/admin-api-id"
	runValidation(t, []validationCase{
		{"an API without identifier is refused", post, apis, `{"name":"x"}`, 0, "identifier: is required"},
		{"an empty identifier is refused", post, apis, `{"identifier":""}`, 0, "identifier: must not be empty"},
		{"a relative identifier is refused", post, apis, `{"identifier":"reports"}`, 0, "identifier: must be an absolute URI (RFC 8707 §2)"},
		{"an identifier with a fragment is refused", post, apis, `{"identifier":"https://r.example.com/#x"}`, 0, "identifier: must not contain a fragment"},
		{"an identifier with a space is refused", post, apis, `{"identifier":"https://r.example.com/a b"}`, 0, "identifier: must not contain spaces"},
		{"an identifier with a wildcard is refused", post, apis, `{"identifier":"https://*.example.com"}`, 0, "identifier: must not contain spaces, control characters or *"},
		{"an identifier over 600 characters is refused", post, apis, `{"identifier":"https://` + strings.Repeat("a", 600) + `"}`, 0, "identifier: must have at most 600"},
		{"a URN identifier is accepted", post, apis, `{"identifier":"urn:example:reports"}`, 201, ""},
		{"proof_of_possession with dpop is accepted (Auth0's field)", post, apis, `{"identifier":"https://pop.example.com","proof_of_possession":{"mechanism":"dpop","required":true}}`, 201, `"proof_of_possession":{"mechanism":"dpop","required":true}`},
		{"proof_of_possession with mtls is refused", post, apis, `{"identifier":"https://mtls.example.com","proof_of_possession":{"mechanism":"mtls","required":true}}`, 0, "proof_of_possession.mechanism: must be dpop"},
		{"a taken identifier is a conflict", post, apis, `{"identifier":"` + apiData + `"}`, 409, `"errorCode":"conflict"`},
		{"an empty name is refused", post, apis, `{"identifier":"https://r.example.com","name":""}`, 0, "name: must not be empty"},
		{"a token_lifetime of 0 is refused", post, apis, `{"identifier":"https://r.example.com","token_lifetime":0}`, 0, "token_lifetime: must be between 1 and 2592000"},
		{"a token_lifetime over 30 days is refused", post, apis, `{"identifier":"https://r.example.com","token_lifetime":2592001}`, 0, "token_lifetime: must be between 1 and 2592000"},
		{"an unsupported signing_alg is refused", post, apis, `{"identifier":"https://r.example.com","signing_alg":"HS256"}`, 0, "signing_alg: must be one of RS256, ES256"},
		{"ES256 is accepted", post, apis, `{"identifier":"https://r.example.com","signing_alg":"ES256"}`, 201, ""},
		{"a scope without value is refused", post, apis, `{"identifier":"https://r.example.com","scopes":[{"description":"x"}]}`, 0, "scopes[0].value: is required"},
		{"a scope with a space is refused", post, apis, `{"identifier":"https://r.example.com","scopes":[{"value":"read data"}]}`, 0, "scopes[0].value: must be printable ASCII without spaces"},
		{"a scope with a quote is refused", post, apis, `{"identifier":"https://r.example.com","scopes":[{"value":"read\"x"}]}`, 0, "scopes[0].value: must be printable ASCII"},
		{"a scope over 280 characters is refused", post, apis, `{"identifier":"https://r.example.com","scopes":[{"value":"` + strings.Repeat("s", 281) + `"}]}`, 0, "scopes[0].value: must have 1 to 280"},
		{"a repeated scope is refused", post, apis, `{"identifier":"https://r.example.com","scopes":[{"value":"a"},{"value":"a"}]}`, 0, `scopes[1].value: duplicate scope "a"`},
		{"an OpenID Connect scope is refused", post, apis, `{"identifier":"https://r.example.com","scopes":[{"value":"offline_access"}]}`, 0, "scopes[0].value: \"offline_access\" is an OpenID Connect scope"},
		{"a scope description over 500 characters is refused", post, apis, `{"identifier":"https://r.example.com","scopes":[{"value":"a","description":"` + strings.Repeat("d", 501) + `"}]}`, 0, "scopes[0].description: must have at most 500"},
		{"the identifier cannot change", patch, billing, `{"identifier":"https://other.example.com"}`, 0, "identifier: cannot be changed"},
		{"the same identifier in a PATCH is accepted", patch, billing, `{"identifier":"` + apiBilling + `","name":"Billing"}`, 200, ""},
		{"the admin API keeps its scopes", patch, admin, `{"scopes":[{"value":"read:clients"}]}`, 0, `scopes: the admin API must define "create:clients"`},
		{"the admin API can be renamed", patch, admin, `{"name":"Admin API"}`, 200, ""},
		{"an unknown API is not found", patch, apis + "/nope", `{"name":"x"}`, 404, "inexistent_resource_server"},
	})
}

func TestResourceServerCreateDefaults(t *testing.T) {
	e := newEnv(t)
	w := e.call(http.MethodPost, "/api/v2/resource-servers", `{"identifier":"https://reports.example.com"}`)
	wantStatus(t, w, http.StatusCreated)
	got := decode[oauth.ResourceServer](t, w)
	if len(got.ID) != 32 {
		t.Errorf("id = %q, want a generated id", got.ID)
	}
	want := oauth.ResourceServer{ID: got.ID, Identifier: "https://reports.example.com", Name: "https://reports.example.com",
		Scopes: []oauth.Scope{}, TokenLifetime: 86400, SigningAlg: oauth.AlgRS256}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("created API (-want +got):\n%s", diff)
	}
	stored, err := e.store.ResourceServer(context.Background(), "https://reports.example.com")
	must(t, err)
	if diff := cmp.Diff(&want, stored); diff != "" {
		t.Errorf("stored API (-want +got):\n%s", diff)
	}
}

func TestResourceServerByIDOrIdentifier(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct{ name, path string }{
		{"by id", "/api/v2/resource-servers/billing-api-id"},
		{"by URL-encoded identifier", "/api/v2/resource-servers/" + url.PathEscape(apiBilling)},
		{"by fully escaped identifier", "/api/v2/resource-servers/" + url.QueryEscape(apiBilling)},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := e.call(http.MethodGet, c.path, nil)
			wantStatus(t, w, 200)
			if got := decode[oauth.ResourceServer](t, w); got.Identifier != apiBilling || got.ID != "billing-api-id" {
				t.Errorf("got %+v", got)
			}
		})
	}
	wantError(t, e.call(http.MethodGet, "/api/v2/resource-servers/nope", nil), 404, "inexistent_resource_server", "")
}

func TestDeleteResourceServer(t *testing.T) {
	t.Run("the admin API cannot be deleted", func(t *testing.T) {
		e := newEnv(t)
		for _, id := range []string{"admin-api-id", url.QueryEscape(testAudience)} {
			wantError(t, e.call(http.MethodDelete, "/api/v2/resource-servers/"+id, nil), 400, "operation_not_supported", "the admin API cannot be deleted")
		}
		wantStatus(t, e.call(http.MethodGet, "/api/v2/resource-servers/admin-api-id", nil), 200)
	})
	t.Run("deleting an API deletes its client grants", func(t *testing.T) {
		e := newEnv(t)
		wantStatus(t, e.call(http.MethodDelete, "/api/v2/resource-servers/billing-api-id", nil), 204)
		wantError(t, e.call(http.MethodGet, "/api/v2/resource-servers/billing-api-id", nil), 404, "inexistent_resource_server", "")
		wantError(t, e.call(http.MethodGet, "/api/v2/client-grants/"+exGrantID, nil), 404, "inexistent_client_grant", "")
		wantStatus(t, e.call(http.MethodGet, "/api/v2/client-grants/cgr_admin", nil), 200)
	})
	t.Run("an unknown API is not found", func(t *testing.T) {
		e := newEnv(t)
		wantError(t, e.call(http.MethodDelete, "/api/v2/resource-servers/nope", nil), 404, "inexistent_resource_server", "")
	})
}
