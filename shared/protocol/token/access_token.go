package token

import (
	"context"
	"fmt"
	"time"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/protocol/httpx"
)

// defaultAccessTokenLifetime applies when an API's token_lifetime is 0 (Auth0's default).
const defaultAccessTokenLifetime = 86400

// accessClaims are the claims of an RFC 9068 access token (§2.2), plus
// Auth0's gty for client credentials. A struct, not a map: it encodes
// without reflection over map keys and in a fixed order.
type accessClaims struct {
	Iss      string `json:"iss"`
	Sub      string `json:"sub"`
	Aud      string `json:"aud"` // always exactly one audience (RFC 9068 §5, RFC 9700 §2.3)
	Exp      int64  `json:"exp"`
	Iat      int64  `json:"iat"`
	Jti      string `json:"jti"`
	ClientID string `json:"client_id"`
	Scope    string `json:"scope"`
	AuthTime int64  `json:"auth_time,omitempty"`
	Gty      string `json:"gty,omitempty"`
	Cnf      *cnf   `json:"cnf,omitempty"` // RFC 9449 §6: the DPoP key the token is bound to
	// Permissions is Auth0's claim of the _authz token dialects (RBAC).
	Permissions []string `json:"permissions,omitempty"`
}

type cnf struct {
	JKT string `json:"jkt"`
}

// idClaims are the claims of an OIDC ID token (OIDC Core §2).
type idClaims struct {
	Iss      string `json:"iss"`
	Sub      string `json:"sub"`
	Aud      string `json:"aud"`
	Exp      int64  `json:"exp"`
	Iat      int64  `json:"iat"`
	AuthTime int64  `json:"auth_time,omitempty"`
	Nonce    string `json:"nonce,omitempty"`
	userClaims
}

// accessToken describes one access token to issue.
type accessToken struct {
	api      *oauth.ResourceServer
	clientID string
	subject  string // user id, or client_id@clients
	scopes   []string
	authTime time.Time // zero for client tokens
	gty      string
	// permissions is the permissions claim; nil leaves it out.
	permissions []string
}

// signAccessToken signs t and returns the JWT and its lifetime in seconds.
func (h *handler) signAccessToken(ctx context.Context, t accessToken, now time.Time) (string, int, error) {
	lifetime := t.api.TokenLifetime
	if lifetime <= 0 {
		lifetime = defaultAccessTokenLifetime
	}
	jti, err := oauth.NewID(h.d.Rand)
	if err != nil {
		return "", 0, err
	}
	c := accessClaims{
		Iss:         h.d.Issuer,
		Sub:         t.subject,
		Aud:         t.api.Identifier,
		Exp:         now.Unix() + int64(lifetime),
		Iat:         now.Unix(),
		Jti:         jti,
		ClientID:    t.clientID,
		Scope:       httpx.JoinScope(t.scopes),
		AuthTime:    unixOrZero(t.authTime),
		Gty:         t.gty,
		Permissions: t.permissions,
	}
	if jkt := dpopJKT(ctx); jkt != "" {
		c.Cnf = &cnf{JKT: jkt}
	}
	jwt, err := h.d.Signer.Sign(ctx, t.api.SigningAlg, oauth.TypAccessToken, &c)
	if err != nil {
		return "", 0, fmt.Errorf("token: sign access token: %w", err)
	}
	return jwt, lifetime, nil
}

// signIDToken signs an ID token for the user of a grant, with the claims
// the grant's scopes allow, in the client's jwt_configuration.alg (the
// signer's default when unset). nonce is only set on the code exchange.
func (h *handler) signIDToken(ctx context.Context, client *oauth.Client, userID string, authTime time.Time, nonce string, scopes []string, now time.Time) (string, error) {
	user, err := h.userClaims(ctx, userID, scopes)
	if err != nil {
		return "", err
	}
	c := idClaims{
		Iss:        h.d.Issuer,
		Sub:        userID,
		Aud:        client.ClientID,
		Exp:        now.Add(h.d.IDTokenLifetime).Unix(),
		Iat:        now.Unix(),
		AuthTime:   unixOrZero(authTime),
		Nonce:      nonce,
		userClaims: user,
	}
	jwt, err := h.d.Signer.Sign(ctx, client.IDTokenAlg(), oauth.TypIDToken, &c)
	if err != nil {
		return "", fmt.Errorf("token: sign id token: %w", err)
	}
	return jwt, nil
}

func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}
