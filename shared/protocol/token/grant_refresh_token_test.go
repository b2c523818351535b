package token

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// TestRefreshMRRT has one case per MRRT rule (mrrt.go). The SPA logged in
// for apiData with "openid profile offline_access read:data"; its policy
// adds write:data there and read/write/delete:billing on apiBilling
// (delete:billing is not defined by the API) and names apiGone, which does
// not exist.
func TestRefreshMRRT(t *testing.T) {
	const login = "openid profile offline_access read:data"
	tests := []struct {
		name        string
		client      string
		loginScope  string
		setup       func(f *fixture)
		params      []string // audience / resource / scope
		wantErr     oauth.ErrorCode
		wantAud     string
		wantScope   string
		wantIDToken bool
	}{
		{
			name:      "rule 1: omitted audience gives the original audience with original and policy scopes",
			wantAud:   apiData,
			wantScope: "openid profile offline_access read:data write:data", wantIDToken: true,
		},
		{
			name:      "rule 1: audience equal to the original gives the same as omitting it",
			params:    []string{"audience", apiData},
			wantAud:   apiData,
			wantScope: "openid profile offline_access read:data write:data", wantIDToken: true,
		},
		{
			name:      "rule 1: resource parameter names the audience like audience does",
			params:    []string{"resource", apiBilling},
			wantAud:   apiBilling,
			wantScope: "openid profile offline_access read:billing write:billing", wantIDToken: true,
		},
		{
			name:    "audience and resource that differ are invalid_request",
			params:  []string{"audience", apiData, "resource", apiBilling},
			wantErr: oauth.InvalidRequest,
		},
		{
			name:    "a resource that is not an absolute URI is invalid_target (RFC 8707 §2)",
			params:  []string{"resource", "billing"},
			wantErr: oauth.InvalidTarget,
		},
		{
			name:      "audience and resource that agree are accepted",
			params:    []string{"audience", apiBilling, "resource", apiBilling},
			wantAud:   apiBilling,
			wantScope: "openid profile offline_access read:billing write:billing", wantIDToken: true,
		},
		{
			name:      "rule 2: audience in the policy gives that policy's scopes and the grant's OIDC scopes",
			params:    []string{"audience", apiBilling},
			wantAud:   apiBilling,
			wantScope: "openid profile offline_access read:billing write:billing", wantIDToken: true,
		},
		{
			name:    "rule 3: existing audience outside the policy is invalid_target",
			params:  []string{"audience", apiReports},
			wantErr: oauth.InvalidTarget,
		},
		{
			name:    "rule 3: unknown audience is invalid_target",
			params:  []string{"audience", "https://evil.example.com"},
			wantErr: oauth.InvalidTarget,
		},
		{
			name:      "rule 4: policy scopes the API does not define are ignored",
			params:    []string{"audience", apiBilling, "scope", "delete:billing read:billing"},
			wantAud:   apiBilling,
			wantScope: "read:billing", wantIDToken: true,
		},
		{
			name: "rule 4: scopes the API no longer defines are dropped",
			setup: func(f *fixture) {
				f.updateAPI(apiData, func(a *oauth.ResourceServer) { a.Scopes = []oauth.Scope{{Value: "read:data"}} })
			},
			wantAud:   apiData,
			wantScope: "openid profile offline_access read:data", wantIDToken: true,
		},
		{
			name:    "rule 4: policy entry naming an unknown API is invalid_target",
			params:  []string{"audience", apiGone},
			wantErr: oauth.InvalidTarget,
		},
		{
			name: "rule 4: original API that no longer exists is invalid_target",
			setup: func(f *fixture) {
				if err := f.store.DeleteResourceServer(context.Background(), apiData); err != nil {
					t.Fatal(err)
				}
			},
			wantErr: oauth.InvalidTarget,
		},
		{
			name:      "rule 5: requested scopes are cut to the allowed ones and unknown ones dropped",
			params:    []string{"audience", apiBilling, "scope", "read:billing read:data nonsense"},
			wantAud:   apiBilling,
			wantScope: "read:billing", wantIDToken: true,
		},
		{
			name:      "rule 5: requested subset of the original audience is granted",
			params:    []string{"scope", "write:data openid"},
			wantAud:   apiData,
			wantScope: "openid write:data", wantIDToken: true,
		},
		{
			name:    "rule 5: requested scopes of which none is allowed are invalid_scope",
			params:  []string{"audience", apiBilling, "scope", "read:data nonsense"},
			wantErr: oauth.InvalidScope,
		},
		{
			name:    "malformed scope is invalid_scope",
			params:  []string{"scope", "read:data  write:data"},
			wantErr: oauth.InvalidScope,
		},
		{
			name:    "rule 6: policies do not apply to third-party clients",
			client:  thirdID,
			params:  []string{"audience", apiBilling},
			wantErr: oauth.InvalidTarget,
		},
		{
			name:      "rule 6: third-party client gets only the original scopes",
			client:    thirdID,
			wantAud:   apiData,
			wantScope: "openid profile offline_access read:data", wantIDToken: true,
		},
		{
			name: "rule 6: client that stops being first-party loses its policies at the next exchange",
			setup: func(f *fixture) {
				f.updateClient(spaID, func(c *oauth.Client) { c.IsFirstParty = false })
			},
			params:  []string{"audience", apiBilling},
			wantErr: oauth.InvalidTarget,
		},
		{
			name: "policy removed by the admin is invalid_target at the next exchange",
			setup: func(f *fixture) {
				f.updateClient(spaID, func(c *oauth.Client) { c.RefreshToken.Policies = c.RefreshToken.Policies[1:] })
			},
			params:  []string{"audience", apiBilling},
			wantErr: oauth.InvalidTarget,
		},
		{
			name:       "rule 8: no id_token when openid was not granted",
			loginScope: "offline_access read:data",
			wantAud:    apiData,
			wantScope:  "offline_access read:data write:data",
		},
		{
			name:       "rule 8: an id_token for another audience too when openid was granted",
			loginScope: login,
			params:     []string{"audience", apiBilling, "scope", "openid read:billing"},
			wantAud:    apiBilling,
			wantScope:  "openid read:billing", wantIDToken: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			client := tt.client
			if client == "" {
				client = spaID
			}
			scope := tt.loginScope
			if scope == "" {
				scope = login
			}
			rt := f.login(codeSpec{client: client, scope: scope})
			before := f.family(rt)
			if tt.setup != nil {
				tt.setup(f)
			}

			r := f.refresh(client, rt, tt.params...)

			if tt.wantErr != "" {
				wantError(t, r, http.StatusBadRequest, tt.wantErr)
				// Rule 9: refused before rotation, nothing changed.
				if diff := cmp.Diff(before, f.family(rt)); diff != "" {
					t.Errorf("family changed by a refused exchange (-before +after):\n%s", diff)
				}
				return
			}
			wantOK(t, r)
			if got := scopeOf(r); got != tt.wantScope {
				t.Errorf("scope = %q, want %q", got, tt.wantScope)
			}
			_, claims := f.verify(r.AccessToken)
			if claims["aud"] != tt.wantAud {
				t.Errorf("aud = %#v, want %q", claims["aud"], tt.wantAud)
			}
			if claims["scope"] != tt.wantScope {
				t.Errorf("scope claim = %#v, want %q", claims["scope"], tt.wantScope)
			}
			if (r.IDToken != "") != tt.wantIDToken {
				t.Errorf("id_token present = %v, want %v", r.IDToken != "", tt.wantIDToken)
			}
			// Rule 7: the grant never narrows.
			after := f.family(r.RefreshToken)
			if diff := cmp.Diff(before.Scopes, after.Scopes); diff != "" {
				t.Errorf("family scopes changed (-before +after):\n%s", diff)
			}
			if after.Audience != before.Audience {
				t.Errorf("family audience = %q, want %q", after.Audience, before.Audience)
			}
		})
	}
}

