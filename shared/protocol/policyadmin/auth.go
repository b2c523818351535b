package policyadmin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/crypto/jws"
)

// The scopes of the admin API, as in Auth0's Management API.
const (
	scopeReadClients         = "read:clients"
	scopeCreateClients       = "create:clients"
	scopeUpdateClients       = "update:clients"
	scopeDeleteClients       = "delete:clients"
	scopeReadAPIs            = "read:resource_servers"
	scopeCreateAPIs          = "create:resource_servers"
	scopeUpdateAPIs          = "update:resource_servers"
	scopeDeleteAPIs          = "delete:resource_servers"
	scopeReadGrants          = "read:client_grants"
	scopeCreateGrants        = "create:client_grants"
	scopeUpdateGrants        = "update:client_grants"
	scopeDeleteGrants        = "delete:client_grants"
	scopeReadUsers           = "read:users"
	scopeCreateUsers         = "create:users"
	scopeUpdateUsers         = "update:users"
	scopeDeleteUsers         = "delete:users"
	scopeReadRefreshTokens   = "read:refresh_tokens"
	scopeDeleteRefreshTokens = "delete:refresh_tokens"

	scopeReadClientCredentials   = "read:client_credentials"
	scopeCreateClientCredentials = "create:client_credentials"
	scopeUpdateClientCredentials = "update:client_credentials"
	scopeDeleteClientCredentials = "delete:client_credentials"
	scopeReadLogs                = "read:logs"
	scopeReadRoles               = "read:roles"
	scopeCreateRoles             = "create:roles"
	scopeUpdateRoles             = "update:roles"
	scopeDeleteRoles             = "delete:roles"
	scopeReadRoleMembers         = "read:role_members"
	scopeCreateRoleMembers       = "create:role_members"
	scopeDeleteRoleMembers       = "delete:role_members"
)

// Scopes are all the scopes of the admin API: the admin API's resource
// server defines them and the bootstrap client is granted them.
var Scopes = []string{
	scopeReadClients, scopeCreateClients, scopeUpdateClients, scopeDeleteClients,
	scopeReadAPIs, scopeCreateAPIs, scopeUpdateAPIs, scopeDeleteAPIs,
	scopeReadGrants, scopeCreateGrants, scopeUpdateGrants, scopeDeleteGrants,
	scopeReadUsers, scopeCreateUsers, scopeUpdateUsers, scopeDeleteUsers,
	scopeReadRefreshTokens, scopeDeleteRefreshTokens,
	scopeReadClientCredentials, scopeCreateClientCredentials, scopeUpdateClientCredentials, scopeDeleteClientCredentials,
	scopeReadLogs,
	scopeReadRoles, scopeCreateRoles, scopeUpdateRoles, scopeDeleteRoles,
	scopeReadRoleMembers, scopeCreateRoleMembers, scopeDeleteRoleMembers,
}

// clockSkew is the tolerance for exp, nbf and iat (RFC 9068 §4 allows "a
// reasonable leeway").
const clockSkew = 30 * time.Second

// principal is the caller named by a verified admin token.
type principal struct {
	Subject  string
	ClientID string
}

// claims are the members of an RFC 9068 access token that we check.
type claims struct {
	Iss      string          `json:"iss"`
	Sub      string          `json:"sub"`
	Aud      json.RawMessage `json:"aud"`
	Exp      *json.Number    `json:"exp"`
	Iat      *json.Number    `json:"iat"`
	Nbf      *json.Number    `json:"nbf"`
	ClientID string          `json:"client_id"`
	Scope    string          `json:"scope"`
}

