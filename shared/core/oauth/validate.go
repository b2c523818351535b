package oauth

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"
)

// The validation rules of the configuration: the one home of each rule.
// The admin API and the seed loader apply them and only translate a
// *FieldError into their own error shapes; the token and authorization
// endpoints parse audience and resource with ResourceParam.

// Limits from Auth0's Management API schemas where it has them.
const (
	MaxNameLen          = 200
	MaxIdentifierLen    = 600 // resource server identifier, policy audience
	MaxScopeLen         = 280 // one scope value
	MaxScopeDescLen     = 500
	MaxURLLen           = 2048
	MaxURLs             = 100 // callbacks, origins, logout URLs: each list
	MaxEmailLen         = 254 // RFC 5321 §4.5.3.1.3 path limit less the brackets
	MaxUserNameLen      = 300
	MinPasswordLen      = 8
	MaxPasswordLen      = 1024 // bytes; argon2id takes any length, this bounds the work
	MaxAPITokenLifetime = 2592000
	// DefaultAPITokenLifetime is an API's access-token lifetime when none is set.
	DefaultAPITokenLifetime = 86400
	// DefaultTokenLifetime and DefaultIdleTokenLifetime are Auth0's
	// refresh-token lifetimes (30 days absolute, 15 days idle).
	DefaultTokenLifetime     = 2592000
	DefaultIdleTokenLifetime = 1296000
)

// AppTypes, AuthMethods and GrantTypes are the values the server supports.
var (
	AppTypes    = []string{AppTypeSPA, AppTypeNative, AppTypeRegularWeb, AppTypeNonInteractive}
	AuthMethods = []string{AuthMethodNone, AuthMethodClientSecretPost, AuthMethodClientSecretBasic, AuthMethodPrivateKeyJWT}
	GrantTypes  = []string{GrantTypeAuthorizationCode, GrantTypeRefreshToken, GrantTypeClientCredentials}
)

// FieldError is a value that breaks a rule. Field is its path in the
// Management API's JSON ("refresh_token.policies[0].audience").
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Message }

func fieldError(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}

// AsFieldError returns err's *FieldError, if it has one.
func AsFieldError(err error) (*FieldError, bool) {
	var fe *FieldError
	ok := errors.As(err, &fe)
	return fe, ok
}

func oneOf(field, v string, allowed ...string) error {
	if slices.Contains(allowed, v) {
		return nil
	}
	return fieldError(field, "must be one of %s", strings.Join(allowed, ", "))
}