func TestRefreshRule7NarrowedExchangeDoesNotNarrowTheNextOne(t *testing.T) {
	f := newFixture(t)
	rt := f.login(codeSpec{})
	r := f.refresh(spaID, rt, "scope", "read:data")
	wantOK(t, r)
	if got := scopeOf(r); got != "read:data" {
		t.Fatalf("narrowed scope = %q", got)
	}
	r = f.refresh(spaID, r.RefreshToken, "audience", apiBilling)
	wantOK(t, r)
	r = f.refresh(spaID, r.RefreshToken)
	wantOK(t, r)
	if got, want := scopeOf(r), "openid profile offline_access read:data write:data"; got != want {
		t.Errorf("scope after narrowed exchanges = %q, want the full grant %q", got, want)
	}
	if r.IDToken == "" {
		t.Error("no id_token after narrowed exchanges")
	}
}

func TestRefreshRule9RefusedExchangeLeavesTheTokenUsable(t *testing.T) {
	for _, params := range [][]string{
		{"audience", apiReports},
		{"audience", apiBilling, "scope", "read:data"},
	} {
		t.Run(strings.Join(params, " "), func(t *testing.T) {
			f := newFixture(t)
			rt := f.login(codeSpec{})
			r := f.refresh(spaID, rt, params...)
			if r.Status != http.StatusBadRequest {
				t.Fatalf("got %v, want 400", r)
			}
			wantOK(t, f.refresh(spaID, rt))
			if fam := f.family(rt); fam.Revoked || fam.Generation != 1 {
				t.Errorf("after retry: revoked=%v generation=%d, want active generation 1", fam.Revoked, fam.Generation)
			}
		})
	}
}

