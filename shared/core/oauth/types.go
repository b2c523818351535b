// Package oauth is the domain of the authorization server: the types in the
// shapes of Auth0's Management API v2, the OAuth error model, and the store
// and signer contracts that the adapters implement. Standard library only.
package oauth

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Wire names (RFC 6749, RFC 7636, RFC 8707, OIDC Core).
const (
	GrantTypeAuthorizationCode = "authorization_code"
	GrantTypeRefreshToken      = "refresh_token"
	GrantTypeClientCredentials = "client_credentials"

	AuthMethodNone              = "none"
	AuthMethodClientSecretPost  = "client_secret_post"
	AuthMethodClientSecretBasic = "client_secret_basic"
	// AuthMethodPrivateKeyJWT: a signed assertion (RFC 7523 §2.2, OIDC
	// Core §9) verified with a key the client registered.
	AuthMethodPrivateKeyJWT = "private_key_jwt"

	AppTypeSPA            = "spa"
	AppTypeNative         = "native"
	AppTypeRegularWeb     = "regular_web"
	AppTypeNonInteractive = "non_interactive"

	RotationRotating    = "rotating"
	RotationNonRotating = "non-rotating"
	ExpirationExpiring  = "expiring"
	ExpirationNever     = "non-expiring"

	CodeChallengeS256 = "S256"

	AlgRS256 = "RS256"
	AlgES256 = "ES256"

	// JWT "typ" header values.
	TypAccessToken = "at+jwt" // RFC 9068 §2.1
	TypIDToken     = "JWT"

	ScopeOpenID        = "openid"
	ScopeProfile       = "profile"
	ScopeEmail         = "email"
	ScopeOfflineAccess = "offline_access"

	// CodeLifetime is how long an authorization code may be redeemed.
	CodeLifetime = 60 * time.Second
	// MaxLifetimeSeconds is Auth0's upper bound for refresh-token lifetimes (5 years).
	MaxLifetimeSeconds = 157788000
)

// DefaultAdminAudience is the audience of the admin API when the
// configuration names none: the issuer's /api/v2/, as Auth0's Management API.
func DefaultAdminAudience(issuer string) string { return IssuerBase(issuer) + "/api/v2/" }

// IssuerBase is the issuer without a trailing slash: the base of the
// endpoint URLs and of the audiences this server defines. The issuer
// itself is used byte for byte as configured (iss, discovery's issuer,
// RFC 9207's iss): Auth0's form is https://<domain>/, with the slash,
// and OIDC clients compare it exactly (OIDC Discovery §4.3).
func IssuerBase(issuer string) string { return strings.TrimSuffix(issuer, "/") }

// UserinfoAudience is the audience of access tokens for the userinfo
// endpoint: the default audience of an authorization request that names
// none (as Auth0's), and reachable by MRRT from any grant holding openid.
func UserinfoAudience(issuer string) string { return IssuerBase(issuer) + "/userinfo" }

// OIDCScopes are the scopes every API accepts in addition to its own
// (they describe the user and the refresh token, not the API).
var OIDCScopes = []string{ScopeOpenID, ScopeProfile, ScopeEmail, ScopeOfflineAccess}

// IsOIDCScope reports whether s is one of OIDCScopes.
func IsOIDCScope(s string) bool { return slices.Contains(OIDCScopes, s) }

// Scope is one permission an API defines.
type Scope struct {
	Value       string `json:"value"`
	Description string `json:"description,omitempty"`
}

// ResourceServer is an API (Auth0 "resource server"). Identifier is the audience.
type ResourceServer struct {
	ID                                        string  `json:"id,omitempty"`
	Identifier                                string  `json:"identifier"`
	Name                                      string  `json:"name"`
	Scopes                                    []Scope `json:"scopes"`
	TokenLifetime                             int     `json:"token_lifetime"` // access-token lifetime, seconds
	SkipConsentForVerifiableFirstPartyClients bool    `json:"skip_consent_for_verifiable_first_party_clients"`
	AllowOfflineAccess                        bool    `json:"allow_offline_access"`
	SigningAlg                                string  `json:"signing_alg"` // RS256 (default) or ES256
	// ProofOfPossession is Auth0's proof_of_possession: with Required, this
	// API's tokens are issued only to requests with a DPoP proof (RFC 9449).
	ProofOfPossession *ProofOfPossession `json:"proof_of_possession,omitempty"`
	// EnforcePolicies is Auth0's RBAC switch: a user's tokens for this API
	// carry only scopes among the user's current permissions on it (Role).
	EnforcePolicies bool `json:"enforce_policies"`
	// TokenDialect is Auth0's token_dialect (TokenDialects); the _authz
	// dialects add a permissions claim. Empty reads as access_token.
	TokenDialect string `json:"token_dialect,omitempty"`
}

