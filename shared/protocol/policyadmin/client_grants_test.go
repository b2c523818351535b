package policyadmin

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

func TestClientGrantValidation(t *testing.T) {
	const post, patch = "POST", "PATCH"
	const grants = "/api/v2/client-grants"
	g := grants + "/" + exGrantID
	body := func(client, aud, scope string) string {
		return `{"client_id":"` + client + `","audience":"` + aud + `","scope":` + scope + `}`
	}
	runValidation(t, []validationCase{
		{"a grant without client_id is refused", post, grants, `{"audience":"` + apiData + `","scope":[]}`, 0, "client_id: is required"},
		{"a grant without audience is refused", post, grants, `{"client_id":"` + exClientID + `","scope":[]}`, 0, "audience: is required"},
		{"a grant without scope is refused", post, grants, `{"client_id":"` + exClientID + `","audience":"` + apiData + `"}`, 0, "scope: is required"},
		{"a null scope is refused", post, grants, body(exClientID, apiData, "null"), 0, "scope: must not be null"},
		{"a grant for an unknown client is refused", post, grants, body("nope", apiData, `["read:data"]`), 0, `client_id: no client has the client_id "nope"`},
		{"a grant for a public client is refused", post, grants, body(spaID, apiData, `["read:data"]`), 0, "client_id: public clients cannot use client_credentials"},
		{"a grant for a confidential client with client_credentials is accepted", post, grants, `{"client_id":"` + exClientID + `","audience":"` + apiData + `","scope":["read:data"]}`, 201, ""},
		{"a grant for an unknown API is refused", post, grants, body(exClientID, "https://nowhere.example.com", `[]`), 0, `audience: no API has the identifier "https://nowhere.example.com"`},
		{"a scope the API does not define is refused", post, grants, body(exClientID, apiData, `["read:data","drop:data"]`), 0, `scope[1]: scope "drop:data" is not defined on the API`},
		{"a repeated scope is refused", post, grants, body(exClientID, apiData, `["read:data","read:data"]`), 0, `scope[1]: duplicate scope "read:data"`},
		{"a second grant for the same client and API is a conflict", post, grants, body(exClientID, apiBilling, `["write:billing"]`), 409, `"errorCode":"conflict"`},
		{"an empty scope list is accepted", post, grants, body(exClientID, apiData, `[]`), 201, ""},
		{"a grant for the admin API is accepted", post, grants, body(exClientID, testAudience, `["read:users"]`), 201, ""},
		{"the client of a grant cannot change", patch, g, `{"client_id":"` + adminClientID + `"}`, 0, "client_id: cannot be changed"},
		{"the audience of a grant cannot change", patch, g, `{"audience":"` + apiData + `"}`, 0, "audience: cannot be changed"},
		{"a scope the API does not define cannot be added", patch, g, `{"scope":["read:billing","read:data"]}`, 0, `scope[1]: scope "read:data" is not defined on the API "https://billing.example.com"`},
		{"the scopes can be replaced", patch, g, `{"scope":["write:billing"]}`, 200, ""},
		{"an unknown grant is not found", patch, grants + "/cgr_nope", `{"scope":[]}`, 404, "inexistent_client_grant"},
	})
}

func TestClientGrantWithoutGrantType(t *testing.T) {
	e := newEnv(t)
	wantStatus(t, e.call(http.MethodPatch, "/api/v2/clients/"+exClientID, `{"grant_types":["authorization_code"]}`), 200)
	wantError(t, e.call(http.MethodPost, "/api/v2/client-grants", `{"client_id":"`+exClientID+`","audience":"`+apiData+`","scope":[]}`),
		400, "invalid_body", "client_id: the client does not have the client_credentials grant type")
}

func TestClientGrantFilters(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		name  string
		query url.Values
		want  []string
	}{
		{"all grants", nil, []string{"cgr_4pI9a42haOLLWnwq", "cgr_admin"}},
		{"by client", url.Values{"client_id": {adminClientID}}, []string{"cgr_admin"}},
		{"by audience", url.Values{"audience": {apiBilling}}, []string{exGrantID}},
		{"by client and audience", url.Values{"client_id": {adminClientID}, "audience": {apiBilling}}, []string{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := e.call(http.MethodGet, "/api/v2/client-grants?"+c.query.Encode(), nil)
			wantStatus(t, w, 200)
			got := []string{}
			for _, g := range decode[[]oauth.ClientGrant](t, w) {
				got = append(got, g.ID)
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
		})
	}
}