func TestRefreshAccessTokenClaims(t *testing.T) {
	f := newFixture(t)
	rt := f.login(codeSpec{nonce: "n-123"})
	f.clock.Advance(time.Minute)
	r := f.refresh(spaID, rt, "audience", apiBilling)
	wantOK(t, r)
	if r.TokenType != "Bearer" || r.ExpiresIn != 600 {
		t.Errorf("token_type %q expires_in %d, want Bearer 600", r.TokenType, r.ExpiresIn)
	}
	h, claims := f.verify(r.AccessToken)
	if h.Typ != oauth.TypAccessToken || h.Alg != oauth.AlgRS256 || h.Kid == "" {
		t.Errorf("header = %+v, want typ at+jwt, alg RS256, kid", h)
	}
	now := f.clock.Now().Unix()
	if iat := claimInt(t, claims, "iat"); iat != now {
		t.Errorf("iat = %d, want %d", iat, now)
	}
	if exp, iat := claimInt(t, claims, "exp"), claimInt(t, claims, "iat"); exp-iat != 600 {
		t.Errorf("exp-iat = %d, want the API's token_lifetime 600", exp-iat)
	}
	if at := claimInt(t, claims, "auth_time"); at != startTime.Add(-time.Minute).Unix() {
		t.Errorf("auth_time = %d", at)
	}
	for name, want := range map[string]any{"iss": issuer, "sub": userID, "aud": apiBilling, "client_id": spaID} {
		if claims[name] != want {
			t.Errorf("%s = %#v, want %#v", name, claims[name], want)
		}
	}
	if jti, _ := claims["jti"].(string); len(jti) != 32 {
		t.Errorf("jti = %#v, want 32 hex characters", claims["jti"])
	}
	if _, ok := claims["gty"]; ok {
		t.Error("user token carries gty")
	}
}

func TestRefreshIDTokenClaims(t *testing.T) {
	f := newFixture(t)
	rt := f.login(codeSpec{nonce: "n-123"})
	r := f.refresh(spaID, rt)
	wantOK(t, r)
	h, claims := f.verify(r.IDToken)
	if h.Typ != oauth.TypIDToken {
		t.Errorf("typ = %q", h.Typ)
	}
	if claims["aud"] != spaID || claims["sub"] != userID || claims["iss"] != issuer {
		t.Errorf("claims = %v", claims)
	}
	if _, ok := claims["nonce"]; ok {
		t.Error("id_token from a refresh carries a nonce")
	}
	if exp, iat := claimInt(t, claims, "exp"), claimInt(t, claims, "iat"); exp-iat != 3600 {
		t.Errorf("exp-iat = %d, want 3600", exp-iat)
	}
}

func TestRefreshES256API(t *testing.T) {
	f := newFixture(t)
	f.updateClient(spaID, func(c *oauth.Client) {
		c.RefreshToken.Policies = append(c.RefreshToken.Policies, oauth.Policy{Audience: apiReports, Scope: []string{"read:reports"}})
	})
	rt := f.login(codeSpec{})
	r := f.refresh(spaID, rt, "audience", apiReports)
	wantOK(t, r)
	h, claims := f.verify(r.AccessToken)
	if h.Alg != oauth.AlgES256 {
		t.Errorf("alg = %q, want the API's ES256", h.Alg)
	}
	if exp, iat := claimInt(t, claims, "exp"), claimInt(t, claims, "iat"); exp-iat != defaultAccessTokenLifetime {
		t.Errorf("exp-iat = %d, want the default %d for token_lifetime 0", exp-iat, defaultAccessTokenLifetime)
	}
}