// Auth0's token dialects. This server's access tokens are RFC 9068 tokens
// in every dialect; the _authz ones add the permissions claim.
const (
	DialectAccessToken      = "access_token"
	DialectAccessTokenAuthz = "access_token_authz"
	DialectRFC9068          = "rfc9068_profile"
	DialectRFC9068Authz     = "rfc9068_profile_authz"
)

// TokenDialects are the token_dialect values.
var TokenDialects = []string{DialectAccessToken, DialectAccessTokenAuthz, DialectRFC9068, DialectRFC9068Authz}

// PermissionsClaim reports whether the API's tokens carry a permissions
// claim (an _authz dialect, with RBAC on).
func (rs *ResourceServer) PermissionsClaim() bool {
	return rs.EnforcePolicies && strings.HasSuffix(rs.TokenDialect, "_authz")
}

// ProofOfPossession is an API's sender-constraining setting (Auth0 names);
// the mechanism here is "dpop".
type ProofOfPossession struct {
	Mechanism string `json:"mechanism"`
	Required  bool   `json:"required"`
}

// RequiresDPoP reports whether the API's tokens need a DPoP proof.
func (rs *ResourceServer) RequiresDPoP() bool {
	return rs.ProofOfPossession != nil && rs.ProofOfPossession.Required
}

// ReachableByMRRT reports whether refresh tokens issued for another API may
// reach this one through an MRRT policy: only APIs that allow skipping
// consent for first-party clients (Auth0: a policy audience must have
// "Allow Skipping User Consent" on). The admin API enforces it when a
// policy is written, the token endpoint at every exchange.
func (rs *ResourceServer) ReachableByMRRT() bool {
	return rs.SkipConsentForVerifiableFirstPartyClients
}

// HasScope reports whether the API defines scope s.
func (rs *ResourceServer) HasScope(s string) bool {
	for _, sc := range rs.Scopes {
		if sc.Value == s {
			return true
		}
	}
	return false
}

// Policy is one MRRT policy entry: the extra audience a refresh token may
// reach and the scopes it may carry there.
type Policy struct {
	Audience string   `json:"audience"`
	Scope    []string `json:"scope"`
}

// RefreshTokenConfig is a client's refresh_token object (Auth0
// ClientRefreshTokenConfiguration), including the MRRT policies.
type RefreshTokenConfig struct {
	RotationType              string   `json:"rotation_type"`
	ExpirationType            string   `json:"expiration_type"`
	Leeway                    int      `json:"leeway"`
	TokenLifetime             int      `json:"token_lifetime,omitempty"`
	IdleTokenLifetime         int      `json:"idle_token_lifetime,omitempty"`
	InfiniteTokenLifetime     bool     `json:"infinite_token_lifetime"`
	InfiniteIdleTokenLifetime bool     `json:"infinite_idle_token_lifetime"`
	Policies                  []Policy `json:"policies"` // nil: no MRRT policy
}