// CheckName: 1 to MaxNameLen characters, no control characters and, as in
// Auth0, no < or >.
func CheckName(field, s string) error {
	switch n := utf8.RuneCountInString(s); {
	case n == 0:
		return fieldError(field, "must not be empty")
	case n > MaxNameLen:
		return fieldError(field, "must have at most %d characters", MaxNameLen)
	case !utf8.ValidString(s) || strings.ContainsFunc(s, isControl) || strings.ContainsAny(s, "<>"):
		return fieldError(field, "must not contain control characters, < or >")
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

func isSpaceOrControl(r rune) bool { return r <= 0x20 || r == 0x7f }

// URLKind is what a registered URL of an application is for.
type URLKind int

const (
	// CallbackURL is a redirect URI: compared by exact string match at
	// /authorize (RFC 9700 §4.1.1), so no wildcards, no fragment (RFC 6749
	// §3.1.2), https, or http on a local development host.
	CallbackURL URLKind = iota
	// LogoutURL is where logout may send the browser: exact match, like a
	// callback.
	LogoutURL
	// OriginURL is a web origin (RFC 6454): scheme, host and port only.
	OriginURL
)

// IsLocalDevHost reports whether host is one a developer's machine serves:
// localhost and the loopback addresses. http is allowed for these, by
// exact match, for every application type, as Auth0 allows it; any-port
// matching stays for native apps only (RFC 8252 §7.3).
func IsLocalDevHost(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

// CheckURL enforces the rules of a registered URL of kind for an
// application of appType (its any-port rule lives at /authorize).
func CheckURL(field, raw string, kind URLKind, appType string) error {
	if len(raw) > MaxURLLen {
		return fieldError(field, "must have at most %d characters", MaxURLLen)
	}
	if strings.Contains(raw, "*") {
		return fieldError(field, "must not contain a wildcard (*)")
	}
	if strings.Contains(raw, "#") {
		return fieldError(field, "must not contain a fragment (#)")
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" || strings.ContainsFunc(raw, isSpaceOrControl) {
		return fieldError(field, "must be an absolute URL")
	}
	if u.User != nil {
		return fieldError(field, "must not contain user information")
	}
	if kind == OriginURL && (u.Path != "" || u.RawQuery != "" || u.ForceQuery) {
		return fieldError(field, "must be an origin: scheme, host and port only, no path")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if !IsLocalDevHost(u.Hostname()) {
			return fieldError(field, "must use https (http only for localhost, 127.0.0.1 and [::1])")
		}
		return nil
	}
	return fieldError(field, "must use https (or http for localhost, 127.0.0.1 and [::1])")
}

// CheckURLList checks a list of registered URLs of one kind: at most
// MaxURLs, each valid, none twice.
func CheckURLList(field string, urls []string, kind URLKind, appType string) error {
	if len(urls) > MaxURLs {
		return fieldError(field, "must have at most %d entries", MaxURLs)
	}
	for i, u := range urls {
		f := fmt.Sprintf("%s[%d]", field, i)
		if err := CheckURL(f, u, kind, appType); err != nil {
			return err
		}
		if slices.Index(urls, u) != i {
			return fieldError(f, "duplicate URL (each may be registered once)")
		}
	}
	return nil
}

// CheckIdentifier: an API identifier is the audience of its tokens and the
// resource indicator clients send, so an absolute URI without a fragment
// (RFC 8707 §2).
func CheckIdentifier(field, id string) error {
	switch {
	case id == "":
		return fieldError(field, "must not be empty")
	case len(id) > MaxIdentifierLen:
		return fieldError(field, "must have at most %d characters", MaxIdentifierLen)
	case strings.ContainsFunc(id, isSpaceOrControl) || strings.Contains(id, "*"):
		return fieldError(field, "must not contain spaces, control characters or *")
	case strings.Contains(id, "#"):
		return fieldError(field, "must not contain a fragment (#)")
	}
	if u, err := url.Parse(id); err != nil || !u.IsAbs() {
		return fieldError(field, "must be an absolute URI (RFC 8707 §2)")
	}
	return nil
}

// CheckScopeValue: a scope-token of RFC 6749 §3.3, at most MaxScopeLen long.
func CheckScopeValue(field, s string) error {
	if s == "" || len(s) > MaxScopeLen {
		return fieldError(field, "must have 1 to %d characters", MaxScopeLen)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c == '"' || c == '\\' || c > 0x7e {
			return fieldError(field, "must be printable ASCII without spaces, \" or \\ (RFC 6749 §3.3)")
		}
	}
	return nil
}

// CheckScopeList checks a list of scope values for a target API: each must
// be defined on rs and appear once.
func CheckScopeList(field string, scopes []string, rs *ResourceServer) error {
	seen := map[string]bool{}
	for i, s := range scopes {
		f := fmt.Sprintf("%s[%d]", field, i)
		if err := CheckScopeValue(f, s); err != nil {
			return err
		}
		if seen[s] {
			return fieldError(f, "duplicate scope %q", s)
		}
		seen[s] = true
		if !rs.HasScope(s) {
			return fieldError(f, "scope %q is not defined on the API %q", s, rs.Identifier)
		}
	}
	return nil
}

// CheckEmail: one plain address, name@domain.
func CheckEmail(field, email string) error {
	a, err := mail.ParseAddress(email)
	if len(email) > MaxEmailLen || err != nil || a.Name != "" || a.Address != email || !strings.Contains(email, "@") {
		return fieldError(field, "must be an email address (name@example.com)")
	}
	return nil
}

// CheckUserName bounds a user's display name.
func CheckUserName(field, name string) error {
	if utf8.RuneCountInString(name) > MaxUserNameLen || !utf8.ValidString(name) {
		return fieldError(field, "must have at most %d characters", MaxUserNameLen)
	}
	return nil
}

// CheckPassword bounds a new password.
func CheckPassword(field, pw string) error {
	switch {
	case utf8.RuneCountInString(pw) < MinPasswordLen:
		return fieldError(field, "must have at least %d characters", MinPasswordLen)
	case len(pw) > MaxPasswordLen:
		return fieldError(field, "must have at most %d bytes", MaxPasswordLen)
	case !utf8.ValidString(pw):
		return fieldError(field, "must be valid UTF-8")
	}
	return nil
}

// DefaultRefreshConfig is the refresh_token of a new client: public clients
// rotate and expire (RFC 9700 §4.14.2), confidential ones neither.
func DefaultRefreshConfig(public bool) RefreshTokenConfig {
	if public {
		return RefreshTokenConfig{
			RotationType:      RotationRotating,
			ExpirationType:    ExpirationExpiring,
			TokenLifetime:     DefaultTokenLifetime,
			IdleTokenLifetime: DefaultIdleTokenLifetime,
		}
	}
	return RefreshTokenConfig{
		RotationType:              RotationNonRotating,
		ExpirationType:            ExpirationNever,
		TokenLifetime:             DefaultTokenLifetime,
		IdleTokenLifetime:         DefaultIdleTokenLifetime,
		InfiniteTokenLifetime:     true,
		InfiniteIdleTokenLifetime: true,
	}
}

// FillLifetimes gives the lifetimes that apply but were never set Auth0's
// defaults; the idle lifetime never exceeds the absolute one.
func (cfg *RefreshTokenConfig) FillLifetimes() {
	if !cfg.InfiniteTokenLifetime && cfg.TokenLifetime == 0 {
		cfg.TokenLifetime = DefaultTokenLifetime
	}
	if !cfg.InfiniteIdleTokenLifetime && cfg.IdleTokenLifetime == 0 {
		cfg.IdleTokenLifetime = DefaultIdleTokenLifetime
		if !cfg.InfiniteTokenLifetime {
			cfg.IdleTokenLifetime = min(DefaultIdleTokenLifetime, cfg.TokenLifetime)
		}
	}
}

// ApplyDefaults fills what a new client left out, by app type, as Auth0
// does: browser and native apps are public clients with the code flow;
// machine-to-machine clients are confidential with client_credentials.
func (c *Client) ApplyDefaults() {
	if c.AppType == "" {
		c.AppType = AppTypeRegularWeb
	}
	if c.TokenEndpointAuthMethod == "" {
		switch c.AppType {
		case AppTypeSPA, AppTypeNative:
			c.TokenEndpointAuthMethod = AuthMethodNone
		default:
			c.TokenEndpointAuthMethod = AuthMethodClientSecretPost
		}
	}
	if c.GrantTypes == nil {
		if c.AppType == AppTypeNonInteractive {
			c.GrantTypes = []string{GrantTypeClientCredentials}
		} else {
			c.GrantTypes = []string{GrantTypeAuthorizationCode, GrantTypeRefreshToken}
		}
	}
	if c.Callbacks == nil {
		c.Callbacks = []string{}
	}
	cfg := &c.RefreshToken
	if cfg.RotationType == "" && cfg.ExpirationType == "" {
		policies := cfg.Policies
		*cfg = DefaultRefreshConfig(c.IsPublic())
		cfg.Policies = policies
	}
	// A non-expiring token has neither lifetime (Auth0 derives both
	// infinite_* flags from expiration_type).
	if cfg.ExpirationType == ExpirationNever {
		cfg.InfiniteTokenLifetime, cfg.InfiniteIdleTokenLifetime = true, true
	}
	cfg.FillLifetimes()
}

// ApplyDefaults fills an API's optional settings.
func (rs *ResourceServer) ApplyDefaults() {
	if rs.TokenLifetime == 0 {
		rs.TokenLifetime = DefaultAPITokenLifetime
	}
	if rs.SigningAlg == "" {
		rs.SigningAlg = AlgRS256
	}
	if rs.Scopes == nil {
		rs.Scopes = []Scope{}
	}
}

// ValidateClient checks every rule on a client as it is stored, but the
// references of its MRRT policies (ValidatePolicyRefs). adminAudience is
// the admin API's audience, which no policy may name.
func ValidateClient(c *Client, adminAudience string) error {
	if err := CheckName("name", c.Name); err != nil {
		return err
	}
	if err := oneOf("app_type", c.AppType, AppTypes...); err != nil {
		return err
	}
	if err := oneOf("token_endpoint_auth_method", c.TokenEndpointAuthMethod, AuthMethods...); err != nil {
		return err
	}
	for i, gt := range c.GrantTypes {
		f := fmt.Sprintf("grant_types[%d]", i)
		if err := oneOf(f, gt, GrantTypes...); err != nil {
			return err
		}
		if slices.Index(c.GrantTypes, gt) != i {
			return fieldError(f, "duplicate grant type %q", gt)
		}
		// RFC 6749 §4.4: client credentials are for confidential clients only.
		if gt == GrantTypeClientCredentials && c.IsPublic() {
			return fieldError(f, "client_credentials is not allowed for public clients (token_endpoint_auth_method none)")
		}
	}
	if len(c.Callbacks) > 0 && c.AppType == AppTypeNonInteractive {
		return fieldError("callbacks", "must be empty for non_interactive (machine-to-machine) clients")
	}
	if err := CheckURLList("callbacks", c.Callbacks, CallbackURL, c.AppType); err != nil {
		return err
	}
	if err := CheckURLList("allowed_logout_urls", c.AllowedLogoutURLs, LogoutURL, c.AppType); err != nil {
		return err
	}
	if err := CheckURLList("allowed_origins", c.AllowedOrigins, OriginURL, c.AppType); err != nil {
		return err
	}
	if err := CheckURLList("web_origins", c.WebOrigins, OriginURL, c.AppType); err != nil {
		return err
	}
	if err := validateAuth0Fields(c); err != nil {
		return err
	}
	if err := validateCredentials(c); err != nil {
		return err
	}
	if err := validateRefreshConfig(c); err != nil {
		return err
	}
	return validatePolicyShape(c, adminAudience)
}

// validateCredentials checks the client's credentials (each a public key
// fit for its algorithm) and private_key_jwt: one or two of them, named by
// id, exactly when the client authenticates that way.
func validateCredentials(c *Client) error {
	refs := c.credentialRefs()
	const f = "client_authentication_methods.private_key_jwt.credentials"
	switch {
	case c.TokenEndpointAuthMethod == AuthMethodPrivateKeyJWT && (len(refs) == 0 || len(refs) > 2):
		return fieldError(f, "must name one or two credentials for token_endpoint_auth_method private_key_jwt")
	case c.TokenEndpointAuthMethod != AuthMethodPrivateKeyJWT && len(refs) > 0:
		return fieldError(f, "are used only with token_endpoint_auth_method private_key_jwt")
	}
	for i, ref := range refs {
		switch {
		case !ref.isReference():
			return fieldError(fmt.Sprintf("%s[%d]", f, i), "must name a credential by id alone")
		case c.Credential(ref.ID) == nil:
			return fieldError(fmt.Sprintf("%s[%d].id", f, i), "names no credential of this client")
		case slices.IndexFunc(refs[:i], func(r Credential) bool { return r.ID == ref.ID }) >= 0:
			return fieldError(fmt.Sprintf("%s[%d].id", f, i), "is named twice")
		}
	}
	return ValidateCredentials(c.Credentials)
}

// ValidateCredentials checks a client's credentials: at most
// MaxCredentials, unique ids, each a public key fit for its algorithm.
func ValidateCredentials(creds []Credential) error {
	const f = "credentials"
	if len(creds) > MaxCredentials {
		return fieldError(f, "at most %d per client", MaxCredentials)
	}
	for i, cr := range creds {
		fi := fmt.Sprintf("%s[%d]", f, i)
		if cr.ID == "" || slices.IndexFunc(creds[:i], func(o Credential) bool { return o.ID == cr.ID }) >= 0 {
			return fieldError(fi+".id", "must be set and unique")
		}
		if n := len([]rune(cr.Name)); n > 128 || strings.ContainsFunc(cr.Name, isControl) {
			return fieldError(fi+".name", "must have at most 128 characters and no control characters")
		}
		if cr.CredentialType != "public_key" {
			return fieldError(fi+".credential_type", "must be public_key")
		}
		key, err := ParsePublicKeyPEM(cr.PEM)
		if err != nil {
			return fieldError(fi+".pem", "%v", err)
		}
		_, isRSA := key.(*rsa.PublicKey)
		switch {
		case isRSA && cr.Alg != AlgRS256 && cr.Alg != "PS256":
			return fieldError(fi+".alg", "must be RS256 or PS256 for an RSA key")
		case !isRSA && cr.Alg != AlgES256:
			return fieldError(fi+".alg", "must be ES256 for an EC key")
		}
	}
	return nil
}

// validateAuth0Fields checks the descriptive Auth0 application fields.
func validateAuth0Fields(c *Client) error {
	if n := len([]rune(c.Description)); n > 140 || strings.ContainsFunc(c.Description, isControl) {
		return fieldError("description", "must have at most 140 characters and no control characters")
	}
	for _, f := range []struct{ name, v string }{{"logo_uri", c.LogoURI}, {"initiate_login_uri", c.InitiateLoginURI}} {
		if f.v == "" {
			continue
		}
		if u, err := url.Parse(f.v); err != nil || u.Scheme != "https" || u.Host == "" || len(f.v) > MaxURLLen || strings.ContainsFunc(f.v, isSpaceOrControl) {
			return fieldError(f.name, "must be an absolute https URL")
		}
	}
	if c.JWTConfiguration != nil {
		if err := oneOf("jwt_configuration.alg", c.JWTConfiguration.Alg, AlgRS256, AlgES256); err != nil {
			return err
		}
	}
	return nil
}

const rt = "refresh_token."

// validateRefreshConfig applies Auth0's bounds to the refresh_token object.
func validateRefreshConfig(c *Client) error {
	cfg := &c.RefreshToken
	if err := oneOf(rt+"rotation_type", cfg.RotationType, RotationRotating, RotationNonRotating); err != nil {
		return err
	}
	if err := oneOf(rt+"expiration_type", cfg.ExpirationType, ExpirationExpiring, ExpirationNever); err != nil {
		return err
	}
	expiring := cfg.ExpirationType == ExpirationExpiring
	switch {
	case cfg.RotationType == RotationRotating && !expiring:
		return fieldError(rt+"expiration_type", "must be expiring when rotation_type is rotating")
	case expiring && cfg.InfiniteTokenLifetime:
		return fieldError(rt+"infinite_token_lifetime", "must be false when expiration_type is expiring")
	case !expiring && !cfg.InfiniteTokenLifetime:
		return fieldError(rt+"infinite_token_lifetime", "must be true when expiration_type is non-expiring")
	case !expiring && !cfg.InfiniteIdleTokenLifetime:
		return fieldError(rt+"infinite_idle_token_lifetime", "must be true when expiration_type is non-expiring")
	case c.IsPublic() && cfg.RotationType != RotationRotating:
		// RFC 9700 §4.14.2: a public client's refresh tokens must rotate.
		return fieldError(rt+"rotation_type", "must be rotating for public clients (token_endpoint_auth_method none)")
	case cfg.Leeway < 0:
		return fieldError(rt+"leeway", "must be at least 0")
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"token_lifetime", cfg.TokenLifetime}, {"idle_token_lifetime", cfg.IdleTokenLifetime}} {
		if f.v < 0 || f.v > MaxLifetimeSeconds {
			return fieldError(rt+f.name, "must be between 1 and %d seconds", MaxLifetimeSeconds)
		}
	}
	if expiring && !cfg.InfiniteIdleTokenLifetime && cfg.IdleTokenLifetime > cfg.TokenLifetime {
		return fieldError(rt+"idle_token_lifetime", "must not exceed token_lifetime (%d)", cfg.TokenLifetime)
	}
	return nil
}

// validatePolicyShape enforces the MRRT limits that need no other entry
// (Auth0 documents only that the token endpoint ignores bad entries; we
// refuse them when written): first-party clients only; never the admin
// API; no duplicate audience; at least one scope each; null, not [], to
// have none.
func validatePolicyShape(c *Client, adminAudience string) error {
	ps := c.RefreshToken.Policies
	if ps != nil && len(ps) == 0 {
		return fieldError(rt+"policies", "must have at least one entry, or be null to remove the policy")
	}
	if len(ps) > 0 && !c.IsFirstParty {
		return fieldError(rt+"policies", "are allowed only on first-party clients (is_first_party true)")
	}
	seen := map[string]bool{}
	for i, p := range ps {
		f := fmt.Sprintf("%spolicies[%d]", rt, i)
		if len(p.Audience) == 0 || len(p.Audience) > MaxIdentifierLen {
			return fieldError(f+".audience", "must have 1 to %d characters", MaxIdentifierLen)
		}
		if p.Audience == adminAudience {
			return fieldError(f+".audience", "the admin API %q can never be in a policy", p.Audience)
		}
		if seen[p.Audience] {
			return fieldError(f+".audience", "duplicate audience %q", p.Audience)
		}
		seen[p.Audience] = true
		if len(p.Scope) == 0 {
			return fieldError(f+".scope", "must list at least one scope")
		}
	}
	return nil
}

// ValidatePolicyRefs checks that each MRRT policy of c names an API that
// exists, allows skipping consent for first-party clients (Auth0: MRRT only
// reaches such APIs) and defines each scope. api returns ErrNotFound for an
// unknown audience; other errors are returned as they are.
func ValidatePolicyRefs(c *Client, api func(audience string) (*ResourceServer, error)) error {
	for i, p := range c.RefreshToken.Policies {
		f := fmt.Sprintf("%spolicies[%d]", rt, i)
		rs, err := api(p.Audience)
		if errors.Is(err, ErrNotFound) {
			return fieldError(f+".audience", "no API has the identifier %q", p.Audience)
		} else if err != nil {
			return err
		}
		if !rs.ReachableByMRRT() {
			return fieldError(f+".audience", "the API %q does not allow skipping consent for first-party clients (skip_consent_for_verifiable_first_party_clients)", p.Audience)
		}
		if err := CheckScopeList(f+".scope", p.Scope, rs); err != nil {
			return err
		}
	}
	return nil
}

// ValidateResourceServer checks an API as it is stored. The admin API
// (adminAudience) must keep adminScopes, or no admin token could carry them
// and the API would lock itself out.
func ValidateResourceServer(rs *ResourceServer, adminAudience string, adminScopes []string) error {
	if err := CheckIdentifier("identifier", rs.Identifier); err != nil {
		return err
	}
	if err := CheckName("name", rs.Name); err != nil {
		return err
	}
	if rs.TokenLifetime < 1 || rs.TokenLifetime > MaxAPITokenLifetime {
		return fieldError("token_lifetime", "must be between 1 and %d seconds", MaxAPITokenLifetime)
	}
	if err := oneOf("signing_alg", rs.SigningAlg, AlgRS256, AlgES256); err != nil {
		return err
	}
	if rs.ProofOfPossession != nil && rs.ProofOfPossession.Mechanism != "dpop" {
		return fieldError("proof_of_possession.mechanism", "must be dpop (mTLS sender-constraining is not offered)")
	}
	if rs.TokenDialect != "" {
		if err := oneOf("token_dialect", rs.TokenDialect, TokenDialects...); err != nil {
			return err
		}
		if strings.HasSuffix(rs.TokenDialect, "_authz") && !rs.EnforcePolicies {
			// Auth0: the permissions claim comes with RBAC.
			return fieldError("token_dialect", "%s adds the permissions claim, which needs enforce_policies", rs.TokenDialect)
		}
	}
	if rs.Identifier == adminAudience && rs.EnforcePolicies {
		return fieldError("enforce_policies", "the admin API takes client-credentials tokens only; RBAC applies to users")
	}
	seen := map[string]bool{}
	for i, s := range rs.Scopes {
		f := fmt.Sprintf("scopes[%d]", i)
		if err := CheckScopeValue(f+".value", s.Value); err != nil {
			return err
		}
		if IsOIDCScope(s.Value) {
			return fieldError(f+".value", "%q is an OpenID Connect scope, which every API accepts; it cannot be defined", s.Value)
		}
		if seen[s.Value] {
			return fieldError(f+".value", "duplicate scope %q", s.Value)
		}
		seen[s.Value] = true
		if utf8.RuneCountInString(s.Description) > MaxScopeDescLen {
			return fieldError(f+".description", "must have at most %d characters", MaxScopeDescLen)
		}
	}
	if rs.Identifier == adminAudience {
		for _, s := range adminScopes {
			if !rs.HasScope(s) {
				return fieldError("scopes", "the admin API must define %q", s)
			}
		}
	}
	return nil
}

// ValidateClientGrant checks a client-credentials grant of client c for
// the API rs.
func ValidateClientGrant(g *ClientGrant, c *Client, rs *ResourceServer) error {
	if c.IsPublic() {
		return fieldError("client_id", "public clients cannot use client_credentials (RFC 6749 §4.4)")
	}
	if !c.AllowsGrant(GrantTypeClientCredentials) {
		return fieldError("client_id", "the client does not have the client_credentials grant type")
	}
	return CheckScopeList("scope", g.Scope, rs)
}

// ResourceParam returns the audience a token or authorization request
// names: Auth0's audience or RFC 8707's resource, one value each (the form
// parsers refuse repeats). A resource must be an absolute URI without a
// fragment (RFC 8707 §2: invalid_target); audience and resource both given
// and different is invalid_request. "" when neither is given.
func ResourceParam(audience, resource string) (string, error) {
	if resource != "" {
		if u, err := url.Parse(resource); err != nil || !u.IsAbs() || u.Fragment != "" || strings.Contains(resource, "#") {
			return "", Errorf(InvalidTarget, "resource must be an absolute URI without a fragment")
		}
	}
	if audience != "" && resource != "" && audience != resource {
		return "", Errorf(InvalidRequest, "audience and resource name different APIs")
	}
	if audience != "" {
		return audience, nil
	}
	return resource, nil
}