func TestRefreshRotation(t *testing.T) {
	t.Run("each exchange returns a new refresh token that works", func(t *testing.T) {
		f := newFixture(t)
		rt := f.login(codeSpec{})
		seen := map[string]bool{rt: true}
		for i := range 3 {
			r := f.refresh(spaID, rt)
			wantOK(t, r)
			if r.RefreshToken == "" || seen[r.RefreshToken] {
				t.Fatalf("exchange %d: refresh token %q is empty or repeated", i, r.RefreshToken)
			}
			seen[r.RefreshToken] = true
			rt = r.RefreshToken
		}
		if fam := f.family(rt); fam.Generation != 3 || fam.HeadHash != oauth.HashToken(rt) {
			t.Errorf("generation %d, head matches %v; want 3 and the last token", fam.Generation, fam.HeadHash == oauth.HashToken(rt))
		}
	})

	t.Run("reused rotated token revokes the family", func(t *testing.T) {
		f := newFixture(t)
		rt1 := f.login(codeSpec{})
		r := f.refresh(spaID, rt1)
		wantOK(t, r)
		rt2 := r.RefreshToken

		r = f.refresh(spaID, rt1)
		wantError(t, r, http.StatusBadRequest, oauth.InvalidGrant)
		if r.Description != "refresh token already used" {
			t.Errorf("description = %q", r.Description)
		}
		fam := f.family(rt1)
		if !fam.Revoked || fam.RevokeReason != "refresh_token_reuse" {
			t.Errorf("family revoked=%v reason=%q, want revoked for reuse", fam.Revoked, fam.RevokeReason)
		}
		// Every token of the family is dead afterwards, for any audience.
		for _, tok := range []string{rt2, rt1} {
			wantError(t, f.refresh(spaID, tok), http.StatusBadRequest, oauth.InvalidGrant)
			wantError(t, f.refresh(spaID, tok, "audience", apiBilling), http.StatusBadRequest, oauth.InvalidGrant)
		}
		if !strings.Contains(f.logs.String(), "refresh token reuse") {
			t.Error("reuse not logged")
		}
	})

	t.Run("immediate predecessor within leeway gets the same successor and revokes nothing", func(t *testing.T) {
		f := newFixture(t)
		f.updateClient(spaID, func(c *oauth.Client) { c.RefreshToken.Leeway = 30 })
		rt1 := f.login(codeSpec{})
		r := f.refresh(spaID, rt1)
		wantOK(t, r)
		rt2 := r.RefreshToken
		before := f.family(rt2)

		f.clock.Advance(29 * time.Second)
		r = f.refresh(spaID, rt1, "audience", apiBilling)
		wantOK(t, r)
		if r.RefreshToken != rt2 {
			t.Fatalf("leeway retry returned a different refresh token")
		}
		if r.AccessToken == "" {
			t.Fatal("no access token")
		}
		// The retry commits in place (the commit checks the user's
		// revocation marker): the head, its predecessor and the rotation
		// time stay; only the use times move.
		if diff := cmp.Diff(before, f.family(rt2), cmpopts.IgnoreFields(oauth.Family{}, "LastUsedAt", "IdleExpiresAt")); diff != "" {
			t.Errorf("leeway retry moved the family (-before +after):\n%s", diff)
		}
		// The client keeps going with the successor.
		r = f.refresh(spaID, rt2)
		wantOK(t, r)
		wantOK(t, f.refresh(spaID, r.RefreshToken))
	})

	t.Run("immediate predecessor after the leeway revokes the family", func(t *testing.T) {
		f := newFixture(t)
		f.updateClient(spaID, func(c *oauth.Client) { c.RefreshToken.Leeway = 30 })
		rt1 := f.login(codeSpec{})
		r := f.refresh(spaID, rt1)
		wantOK(t, r)
		f.clock.Advance(30 * time.Second)
		wantError(t, f.refresh(spaID, rt1), http.StatusBadRequest, oauth.InvalidGrant)
		if !f.family(rt1).Revoked {
			t.Error("family not revoked")
		}
		wantError(t, f.refresh(spaID, r.RefreshToken), http.StatusBadRequest, oauth.InvalidGrant)
	})

	t.Run("second-to-last token within leeway revokes the family", func(t *testing.T) {
		f := newFixture(t)
		f.updateClient(spaID, func(c *oauth.Client) { c.RefreshToken.Leeway = 60 })
		rt1 := f.login(codeSpec{})
		r := f.refresh(spaID, rt1)
		wantOK(t, r)
		r = f.refresh(spaID, r.RefreshToken)
		wantOK(t, r)
		rt3 := r.RefreshToken
		wantError(t, f.refresh(spaID, rt1), http.StatusBadRequest, oauth.InvalidGrant)
		if !f.family(rt1).Revoked {
			t.Error("family not revoked")
		}
		wantError(t, f.refresh(spaID, rt3), http.StatusBadRequest, oauth.InvalidGrant)
	})

	t.Run("leeway does not apply without rotation history", func(t *testing.T) {
		f := newFixture(t)
		f.updateClient(spaID, func(c *oauth.Client) { c.RefreshToken.Leeway = 60 })
		rt1 := f.login(codeSpec{})
		wantOK(t, f.refresh(spaID, rt1))
		if fam := f.family(rt1); fam.Revoked || fam.Generation != 1 {
			t.Errorf("revoked=%v generation=%d", fam.Revoked, fam.Generation)
		}
	})

	t.Run("forged or unknown token is invalid_grant and revokes nothing", func(t *testing.T) {
		f := newFixture(t)
		rt := f.login(codeSpec{})
		d, err := decodeRefreshToken(rt, f.key)
		if err != nil {
			t.Fatal(err)
		}
		flipped := []byte(rt)
		flipped[40] ^= 'A' ^ 'B'
		if flipped[40] == rt[40] {
			flipped[40] = 'C'
		}
		otherKey := d // same family, MAC'd with another key
		unknownFamily := d
		unknownFamily.family[0] ^= 0xff
		for name, tok := range map[string]string{
			"flipped byte":                  string(flipped),
			"another key":                   otherKey.encode([]byte(strings.Repeat("k", 32))),
			"unknown family":                unknownFamily.encode(f.key),
			"garbage":                       "not-a-token",
			"truncated":                     rt[:len(rt)-1],
			"same generation, other secret": func() string { g := d; g.secret[0] ^= 1; return g.encode(f.key) }(),
		} {
			r := f.refresh(spaID, tok)
			wantError(t, r, http.StatusBadRequest, oauth.InvalidGrant)
			if f.family(rt).Revoked {
				t.Fatalf("%s: family revoked", name)
			}
		}
	})

	t.Run("successor that was never committed is refused and revokes nothing", func(t *testing.T) {
		f := newFixture(t)
		rt := f.login(codeSpec{})
		d, _ := decodeRefreshToken(rt, f.key)
		next, _ := d.successor(f.key)
		wantError(t, f.refresh(spaID, next.encode(f.key)), http.StatusBadRequest, oauth.InvalidGrant)
		if f.family(rt).Revoked {
			t.Fatal("family revoked")
		}
		r := f.refresh(spaID, rt)
		wantOK(t, r)
		if r.RefreshToken != next.encode(f.key) {
			t.Error("rotation did not produce the derived successor")
		}
	})

	t.Run("refresh token of another client is refused and revokes nothing", func(t *testing.T) {
		f := newFixture(t)
		rt := f.login(codeSpec{})
		wantError(t, f.refresh(thirdID, rt), http.StatusBadRequest, oauth.InvalidGrant)
		if fam := f.family(rt); fam.Revoked || fam.Generation != 0 {
			t.Fatalf("revoked=%v generation=%d", fam.Revoked, fam.Generation)
		}
		wantOK(t, f.refresh(spaID, rt))
	})

	t.Run("absolute lifetime is not extended by rotation", func(t *testing.T) {
		f := newFixture(t)
		f.updateClient(spaID, func(c *oauth.Client) {
			c.RefreshToken.TokenLifetime, c.RefreshToken.IdleTokenLifetime = 100, 60
		})
		rt := f.login(codeSpec{})
		exp := f.family(rt).ExpiresAt
		if want := startTime.Add(100 * time.Second); !exp.Equal(want) {
			t.Fatalf("ExpiresAt = %v, want %v", exp, want)
		}
		for range 2 {
			f.clock.Advance(45 * time.Second)
			r := f.refresh(spaID, rt)
			wantOK(t, r)
			rt = r.RefreshToken
			if got := f.family(rt).ExpiresAt; !got.Equal(exp) {
				t.Fatalf("ExpiresAt moved to %v", got)
			}
		}
		f.clock.Advance(10 * time.Second) // 100 s after login, 10 s after the last exchange
		r := f.refresh(spaID, rt)
		wantError(t, r, http.StatusBadRequest, oauth.InvalidGrant)
		if r.Description != "refresh token expired" {
			t.Errorf("description = %q", r.Description)
		}
	})

	t.Run("idle lifetime restarts on each exchange", func(t *testing.T) {
		f := newFixture(t)
		f.updateClient(spaID, func(c *oauth.Client) {
			c.RefreshToken.TokenLifetime, c.RefreshToken.IdleTokenLifetime = 1000, 60
		})
		rt := f.login(codeSpec{})
		for range 3 {
			f.clock.Advance(50 * time.Second)
			r := f.refresh(spaID, rt)
			wantOK(t, r)
			rt = r.RefreshToken
			if got, want := f.family(rt).IdleExpiresAt, f.clock.Now().Add(60*time.Second); !got.Equal(want) {
				t.Fatalf("IdleExpiresAt = %v, want %v", got, want)
			}
		}
		f.clock.Advance(60 * time.Second)
		wantError(t, f.refresh(spaID, rt), http.StatusBadRequest, oauth.InvalidGrant)
		if f.family(rt).Revoked {
			t.Error("expiry revoked the family")
		}
	})

	t.Run("non-expiring client has no absolute or idle expiry", func(t *testing.T) {
		f := newFixture(t)
		f.updateClient(postID, func(c *oauth.Client) { c.RefreshToken.ExpirationType = oauth.ExpirationNever })
		rt := f.login(codeSpec{client: postID})
		fam := f.family(rt)
		if !fam.ExpiresAt.IsZero() || !fam.IdleExpiresAt.IsZero() {
			t.Errorf("ExpiresAt %v IdleExpiresAt %v, want zero", fam.ExpiresAt, fam.IdleExpiresAt)
		}
		f.clock.Advance(10 * 365 * 24 * time.Hour)
		wantOK(t, f.refresh(postID, rt))
	})

	t.Run("lifetimes default to Auth0's when unset", func(t *testing.T) {
		f := newFixture(t)
		rt := f.login(codeSpec{client: postID})
		fam := f.family(rt)
		if !fam.ExpiresAt.Equal(startTime.Add(2592000*time.Second)) || !fam.IdleExpiresAt.Equal(startTime.Add(1296000*time.Second)) {
			t.Errorf("ExpiresAt %v IdleExpiresAt %v", fam.ExpiresAt, fam.IdleExpiresAt)
		}
	})

	t.Run("non-rotating client gets no new refresh token and keeps using the same one", func(t *testing.T) {
		f := newFixture(t)
		rt := f.login(codeSpec{client: webID})
		for i := range 3 {
			f.clock.Advance(time.Minute)
			r := f.refresh(webID, rt, "audience", []string{apiData, apiBilling}[i%2])
			wantOK(t, r)
			if r.RefreshToken != "" {
				t.Fatalf("non-rotating exchange returned a refresh token")
			}
		}
		fam := f.family(rt)
		if fam.Generation != 0 || fam.HeadHash != oauth.HashToken(rt) || fam.Revoked {
			t.Errorf("generation %d revoked %v", fam.Generation, fam.Revoked)
		}
		if !fam.LastUsedAt.Equal(f.clock.Now()) {
			t.Errorf("LastUsedAt = %v, want %v", fam.LastUsedAt, f.clock.Now())
		}
	})

	t.Run("public client rotates even when configured non-rotating", func(t *testing.T) {
		f := newFixture(t)
		f.updateClient(spaID, func(c *oauth.Client) { c.RefreshToken.RotationType = oauth.RotationNonRotating })
		rt := f.login(codeSpec{})
		r := f.refresh(spaID, rt)
		wantOK(t, r)
		if r.RefreshToken == "" || r.RefreshToken == rt {
			t.Fatal("public client did not rotate")
		}
		wantError(t, f.refresh(spaID, rt), http.StatusBadRequest, oauth.InvalidGrant)
	})

	t.Run("revoked family refuses every token", func(t *testing.T) {
		f := newFixture(t)
		rt := f.login(codeSpec{})
		if err := f.store.RevokeFamily(context.Background(), f.family(rt).ID, "admin", f.clock.Now()); err != nil {
			t.Fatal(err)
		}
		r := f.refresh(spaID, rt)
		wantError(t, r, http.StatusBadRequest, oauth.InvalidGrant)
		if r.Description != "refresh token revoked" {
			t.Errorf("description = %q", r.Description)
		}
	})
}