// Client is an application.
type Client struct {
	ClientID                string             `json:"client_id"`
	Name                    string             `json:"name"`
	AppType                 string             `json:"app_type"`
	IsFirstParty            bool               `json:"is_first_party"`
	Callbacks               []string           `json:"callbacks"`
	GrantTypes              []string           `json:"grant_types"`
	TokenEndpointAuthMethod string             `json:"token_endpoint_auth_method"`
	RefreshToken            RefreshTokenConfig `json:"refresh_token"`
	// AllowedOrigins and WebOrigins (Auth0's "Allowed Origins (CORS)" and
	// "Allowed Web Origins"): when either lists origins, only those get
	// CORS answers from the token and revocation endpoints for requests
	// naming this client. Empty: any origin (those endpoints use no cookies).
	AllowedOrigins []string `json:"allowed_origins,omitempty"`
	WebOrigins     []string `json:"web_origins,omitempty"`
	// AllowedLogoutURLs are where /v2/logout and /oidc/logout may send the
	// browser after ending the session (exact match).
	AllowedLogoutURLs []string `json:"allowed_logout_urls,omitempty"`
	// Auth0 application fields: descriptive ones stored as given, flags
	// whose Auth0 meaning this server always has (OIDC-conformant, no
	// cross-origin authentication: the login page is its own), and
	// SSODisabled, which makes /authorize ask for the password every time.
	Description               string `json:"description,omitempty"`
	LogoURI                   string `json:"logo_uri,omitempty"`
	InitiateLoginURI          string `json:"initiate_login_uri,omitempty"`
	CrossOriginAuthentication bool   `json:"cross_origin_authentication,omitempty"`
	OIDCConformant            bool   `json:"oidc_conformant,omitempty"`
	SSODisabled               bool   `json:"sso_disabled,omitempty"`
	// RequireProofOfPossession (Auth0's require_proof_of_possession): the
	// application gets tokens only with a DPoP proof (RFC 9449).
	RequireProofOfPossession bool `json:"require_proof_of_possession,omitempty"`
	// ClientAuthenticationMethods is Auth0's: which of Credentials the
	// client's private_key_jwt assertions are verified with (by id).
	ClientAuthenticationMethods *ClientAuthenticationMethods `json:"client_authentication_methods,omitempty"`
	// Credentials are the client's public keys, Auth0's client credentials
	// (/api/v2/clients/{id}/credentials): created there, or given in full in
	// client_authentication_methods at client creation, and used only once
	// client_authentication_methods names them.
	Credentials      []Credential      `json:"-"`
	JWTConfiguration *JWTConfiguration `json:"jwt_configuration,omitempty"`
	// SecretHash is HashToken(client_secret); empty for public clients.
	// Never serialized to clients of the admin API.
	SecretHash string `json:"-"`
}

// ClientAuthenticationMethods is Auth0's client_authentication_methods.
type ClientAuthenticationMethods struct {
	PrivateKeyJWT *PrivateKeyJWT `json:"private_key_jwt,omitempty"`
}

// PrivateKeyJWT names the credentials of private_key_jwt by id (one or
// two, so a key can be rotated without downtime, as in Auth0).
type PrivateKeyJWT struct {
	Credentials []Credential `json:"credentials"`
}

// Credential is a public key of a client (Auth0's client credential):
// credential_type public_key, a PEM public key, and the algorithm of the
// assertions it verifies (RS256, PS256 or ES256). In
// client_authentication_methods only ID is kept: a reference.
type Credential struct {
	ID             string     `json:"id,omitempty"`
	Name           string     `json:"name,omitempty"`
	CredentialType string     `json:"credential_type,omitempty"`
	PEM            string     `json:"pem,omitempty"`
	Alg            string     `json:"alg,omitempty"`
	CreatedAt      time.Time  `json:"created_at,omitzero"`
	UpdatedAt      time.Time  `json:"updated_at,omitzero"`
	ExpiresAt      *time.Time `json:"expires_at,omitempty"`
}

// MaxCredentials bounds a client's credentials (Credentials).
const MaxCredentials = 10

// isReference reports whether cr only names a credential by id.
func (cr Credential) isReference() bool {
	return cr == Credential{ID: cr.ID}
}

// Expired reports whether the credential has expired at now.
func (cr Credential) Expired(now time.Time) bool {
	return cr.ExpiresAt != nil && !now.Before(*cr.ExpiresAt)
}

// Credential returns the client's credential id, or nil.
func (c *Client) Credential(id string) *Credential {
	for i := range c.Credentials {
		if c.Credentials[i].ID == id {
			return &c.Credentials[i]
		}
	}
	return nil
}

// credentialRefs are the ids client_authentication_methods names.
func (c *Client) credentialRefs() []Credential {
	if c.ClientAuthenticationMethods == nil || c.ClientAuthenticationMethods.PrivateKeyJWT == nil {
		return nil
	}
	return c.ClientAuthenticationMethods.PrivateKeyJWT.Credentials
}

// AssertionKeys returns the credentials private_key_jwt uses: those
// client_authentication_methods names.
func (c *Client) AssertionKeys() []Credential {
	var out []Credential
	for _, ref := range c.credentialRefs() {
		if cr := c.Credential(ref.ID); cr != nil {
			out = append(out, *cr)
		}
	}
	return out
}