// authenticate verifies the bearer token of r (RFC 6750 §2.1) as an access
// token of this server for the admin audience (RFC 9068 §4) and checks that
// it carries scope.
func (a *api) authenticate(r *http.Request, scope string) (principal, error) {
	raw, err := bearerToken(r)
	if err != nil {
		return principal{}, err
	}
	keys, err := a.d.Keys(r.Context())
	if err != nil {
		return principal{}, fmt.Errorf("policyadmin: verification keys: %w", err)
	}
	hdr, payload, err := jws.Verify(raw, keys)
	if err != nil {
		return principal{}, invalidToken("the token signature is invalid")
	}
	// RFC 9068 §4: typ must be at+jwt, so that an ID token (same keys) is
	// never accepted as an access token.
	if !strings.EqualFold(hdr.Typ, oauth.TypAccessToken) && !strings.EqualFold(hdr.Typ, "application/"+oauth.TypAccessToken) {
		return principal{}, invalidToken("the token is not an access token (typ at+jwt)")
	}
	var c claims
	if err := json.Unmarshal(payload, &c); err != nil {
		return principal{}, invalidToken("the token claims are malformed")
	}
	if c.Iss != a.d.Issuer {
		return principal{}, invalidToken("the token was issued by another issuer")
	}
	if !audienceIs(c.Aud, a.d.Audience) {
		return principal{}, invalidToken("the token is not for this API (aud)")
	}
	now := a.d.Now()
	exp, ok := numericDate(c.Exp)
	if !ok {
		return principal{}, invalidToken("the token has no valid exp")
	}
	if !now.Before(exp.Add(clockSkew)) {
		return principal{}, invalidToken("the token expired")
	}
	iat, ok := numericDate(c.Iat)
	if !ok || iat.After(now.Add(clockSkew)) {
		return principal{}, invalidToken("the token has no valid iat")
	}
	if c.Nbf != nil {
		if nbf, ok := numericDate(c.Nbf); !ok || nbf.After(now.Add(clockSkew)) {
			return principal{}, invalidToken("the token is not valid yet")
		}
	}
	// Only client-credentials tokens administer: their sub is the client
	// (RFC 9068 §2.2; Auth0 writes "<client_id>@clients"). A user's token for
	// this audience, however obtained, is refused.
	if c.ClientID == "" || (c.Sub != c.ClientID && c.Sub != c.ClientID+"@clients") {
		return principal{}, invalidToken("the token was not issued to a client by the client_credentials grant")
	}
	if !slices.Contains(strings.Fields(c.Scope), scope) {
		return principal{}, insufficientScope(scope)
	}
	if err := a.stillGranted(r.Context(), c.ClientID, scope); err != nil {
		return principal{}, err
	}
	return principal{Subject: c.Sub, ClientID: c.ClientID}, nil
}

func insufficientScope(scope string) *apiError {
	return &apiError{
		Status:    http.StatusForbidden,
		Code:      "insufficient_scope",
		Message:   "Insufficient scope, expected: " + scope,
		Challenge: fmt.Sprintf(`Bearer error="insufficient_scope", scope="%s"`, scope),
	}
}

// stillGranted checks, on every request, that the token's client still
// exists and still holds a grant for the admin API with scope: deleting an
// admin client or its grant, or taking the scope away, ends its unexpired
// tokens at once (RFC 6750 §3.1 invalid_token; insufficient_scope for a
// scope no longer granted).
func (a *api) stillGranted(ctx context.Context, clientID, scope string) error {
	if _, err := a.d.Store.Client(ctx, clientID); errors.Is(err, oauth.ErrNotFound) {
		return invalidToken("the client of this token no longer exists")
	} else if err != nil {
		return err
	}
	g, err := a.d.Store.ClientGrantFor(ctx, clientID, a.d.Audience)
	if errors.Is(err, oauth.ErrNotFound) {
		return invalidToken("the client of this token no longer holds a grant for this API")
	} else if err != nil {
		return err
	}
	if !slices.Contains(g.Scope, scope) {
		return insufficientScope(scope)
	}
	return nil
}

// bearerToken returns the credentials of the one Authorization header of r,
// which must use the Bearer scheme.
func bearerToken(r *http.Request) (string, error) {
	values := r.Header.Values("Authorization")
	if len(values) == 0 {
		// RFC 6750 §3.1: no error code when the request has no credentials.
		return "", &apiError{Status: http.StatusUnauthorized, Code: "missing_authentication",
			Message: "an Authorization: Bearer token is required", Challenge: "Bearer"}
	}
	scheme, tok, ok := strings.Cut(values[0], " ")
	if len(values) > 1 || !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" || strings.ContainsAny(tok, " \t") {
		return "", invalidToken("the Authorization header must be a single Bearer token")
	}
	return tok, nil
}

func invalidToken(msg string) *apiError {
	return &apiError{
		Status:    http.StatusUnauthorized,
		Code:      "invalid_token",
		Message:   msg,
		Challenge: fmt.Sprintf(`Bearer error="invalid_token", error_description="%s"`, msg),
	}
}

// audienceIs reports whether the aud claim (a string or an array of
// strings, RFC 7519 §4.1.3) names audience.
func audienceIs(raw json.RawMessage, audience string) bool {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return one == audience
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil {
		return slices.Contains(many, audience)
	}
	return false
}

// numericDate parses a JWT NumericDate (RFC 7519 §2): seconds, possibly
// fractional.
func numericDate(n *json.Number) (time.Time, bool) {
	if n == nil {
		return time.Time{}, false
	}
	f, err := n.Float64()
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || f < 0 || f > 1e11 {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true
}