func TestRefreshRequestChecks(t *testing.T) {
	f := newFixture(t)
	rt := f.login(codeSpec{})

	t.Run("missing refresh_token is invalid_request", func(t *testing.T) {
		wantError(t, f.refresh(spaID, ""), http.StatusBadRequest, oauth.InvalidRequest)
	})
	t.Run("client without the refresh_token grant is unauthorized_client", func(t *testing.T) {
		f.updateClient(spaID, func(c *oauth.Client) { c.GrantTypes = []string{oauth.GrantTypeAuthorizationCode} })
		defer f.updateClient(spaID, func(c *oauth.Client) { c.GrantTypes = append(c.GrantTypes, oauth.GrantTypeRefreshToken) })
		wantError(t, f.refresh(spaID, rt), http.StatusBadRequest, oauth.UnauthorizedClient)
	})
	t.Run("confidential client without authentication is invalid_client", func(t *testing.T) {
		rt := f.login(codeSpec{client: postID})
		r := f.token("", map[string][]string{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {postID}})
		wantError(t, r, http.StatusUnauthorized, oauth.InvalidClient)
	})
	t.Run("token still works after the refused requests", func(t *testing.T) {
		wantOK(t, f.refresh(spaID, rt))
	})
}

// TestRefreshFaults: infrastructure faults are 503 (or 500), never
// invalid_grant, and the presented token works on retry.
func TestRefreshFaults(t *testing.T) {
	unavailable := fmt.Errorf("kms: throttled: %w", oauth.ErrUnavailable)
	tests := []struct {
		name       string
		inject     func(f *fixture)
		wantStatus int
		wantCode   oauth.ErrorCode
		versionOne bool // a token from before sealed tokens, whose family is read
	}{
		{"signer unavailable is 503", func(f *fixture) { f.signer.FailNext("", unavailable) }, 503, oauth.TemporarilyUnavailable, false},
		{"signer failing on the id token is 503", func(f *fixture) { f.signer.FailNext(oauth.TypIDToken, unavailable) }, 503, oauth.TemporarilyUnavailable, false},
		{"store failing to advance the family is 503", func(f *fixture) { f.store.FailNext("AdvanceFamily", unavailable) }, 503, oauth.TemporarilyUnavailable, false},
		{"store failing to read the family of a version-1 token is 503", func(f *fixture) { f.store.FailNext("Family", unavailable) }, 503, oauth.TemporarilyUnavailable, true},
		{"store failing to read the API is 503", func(f *fixture) { f.store.FailNext("ResourceServer", unavailable) }, 503, oauth.TemporarilyUnavailable, false},
		{"store failing to read the client is 503", func(f *fixture) { f.store.FailNext("Client", unavailable) }, 503, oauth.TemporarilyUnavailable, false},
		{"refresh key unavailable is 503", func(f *fixture) { f.keyErr = unavailable }, 503, oauth.TemporarilyUnavailable, false},
		{"unexpected store error is 500", func(f *fixture) { f.store.FailNext("AdvanceFamily", errors.New("disk on fire")) }, 500, oauth.ServerError, false},
		{"refresh key too short is 500", func(f *fixture) { f.keyErr = nil; f.key = f.key[:16] }, 500, oauth.ServerError, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			rt := f.login(codeSpec{})
			if tt.versionOne {
				rt = f.versionOne(rt)
			}
			before := f.family(rt)
			key := f.key
			tt.inject(f)
			r := f.refresh(spaID, rt)
			wantError(t, r, tt.wantStatus, tt.wantCode)
			if tt.wantStatus == 503 && r.Header.Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
			f.key = key
			if diff := cmp.Diff(before, f.family(rt)); diff != "" {
				t.Errorf("family changed by a failed exchange (-before +after):\n%s", diff)
			}
			r = f.refresh(spaID, rt)
			wantOK(t, r)
			if r.RefreshToken == "" {
				t.Error("retry gave no refresh token")
			}
		})
	}
}

