package authorize

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/protocol/httpx"
)

// request is a validated authorization request.
type request struct {
	// raw is the query it came from (its known parameters), carried through
	// the login and consent forms and validated again on every POST: the
	// forms are not trusted.
	raw         string
	client      *oauth.Client
	redirectURI string
	state       string // "" when not sent
	api         *oauth.ResourceServer
	scopes      []string // cut to what the API and OIDC define
	challenge   string
	nonce       string
	dpopJKT     string // RFC 9449 §10; "" when not sent
	prompt      string // "", promptNone or promptLogin
	maxAge      int    // seconds; -1 when not sent
}

const (
	promptNone  = "none"
	promptLogin = "login"
)

// Caps on echoed or stored values; a longer value is refused cleanly
// rather than truncated.
const (
	maxStateLen    = 4096
	maxNonceLen    = 1024
	maxScopeLen    = 2048
	maxAudienceLen = 2048
	maxAgeDigits   = 9
)

// params are the parameters this endpoint reads; others are ignored
// (RFC 6749 §3.1), even when repeated.
var params = []string{
	"response_type", "response_mode", "client_id", "redirect_uri", "state", "scope", "audience", "resource",
	"code_challenge", "code_challenge_method", "nonce", "prompt", "max_age", "dpop_jkt",
}

// parseRequest validates an authorization request. On error, a nil request
// means the error must be shown on a page: the client or its redirect URI
// is unknown, so nothing may be redirected (RFC 6749 §4.1.2.1, OAuth 2.1
// §4.1.2.1). Otherwise the error goes to the returned request's redirect
// URI (which is then the only field to rely on, with state).
func (h *handler) parseRequest(ctx context.Context, raw string) (*request, error) {
	q, err := url.ParseQuery(raw)
	if err != nil {
		// ParseQuery returns a partial map with the error; never use it.
		return nil, oauth.Errorf(oauth.InvalidRequest, "the request is malformed")
	}
	single := func(name string) (string, bool) {
		v := q[name]
		return strings.Join(v, ""), len(v) <= 1
	}

	clientID, ok := single("client_id")
	switch {
	case !ok:
		return nil, oauth.Errorf(oauth.InvalidRequest, "client_id is repeated")
	case clientID == "":
		return nil, oauth.Errorf(oauth.InvalidRequest, "client_id is missing")
	}
	client, err := h.d.Clients.Client(ctx, clientID)
	if errors.Is(err, oauth.ErrNotFound) {
		return nil, oauth.Errorf(oauth.InvalidRequest, "the application is unknown")
	} else if err != nil {
		return nil, fmt.Errorf("authorize: read client: %w", err)
	}

	// OIDC Core §3.1.2.1 requires redirect_uri always; so do we, even for a
	// client with one registered URI.
	redirectURI, ok := single("redirect_uri")
	switch {
	case !ok:
		return nil, oauth.Errorf(oauth.InvalidRequest, "redirect_uri is repeated")
	case redirectURI == "":
		return nil, oauth.Errorf(oauth.InvalidRequest, "redirect_uri is missing")
	case !redirectAllowed(client, redirectURI):
		return nil, oauth.Errorf(oauth.InvalidRequest, "redirect_uri is not registered for the application")
	}

	// From here on errors go back to the client. The forms carry only the
	// parameters read here, re-encoded (values unchanged).
	known := url.Values{}
	for _, name := range params {
		if v, ok := q[name]; ok {
			known[name] = v
		}
	}
	req := &request{raw: known.Encode(), client: client, redirectURI: redirectURI, maxAge: -1}
	if state, ok := single("state"); ok && len(state) <= maxStateLen {
		req.state = state
	}
	for _, name := range params {
		if len(q[name]) > 1 {
			return req, oauth.Errorf(oauth.InvalidRequest, "%s is repeated", name)
		}
		if !utf8.ValidString(q.Get(name)) {
			return req, oauth.Errorf(oauth.InvalidRequest, "%s is not UTF-8", name)
		}
	}
	if len(q.Get("state")) > maxStateLen {
		return req, oauth.Errorf(oauth.InvalidRequest, "state is too long")
	}

	switch rt := q.Get("response_type"); rt {
	case "code":
	case "":
		return req, oauth.Errorf(oauth.InvalidRequest, "response_type is missing")
	default:
		// No implicit or hybrid flows (OAuth 2.1 §10.1, RFC 9700 §2.1.2).
		return req, oauth.Errorf(oauth.UnsupportedResponseType, "only response_type code is supported")
	}
	if rm := q.Get("response_mode"); rm != "" && rm != "query" {
		return req, oauth.Errorf(oauth.InvalidRequest, "only response_mode query is supported")
	}
	if !client.AllowsGrant(oauth.GrantTypeAuthorizationCode) {
		return req, oauth.Errorf(oauth.UnauthorizedClient, "the application may not use the authorization code grant")
	}

	// PKCE for every client, S256 only: a missing method would mean plain
	// (RFC 7636 §4.3), which RFC 9700 §2.1.1 advises against.
	if q.Get("code_challenge_method") != oauth.CodeChallengeS256 {
		return req, oauth.Errorf(oauth.InvalidRequest, "code_challenge_method must be S256")
	}
	req.challenge = q.Get("code_challenge")
	if !validChallenge(req.challenge) {
		return req, oauth.Errorf(oauth.InvalidRequest, "code_challenge must be the 43-character base64url SHA-256 of the code verifier")
	}

	// RFC 9449 §10: dpop_jkt binds the code to a key; a JWK SHA-256
	// thumbprint is 43 base64url characters.
	if req.dpopJKT = q.Get("dpop_jkt"); req.dpopJKT != "" && !isThumbprint(req.dpopJKT) {
		return req, oauth.Errorf(oauth.InvalidRequest, "dpop_jkt must be a base64url SHA-256 JWK thumbprint")
	}
	req.nonce = q.Get("nonce")
	if len(req.nonce) > maxNonceLen {
		return req, oauth.Errorf(oauth.InvalidRequest, "nonce is too long")
	}
	if req.prompt, err = parsePrompt(q.Get("prompt")); err != nil {
		return req, err
	}
	if ma := q.Get("max_age"); ma != "" {
		if req.maxAge, ok = parseMaxAge(ma); !ok {
			return req, oauth.Errorf(oauth.InvalidRequest, "max_age must be a non-negative integer")
		}
	}

	scope := q.Get("scope")
	if len(scope) > maxScopeLen {
		return req, oauth.Errorf(oauth.InvalidScope, "scope is too long")
	}
	requested, err := httpx.ParseScope(scope)
	if err != nil {
		return req, err
	}

	audience, err := h.audience(q.Get("audience"), q.Get("resource"), slices.Contains(requested, oauth.ScopeOpenID))
	if err != nil {
		return req, err
	}
	if audience == oauth.UserinfoAudience(h.d.Issuer) {
		// This server's own API: the user's claims at /userinfo.
		req.api = &oauth.ResourceServer{Identifier: audience, Name: "Your profile", AllowOfflineAccess: true, SkipConsentForVerifiableFirstPartyClients: true}
	} else {
		req.api, err = h.d.APIs.ResourceServer(ctx, audience)
	}
	if errors.Is(err, oauth.ErrNotFound) {
		return req, oauth.Errorf(oauth.InvalidTarget, "the requested API is unknown")
	} else if err != nil {
		return req, fmt.Errorf("authorize: read API: %w", err)
	}
	req.scopes = cutScopes(requested, req.api)
	return req, nil
}