// AdoptInlineCredentials turns credentials given in full in
// client_authentication_methods (Auth0's client creation takes them so)
// into credentials of the client, named there by id; newID makes ids.
func (c *Client) AdoptInlineCredentials(now time.Time, newID func() (string, error)) error {
	refs := c.credentialRefs()
	for i, cr := range refs {
		if cr.isReference() {
			continue
		}
		if cr.ID == "" {
			id, err := newID()
			if err != nil {
				return err
			}
			cr.ID = "cred_" + id
		}
		if c.Credential(cr.ID) != nil {
			return fieldError(fmt.Sprintf("client_authentication_methods.private_key_jwt.credentials[%d].id", i), "a credential %s exists: name it by id alone", cr.ID)
		}
		cr.CreatedAt, cr.UpdatedAt = now, now
		c.Credentials = append(c.Credentials, cr)
		refs[i] = Credential{ID: cr.ID}
	}
	return nil
}

// JWTConfiguration is Auth0's jwt_configuration: Alg is the ID tokens'
// signing algorithm (RS256, the default, or ES256).
type JWTConfiguration struct {
	Alg string `json:"alg,omitempty"`
}

// IDTokenAlg is the algorithm of the client's ID tokens; "" is the
// signer's default.
func (c *Client) IDTokenAlg() string {
	if c.JWTConfiguration == nil {
		return ""
	}
	return c.JWTConfiguration.Alg
}

// AllowsOrigin reports whether the token endpoints may answer a browser
// request from origin naming this client: any origin when the client
// lists none, else only a listed one (exact match, as Auth0 compares).
func (c *Client) AllowsOrigin(origin string) bool {
	if len(c.AllowedOrigins) == 0 && len(c.WebOrigins) == 0 {
		return true
	}
	return slices.Contains(c.AllowedOrigins, origin) || slices.Contains(c.WebOrigins, origin)
}

// ParsePublicKeyPEM reads a credential's PEM public key: RSA of at least
// 2048 bits, or EC P-256.
func ParsePublicKeyPEM(s string) (crypto.PublicKey, error) {
	block, _ := pem.Decode([]byte(s))
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	key, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, errors.New("not a PKIX public key")
	}
	switch k := key.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return nil, errors.New("RSA keys need at least 2048 bits")
		}
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return nil, errors.New("EC keys must be P-256")
		}
	default:
		return nil, fmt.Errorf("unsupported key type %T", key)
	}
	return key, nil
}

// IsPublic reports whether the client authenticates with no secret.
func (c *Client) IsPublic() bool { return c.TokenEndpointAuthMethod == AuthMethodNone }

// AllowsGrant reports whether grant type gt is enabled for the client.
func (c *Client) AllowsGrant(gt string) bool { return slices.Contains(c.GrantTypes, gt) }

// Rotates reports whether refresh tokens rotate on every exchange; public
// clients always rotate (RFC 9700 §4.14.2).
func (c *Client) Rotates() bool {
	return c.IsPublic() || c.RefreshToken.RotationType == RotationRotating
}

// ClientGrant allows a client the client_credentials grant for one audience.
type ClientGrant struct {
	ID       string   `json:"id"`
	ClientID string   `json:"client_id"`
	Audience string   `json:"audience"`
	Scope    []string `json:"scope"`
}