func TestRefreshReuseRevocationFailureIsRetried(t *testing.T) {
	f := newFixture(t)
	rt1 := f.login(codeSpec{})
	wantOK(t, f.refresh(spaID, rt1))
	f.store.FailNext("RevokeFamily", fmt.Errorf("throttled: %w", oauth.ErrUnavailable))
	wantError(t, f.refresh(spaID, rt1), http.StatusServiceUnavailable, oauth.TemporarilyUnavailable)
	if f.family(rt1).Revoked {
		t.Fatal("revoked although the write failed")
	}
	wantError(t, f.refresh(spaID, rt1), http.StatusBadRequest, oauth.InvalidGrant)
	if !f.family(rt1).Revoked {
		t.Error("retry did not revoke")
	}
}

// TestRefreshConcurrent: 100 goroutines present the same token at once.
func TestRefreshConcurrent(t *testing.T) {
	const n = 100
	run := func(t *testing.T, leeway int) (*fixture, string, []result) {
		f := newFixture(t)
		f.updateClient(spaID, func(c *oauth.Client) { c.RefreshToken.Leeway = leeway })
		rt := f.login(codeSpec{})
		results := make([]result, n)
		start := make(chan struct{})
		done := make(chan int)
		for i := range n {
			go func() {
				<-start
				results[i] = f.refresh(spaID, rt, "audience", []string{apiData, apiBilling}[i%2])
				done <- i
			}()
		}
		close(start)
		for range n {
			<-done
		}
		return f, rt, results
	}

	t.Run("without leeway exactly one succeeds and the family is revoked", func(t *testing.T) {
		f, rt, results := run(t, 0)
		ok := 0
		var winner string
		for _, r := range results {
			switch {
			case r.Status == http.StatusOK:
				ok++
				winner = r.RefreshToken
			case r.Status >= 500:
				t.Errorf("5xx under contention: %v", r)
			case r.Error != string(oauth.InvalidGrant):
				t.Errorf("loser got %v, want invalid_grant", r)
			}
		}
		if ok != 1 {
			t.Fatalf("%d exchanges succeeded, want exactly 1", ok)
		}
		if fam := f.family(rt); !fam.Revoked || fam.Generation != 1 {
			t.Errorf("family revoked=%v generation=%d, want revoked after one rotation", fam.Revoked, fam.Generation)
		}
		wantError(t, f.refresh(spaID, winner), http.StatusBadRequest, oauth.InvalidGrant)
	})

	t.Run("with leeway all succeed with the same successor and the family stays usable", func(t *testing.T) {
		f, rt, results := run(t, 30)
		successors := map[string]int{}
		for _, r := range results {
			if r.Status != http.StatusOK {
				t.Fatalf("exchange failed: %v", r)
			}
			successors[r.RefreshToken]++
		}
		if len(successors) != 1 {
			t.Fatalf("%d distinct successors, want 1", len(successors))
		}
		var next string
		for s := range successors {
			next = s
		}
		if fam := f.family(rt); fam.Revoked || fam.Generation != 1 {
			t.Errorf("family revoked=%v generation=%d, want active after one rotation", fam.Revoked, fam.Generation)
		}
		r := f.refresh(spaID, next)
		wantOK(t, r)
		wantOK(t, f.refresh(spaID, r.RefreshToken))
	})
}

