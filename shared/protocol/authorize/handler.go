// Package authorize serves the authorization endpoint (RFC 6749 §4.1,
// OAuth 2.1 §4.1): the authorization-code flow with PKCE (S256 only), the
// hosted login and consent pages, and the single-sign-on session behind
// them.
package authorize

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/protocol/httpx"
)

// Routes are the Go 1.22 ServeMux patterns NewHandler serves.
var Routes = []string{
	"GET /authorize",
	"POST /authorize/login",
	"POST /authorize/consent",
	"GET /logout",
	"GET /v2/logout",   // Auth0's logout (logout.go)
	"GET /oidc/logout", // OpenID Connect RP-Initiated Logout 1.0
	"POST /oidc/logout",
}

// Deps is what the authorize handler needs.
type Deps struct {
	Clients  oauth.ClientStore
	APIs     oauth.ResourceServerStore
	Users    oauth.UserStore
	Codes    oauth.CodeStore
	Sessions oauth.SessionStore
	Consents oauth.ConsentStore
	Throttle oauth.LoginThrottle
	// Issuer is the issuer as configured, e.g. "https://auth.example.com/",
	// sent byte for byte as iss in every authorization response (RFC 9207).
	// An https issuer gets __Host- cookies with Secure.
	Issuer string
	// DefaultAudience is used when a request names no audience or
	// resource; "" makes the audience required.
	DefaultAudience string
	// MachineOnlyAudiences are APIs that no user flow may reach (the admin
	// API): /authorize refuses them with invalid_target.
	MachineOnlyAudiences []string
	// Login bounds sign-in attempts and concurrent password checks
	// (login.go); zero fields take the defaults.
	Login LoginLimits
	// Events receives one event per sign-in, consent decision and logout
	// (Auth0's log event shape); nil drops them.
	Events oauth.EventSink
	// SessionLifetime is how long a sign-in lasts; default 24h.
	SessionLifetime time.Duration
	Now             func() time.Time
	Rand            io.Reader
	Logger          *slog.Logger
}

type handler struct {
	d             Deps
	log           *slog.Logger
	secure        bool // https issuer: Secure cookies with the __Host- prefix
	sessionCookie string
	csrfCookie    string
	login         LoginLimits
	verifySlots   chan struct{} // one token per password check in progress
}

// NewHandler returns the handler for Routes. Nil Now, Rand and Logger
// default to time.Now, crypto/rand and a discarding logger; the stores are
// required.
func NewHandler(d Deps) http.Handler {
	d.Now, d.Rand, d.Logger = httpx.Defaults(d.Now, d.Rand, d.Logger)
	if d.SessionLifetime <= 0 {
		d.SessionLifetime = 24 * time.Hour
	}
	h := &handler{d: d, log: d.Logger, sessionCookie: "session", csrfCookie: "csrf", login: d.Login.withDefaults()}
	h.verifySlots = make(chan struct{}, h.login.Concurrency)
	if strings.HasPrefix(d.Issuer, "https://") {
		// __Host-: Secure, Path=/, no Domain, so no other host (not even a
		// subdomain) can set or shadow these cookies.
		h.secure, h.sessionCookie, h.csrfCookie = true, "__Host-session", "__Host-csrf"
	}
	mux := http.NewServeMux()
	mux.HandleFunc(Routes[0], h.serveAuthorize)
	mux.HandleFunc(Routes[1], h.serveLogin)
	mux.HandleFunc(Routes[2], h.serveConsent)
	mux.HandleFunc(Routes[3], h.serveLogout)
	mux.HandleFunc(Routes[4], h.serveAuth0Logout)
	mux.HandleFunc(Routes[5], h.serveOIDCLogout)
	mux.HandleFunc(Routes[6], h.serveOIDCLogout)
	return securityHeaders(httpx.Recover(d.Logger, func(w http.ResponseWriter, r *http.Request) {
		h.renderError(w, http.StatusInternalServerError, "internal error")
	})(mux))
}

// securityHeaders sets the headers every response of this handler carries,
// pages and redirects alike: no framing (RFC 9700 §4.16), no Referer leak of
// codes or state (§4.2.4), no caching. Pages with a form widen form-action
// (see csp). There is deliberately no CORS header (RFC 9700 §2.6).
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp(""))
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		h.Set("Pragma", "no-cache")
		h.Set("X-Content-Type-Options", "nosniff")
		next.ServeHTTP(w, r)
	})
}

