package token

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

func TestClientCredentials(t *testing.T) {
	tests := []struct {
		name      string
		client    string
		setup     func(f *fixture)
		form      url.Values
		wantErr   oauth.ErrorCode
		wantScope string
	}{
		{
			name:      "client with a grant gets the granted scopes the API defines",
			form:      url.Values{"audience": {apiData}},
			wantScope: "read:data write:data",
		},
		{
			name:      "resource names the audience too",
			form:      url.Values{"resource": {apiData}, "scope": {"read:data"}},
			wantScope: "read:data",
		},
		{
			name:      "requested subset of the grant is granted",
			form:      url.Values{"audience": {apiData}, "scope": {"write:data"}},
			wantScope: "write:data",
		},
		{
			name:    "scope beyond the grant is invalid_scope",
			form:    url.Values{"audience": {apiData}, "scope": {"read:data admin:data"}},
			wantErr: oauth.InvalidScope,
		},
		{
			name:    "granted scope the API no longer defines is invalid_scope",
			form:    url.Values{"audience": {apiData}, "scope": {"retired:scope"}},
			wantErr: oauth.InvalidScope,
		},
		{
			name:    "audience without a grant is invalid_target",
			form:    url.Values{"audience": {apiBilling}},
			wantErr: oauth.InvalidTarget,
		},
		{
			name:    "unknown audience is invalid_target",
			form:    url.Values{"audience": {"https://nope.example.com"}},
			wantErr: oauth.InvalidTarget,
		},
		{
			name:    "missing audience is invalid_request",
			form:    url.Values{},
			wantErr: oauth.InvalidRequest,
		},
		{
			name:    "audience and resource that differ are invalid_request",
			form:    url.Values{"audience": {apiData}, "resource": {apiBilling}},
			wantErr: oauth.InvalidRequest,
		},
		{
			name:    "client without the grant type is unauthorized_client",
			client:  postID,
			form:    url.Values{"audience": {apiData}},
			wantErr: oauth.UnauthorizedClient,
		},
		{
			name:   "public client is refused",
			client: spaID,
			setup: func(f *fixture) {
				f.updateClient(spaID, func(c *oauth.Client) { c.GrantTypes = append(c.GrantTypes, oauth.GrantTypeClientCredentials) })
				if err := f.store.CreateClientGrant(context.Background(), &oauth.ClientGrant{ID: "cg2", ClientID: spaID, Audience: apiData, Scope: []string{"read:data"}}); err != nil {
					t.Fatal(err)
				}
			},
			form:    url.Values{"audience": {apiData}},
			wantErr: oauth.UnauthorizedClient,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			if tt.setup != nil {
				tt.setup(f)
			}
			client := tt.client
			if client == "" {
				client = m2mID
			}
			tt.form.Set("grant_type", oauth.GrantTypeClientCredentials)
			r := f.token(client, tt.form)
			if tt.wantErr != "" {
				wantError(t, r, http.StatusBadRequest, tt.wantErr)
				return
			}
			wantOK(t, r)
			if r.RefreshToken != "" || r.IDToken != "" {
				t.Error("client credentials returned a refresh or id token")
			}
			if scopeOf(r) != tt.wantScope {
				t.Errorf("scope = %q, want %q", scopeOf(r), tt.wantScope)
			}
			h, claims := f.verify(r.AccessToken)
			if h.Typ != oauth.TypAccessToken {
				t.Errorf("typ = %q", h.Typ)
			}
			for name, want := range map[string]any{"sub": m2mID + "@clients", "aud": apiData, "client_id": m2mID, "gty": "client-credentials", "scope": tt.wantScope, "iss": issuer} {
				if claims[name] != want {
					t.Errorf("%s = %#v, want %#v", name, claims[name], want)
				}
			}
			if _, ok := claims["auth_time"]; ok {
				t.Error("client token has auth_time")
			}
			if exp, iat := claimInt(t, claims, "exp"), claimInt(t, claims, "iat"); exp-iat != 3600 || r.ExpiresIn != 3600 {
				t.Errorf("exp-iat = %d, expires_in = %d, want 3600", exp-iat, r.ExpiresIn)
			}
		})
	}
}
