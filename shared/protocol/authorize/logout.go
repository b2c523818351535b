package authorize

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// Logout as Auth0 offers it (/v2/logout) and as OpenID Connect
// RP-Initiated Logout 1.0 specifies it (/oidc/logout). Both end the
// browser's session here and nothing else: refresh tokens already issued
// stay valid (revoke them at /oauth/revoke or through the admin API). A GET
// that only ends a session is accepted from anywhere; one that redirects
// goes only to a URL the application registered in allowed_logout_urls,
// compared exactly, so neither endpoint is an open redirector.

// serveAuth0Logout is GET /v2/logout?client_id=...&returnTo=...
// (Auth0 Authentication API, "Logout").
func (h *handler) serveAuth0Logout(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	returnTo := q.Get("returnTo")
	var target *url.URL
	if returnTo != "" {
		var err error
		if target, err = h.logoutTarget(r, q.Get("client_id"), returnTo); err != nil {
			h.emitLogout(r, q.Get("client_id"), err)
			h.renderLogoutError(w, r, err)
			return
		}
	}
	if h.finishLogout(w, r, target) {
		h.emitLogout(r, q.Get("client_id"), nil)
	}
}

// serveOIDCLogout is GET or POST /oidc/logout (RP-Initiated Logout 1.0
// §2): id_token_hint, client_id, post_logout_redirect_uri, state,
// logout_hint (accepted, not needed: the session names its user).
func (h *handler) serveOIDCLogout(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.renderError(w, http.StatusBadRequest, "the logout request is malformed")
		return
	}
	p := r.Form
	clientID := p.Get("client_id")
	if hint := p.Get("id_token_hint"); hint != "" {
		// §2: the hint names the client (its aud). It is not verified here
		// (this function holds no keys); it cannot widen anything: a
		// redirect still goes only to that client's registered URLs.
		aud, ok := idTokenAudience(hint)
		if !ok || (clientID != "" && aud != clientID) {
			h.emitLogout(r, clientID, errLogoutBadHint)
			h.renderLogoutError(w, r, errLogoutBadHint)
			return
		}
		clientID = aud
	}
	var target *url.URL
	if redirect := p.Get("post_logout_redirect_uri"); redirect != "" {
		var err error
		if target, err = h.logoutTarget(r, clientID, redirect); err != nil {
			h.emitLogout(r, clientID, err)
			h.renderLogoutError(w, r, err)
			return
		}
		if state := p.Get("state"); state != "" {
			q := target.Query()
			q.Set("state", state)
			target.RawQuery = q.Encode()
		}
	}
	if h.finishLogout(w, r, target) {
		h.emitLogout(r, clientID, nil)
	}
}

// finishLogout ends the session, then redirects to target (already
// checked), or shows the signed-out page when there is none. It reports
// whether the session was ended.
func (h *handler) finishLogout(w http.ResponseWriter, r *http.Request, target *url.URL) bool {
	if !h.endSession(w, r) {
		return false
	}
	if target == nil {
		h.renderPage(w, http.StatusOK, "signedout", page{Title: "Signed out"})
		return true
	}
	http.Redirect(w, r, target.String(), http.StatusFound)
	return true
}

var (
	errLogoutNoClient = oauth.Errorf(oauth.InvalidRequest, "a logout redirect needs the application: send client_id (or id_token_hint)")
	errLogoutURL      = oauth.Errorf(oauth.InvalidRequest, "the logout redirect URL is not one of the application's allowed logout URLs")
	errLogoutBadHint  = oauth.Errorf(oauth.InvalidRequest, "id_token_hint is not an ID token of this application")
)

// logoutTarget checks that raw is one of the client's allowed logout URLs.
func (h *handler) logoutTarget(r *http.Request, clientID, raw string) (*url.URL, error) {
	if clientID == "" {
		return nil, errLogoutNoClient
	}
	c, err := h.d.Clients.Client(r.Context(), clientID)
	if errors.Is(err, oauth.ErrNotFound) {
		return nil, oauth.Errorf(oauth.InvalidRequest, "unknown client_id")
	}
	if err != nil {
		return nil, fmt.Errorf("authorize: read client: %w", err)
	}
	if !slices.Contains(c.AllowedLogoutURLs, raw) {
		return nil, errLogoutURL
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errLogoutURL
	}
	return u, nil
}

// renderLogoutError shows the error page: no redirect, session untouched.
func (h *handler) renderLogoutError(w http.ResponseWriter, r *http.Request, err error) {
	h.fail(w, r, nil, err, 0)
}

// idTokenAudience reads the aud of an unverified JWT: a single audience,
// or the first of several.
func idTokenAudience(jwt string) (string, bool) {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 || len(jwt) > 8192 {
		return "", false
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return "", false
	}
	var c struct {
		Aud json.RawMessage `json:"aud"`
	}
	if json.Unmarshal(payload, &c) != nil {
		return "", false
	}
	var one string
	if json.Unmarshal(c.Aud, &one) == nil && one != "" {
		return one, true
	}
	var many []string
	if json.Unmarshal(c.Aud, &many) == nil && len(many) > 0 && many[0] != "" {
		return many[0], true
	}
	return "", false
}