// serveAuthorize is GET /authorize.
func (h *handler) serveAuthorize(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		// ServeMux routes HEAD to GET patterns; a HEAD must not mint a code.
		w.Header().Set("Allow", http.MethodGet)
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	req, err := h.parseRequest(r.Context(), r.URL.RawQuery)
	if err != nil {
		h.fail(w, r, req, err, http.StatusFound)
		return
	}
	sess, user, err := h.currentSession(r)
	if err != nil {
		h.fail(w, r, req, err, http.StatusFound)
		return
	}
	h.proceed(w, r, req, sess, user, false, http.StatusFound)
}

// proceed takes a valid request as far as it can go: the login page, the
// consent page, or a code. freshLogin tells that the session was just
// proven (this request's login or consent form), which satisfies
// prompt=login and max_age. status is 302 after a GET, 303 after a POST
// (never 307, which would re-post the password: RFC 9700 §4.12).
func (h *handler) proceed(w http.ResponseWriter, r *http.Request, req *request, sess *oauth.Session, user *oauth.User, freshLogin bool, status int) {
	if h.loginNeeded(req, sess, freshLogin) {
		if req.prompt == promptNone {
			h.redirectError(w, r, req, status, oauth.LoginRequired, "the user is not signed in")
			return
		}
		h.renderLogin(w, r, req, http.StatusOK, "", "")
		return
	}
	need, err := h.consentNeeded(r.Context(), req, user)
	if err != nil {
		h.fail(w, r, req, err, status)
		return
	}
	if need {
		if req.prompt == promptNone {
			h.redirectError(w, r, req, status, oauth.ConsentRequired, "the user has not consented")
			return
		}
		h.renderConsent(w, r, req, user)
		return
	}
	h.issueCode(w, r, req, sess, user, status)
}

// loginNeeded reports whether the user must (re)enter a password: no
// session, prompt=login, a sign-in older than max_age (OIDC Core
// §3.1.2.1), or an application with sso_disabled (Auth0: its users sign
// in every time, another application's session does not count).
func (h *handler) loginNeeded(req *request, sess *oauth.Session, freshLogin bool) bool {
	if sess == nil {
		return true
	}
	if freshLogin {
		return false
	}
	if req.prompt == promptLogin || req.client.SSODisabled {
		return true
	}
	return req.maxAge >= 0 && h.d.Now().Sub(sess.AuthTime) > time.Duration(req.maxAge)*time.Second
}

// issueCode stores a code for the request and sends it to the client
// (RFC 6749 §4.1.2). Only its hash is stored.
func (h *handler) issueCode(w http.ResponseWriter, r *http.Request, req *request, sess *oauth.Session, user *oauth.User, status int) {
	code, err := oauth.NewOpaque(h.d.Rand)
	if err != nil {
		h.fail(w, r, req, err, status)
		return
	}
	now := h.d.Now()
	err = h.d.Codes.CreateCode(r.Context(), &oauth.AuthCode{
		Hash:                oauth.HashToken(code),
		ClientID:            req.client.ClientID,
		RedirectURI:         req.redirectURI,
		CodeChallenge:       req.challenge,
		CodeChallengeMethod: oauth.CodeChallengeS256,
		Audience:            req.api.Identifier,
		Scopes:              req.scopes,
		Nonce:               req.nonce,
		DPoPJKT:             req.dpopJKT,
		UserID:              user.UserID,
		AuthTime:            sess.AuthTime,
		ExpiresAt:           now.Add(oauth.CodeLifetime),
	})
	if err != nil {
		h.fail(w, r, req, err, status)
		return
	}
	h.log.LogAttrs(r.Context(), slog.LevelInfo, "authorization code issued",
		slog.String("client_id", req.client.ClientID), slog.String("user_id", user.UserID),
		slog.String("audience", req.api.Identifier))
	h.redirect(w, r, req, status, "code", code)
}

// fail reports err: on a page when req is nil (the client or redirect URI
// is not verified, so nothing may be redirected: RFC 6749 §4.1.2.1),
// otherwise by redirect to the client.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, req *request, err error, status int) {
	e := oauth.FromError(err)
	h.logError(r.Context(), e)
	if req == nil {
		h.renderError(w, e.Status(), e.Description)
		return
	}
	h.redirectError(w, r, req, status, e.Code, e.Description)
}

func (h *handler) logError(ctx context.Context, e *oauth.Error) {
	switch {
	case e.Code == oauth.ServerError:
		h.log.LogAttrs(ctx, slog.LevelError, "authorize failed", slog.String("error", string(e.Code)), slog.Any("cause", e.Cause))
	case e.Cause != nil:
		h.log.LogAttrs(ctx, slog.LevelWarn, "authorize failed", slog.String("error", string(e.Code)), slog.Any("cause", e.Cause))
	}
}