// User is an end user who signs in on the login page.
type User struct {
	UserID        string `json:"user_id"`
	Email         string `json:"email"`
	EmailVerified bool   `json:"email_verified"`
	Name          string `json:"name,omitempty"`
	Nickname      string `json:"nickname,omitempty"`
	GivenName     string `json:"given_name,omitempty"`
	FamilyName    string `json:"family_name,omitempty"`
	Picture       string `json:"picture,omitempty"`
	Blocked       bool   `json:"blocked"`
	// PasswordHash is an argon2id PHC string; never serialized.
	PasswordHash string    `json:"-"`
	CreatedAt    time.Time `json:"created_at"`
	// UpdatedAt is when the profile last changed; zero reads as CreatedAt.
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// AuthCode is an authorization code, stored under Hash = HashToken(code).
type AuthCode struct {
	Hash                string
	ClientID            string
	RedirectURI         string
	CodeChallenge       string // RFC 7636, S256 only
	CodeChallengeMethod string
	Audience            string
	Scopes              []string
	Nonce               string
	UserID              string
	AuthTime            time.Time
	ExpiresAt           time.Time
	// Used and FamilyID are set by RedeemCode: a replayed code revokes the
	// family it produced (RFC 6749 §4.1.2).
	Used     bool
	FamilyID string
	// InDoubt is set by SettleRedemption: the redemption was applied but
	// its answer may never have reached the client, so the client's retry
	// with the same code is served again instead of taken for a replay.
	InDoubt bool
	// DPoPJKT is the dpop_jkt of the authorization request (RFC 9449 §10):
	// the code may only be redeemed with a proof of that key.
	DPoPJKT string
}

// Family is a grant: the user's consent to a client, from which one chain of
// refresh tokens descends. All rotation and revocation state lives here, so
// one conditional write on the family serializes every exchange.
type Family struct {
	ID       string
	ClientID string
	UserID   string
	Audience string   // original audience
	Scopes   []string // original scopes; never narrowed by an exchange
	AuthTime time.Time
	// CreatedAt is when the first refresh token was issued.
	CreatedAt time.Time
	// ExpiresAt is the absolute expiry, fixed at issue; zero means none.
	ExpiresAt time.Time
	// IdleExpiresAt restarts on every exchange; zero means none.
	IdleExpiresAt time.Time
	// Generation of the current head token (0 for the first).
	Generation int
	// HeadHash is HashToken of the only refresh token that may rotate.
	HeadHash string
	// PrevHash is HashToken of the head's immediate predecessor, and
	// RotatedAt when it was rotated (for the client's leeway).
	PrevHash  string
	RotatedAt time.Time
	// InDoubt is the generation of a head whose rotation was applied but
	// whose answer may never have reached the client (SettleAdvance): its
	// predecessor may fetch it again until it rotates. 0: none.
	InDoubt int
	// LastUsedAt is the time of the last successful exchange.
	LastUsedAt   time.Time
	Revoked      bool
	RevokedAt    time.Time
	RevokeReason string
	// DPoPJKT binds the family to a client key (RFC 9449 §5): every
	// exchange must carry a DPoP proof signed with the key of this RFC 7638
	// thumbprint. Set for public clients that presented a proof at the code
	// exchange; empty: not bound.
	DPoPJKT string
}

// Active reports whether the family can still be exchanged at now.
func (f *Family) Active(now time.Time) bool {
	if f.Revoked {
		return false
	}
	if !f.ExpiresAt.IsZero() && !now.Before(f.ExpiresAt) {
		return false
	}
	if !f.IdleExpiresAt.IsZero() && !now.Before(f.IdleExpiresAt) {
		return false
	}
	return true
}

// Advance moves a family's head from FromHash to ToHash. For a
// non-rotating client FromHash == ToHash and only the idle expiry moves.
//
// UserID and CreatedAt are the family's: the store checks the user's
// revocation marker (UserRevocation) in the same atomic step.
type Advance struct {
	UserID        string
	CreatedAt     time.Time
	FromHash      string
	ToHash        string
	Generation    int // the new head's generation
	Now           time.Time
	IdleExpiresAt time.Time
}

// UserRevocation is the per-user marker that every commit issuing or
// renewing a refresh token checks atomically with its write (RedeemCode
// with a family, AdvanceFamily): no family of a blocked user is created or
// advanced, and no family created at or before NotBefore is advanced. It is
// what makes a block, a deletion or "revoke all" reach families that a
// concurrent code exchange created after the administrator listed them
// (FamiliesByUser may be eventually consistent). A user without a marker
// is not revoked.
type UserRevocation struct {
	Blocked   bool
	NotBefore time.Time // families created at or before it are dead; zero: none
}

// Admits reports whether a family of the user created at createdAt may be
// created or advanced.
func (r *UserRevocation) Admits(createdAt time.Time) bool {
	return r == nil || (!r.Blocked && (r.NotBefore.IsZero() || createdAt.After(r.NotBefore)))
}

// Session is a browser sign-in, stored under Hash = HashToken(cookie value).
type Session struct {
	Hash      string
	UserID    string
	AuthTime  time.Time
	ExpiresAt time.Time
}

// Consent records a user's decision to let a client reach an audience.
type Consent struct {
	UserID    string
	ClientID  string
	Audience  string
	Scopes    []string
	GrantedAt time.Time
}

// TokenResponse is the body of a successful token response (RFC 6749 §5.1).
type TokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int    `json:"expires_in"`
	Scope        string `json:"scope"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
}