func TestMRRTResolution(t *testing.T) {
	fam := &oauth.Family{Audience: apiData, Scopes: []string{"openid", "read:data", "gone:scope", "offline_access"}}
	data := &oauth.ResourceServer{Identifier: apiData, Scopes: []oauth.Scope{{Value: "read:data"}, {Value: "write:data"}}}
	billing := &oauth.ResourceServer{Identifier: apiBilling, Scopes: []oauth.Scope{{Value: "read:billing"}, {Value: "openid"}}}
	client := &oauth.Client{IsFirstParty: true, RefreshToken: oauth.RefreshTokenConfig{Policies: []oauth.Policy{
		{Audience: apiData, Scope: []string{"write:data", "read:data", "openid"}},
		{Audience: apiBilling, Scope: []string{"read:billing", "profile", "write:billing"}},
		{Audience: apiBilling, Scope: []string{"openid"}},
	}}}
	tests := []struct {
		name      string
		client    *oauth.Client
		audience  string
		api       *oauth.ResourceServer
		requested []string
		want      []string
		wantErr   oauth.ErrorCode
	}{
		{name: "original audience merges grant and policy, keeping granted OIDC scopes", audience: "", api: data,
			want: []string{"openid", "read:data", "offline_access", "write:data"}},
		{name: "policy audience gets the grant's OIDC scopes and the policy scopes the API defines", audience: apiBilling, api: billing,
			want: []string{"openid", "offline_access", "read:billing"}},
		{name: "OIDC scopes asked for on another audience are echoed (auth0-spa-js checks them)", audience: apiBilling, api: billing,
			requested: []string{"openid", "profile", "email", "offline_access"}, want: []string{"openid", "offline_access"}},
		{name: "the userinfo audience is reachable from an openid grant without a policy", audience: "https://issuer.example.com/userinfo",
			api: &oauth.ResourceServer{Identifier: "https://issuer.example.com/userinfo"}, client: &oauth.Client{},
			want: []string{"openid", "offline_access"}},
		{name: "policy OIDC scopes are not added for the original audience", audience: apiData, api: data,
			client: &oauth.Client{IsFirstParty: true, RefreshToken: oauth.RefreshTokenConfig{Policies: []oauth.Policy{{Audience: apiData, Scope: []string{"email"}}}}},
			want:   []string{"openid", "read:data", "offline_access"}},
		{name: "audience outside the policy is invalid_target", audience: apiReports, wantErr: oauth.InvalidTarget},
		{name: "third-party client has no policies", audience: apiBilling, client: &oauth.Client{RefreshToken: client.RefreshToken},
			wantErr: oauth.InvalidTarget},
		{name: "requested scopes are intersected in allowed order", audience: "", api: data, requested: []string{"write:data", "x", "openid"},
			want: []string{"openid", "write:data"}},
		{name: "requested scopes outside allowed are invalid_scope", audience: apiBilling, api: billing, requested: []string{"read:data"},
			wantErr: oauth.InvalidScope},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tt.client
			if c == nil {
				c = client
			}
			aud, err := targetAudience(fam, c, tt.audience, "https://issuer.example.com/userinfo")
			if err == nil {
				var got []string
				got, err = grantScopes(allowedScopes(fam, c, tt.api), tt.requested)
				if err == nil {
					if tt.wantErr != "" {
						t.Fatalf("got %q, want %s", got, tt.wantErr)
					}
					if aud != tt.api.Identifier {
						t.Errorf("audience = %q, want %q", aud, tt.api.Identifier)
					}
					if diff := cmp.Diff(tt.want, got); diff != "" {
						t.Errorf("scopes (-want +got):\n%s", diff)
					}
					return
				}
			}
			var oe *oauth.Error
			if !errors.As(err, &oe) || oe.Code != tt.wantErr {
				t.Fatalf("error = %v, want %s", err, tt.wantErr)
			}
		})
	}
	if !slices.Equal(fam.Scopes, []string{"openid", "read:data", "gone:scope", "offline_access"}) {
		t.Error("resolution modified the family's scopes")
	}
	if !issuesIDToken(fam) || issuesIDToken(&oauth.Family{Scopes: []string{"read:data"}}) {
		t.Error("issuesIDToken: want an ID token on every exchange of an openid grant, none without openid")
	}
	if _, err := targetAudience(&oauth.Family{Audience: apiData, Scopes: []string{"read:data"}}, client, "https://issuer.example.com/userinfo", "https://issuer.example.com/userinfo"); err == nil {
		t.Error("a grant without openid reached the userinfo audience")
	}
}