// audience picks the API: audience (Auth0) or resource (RFC 8707), which
// must agree when both are sent, else the default audience, else, for an
// OpenID Connect request, the userinfo endpoint (as Auth0 does).
func (h *handler) audience(audience, resource string, openid bool) (string, error) {
	audience, err := oauth.ResourceParam(audience, resource)
	if err != nil {
		return "", err
	}
	if audience == "" {
		audience = h.d.DefaultAudience
	}
	if audience == "" && openid {
		audience = oauth.UserinfoAudience(h.d.Issuer)
	}
	if audience == "" {
		return "", oauth.Errorf(oauth.InvalidRequest, "audience is missing")
	}
	if len(audience) > maxAudienceLen {
		return "", oauth.Errorf(oauth.InvalidTarget, "audience is too long")
	}
	if slices.Contains(h.d.MachineOnlyAudiences, audience) {
		return "", oauth.Errorf(oauth.InvalidTarget, "this API is not available to user sign-in")
	}
	return audience, nil
}

// cutScopes keeps the requested scopes the API defines, plus the OIDC
// scopes; offline_access only when the API allows refresh tokens.
func cutScopes(requested []string, api *oauth.ResourceServer) []string {
	var out []string
	for _, s := range requested {
		switch {
		case s == oauth.ScopeOfflineAccess && !api.AllowOfflineAccess:
		case oauth.IsOIDCScope(s), api.HasScope(s):
			out = append(out, s)
		}
	}
	return out
}

// validChallenge: an S256 challenge is BASE64URL(SHA256(verifier)) without
// padding (RFC 7636 §4.2), exactly 32 bytes in 43 characters.
func validChallenge(c string) bool {
	if len(c) != 43 {
		return false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(c)
	return err == nil && len(b) == 32
}

// parsePrompt accepts none and login (OIDC Core §3.1.2.1); none may not be
// combined with another value. Other values (consent, select_account) are
// refused rather than silently ignored.
func parsePrompt(p string) (string, error) {
	if p == "" {
		return "", nil
	}
	out := ""
	for v := range strings.SplitSeq(p, " ") {
		switch v {
		case promptNone, promptLogin:
			if out != "" && out != v {
				return "", oauth.Errorf(oauth.InvalidRequest, "prompt none cannot be combined with other values")
			}
			out = v
		default:
			return "", oauth.Errorf(oauth.InvalidRequest, "prompt supports only none and login")
		}
	}
	return out, nil
}

func parseMaxAge(s string) (int, bool) {
	if len(s) > maxAgeDigits {
		return 0, false
	}
	n := 0
	for _, c := range []byte(s) {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// isThumbprint reports whether s is 43 base64url characters (32 bytes).
func isThumbprint(s string) bool {
	if len(s) != 43 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
