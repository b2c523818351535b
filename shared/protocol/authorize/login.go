package authorize

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"strings"
	"time"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/crypto/password"
	"github.com/mrrt-auth/mrrt/shared/protocol/httpx"
)

// Brute-force protection (Auth0's model: brute-force protection counts per
// identifier and IP, suspicious-IP throttling per IP across identifiers),
// with the defaults of LoginLimits:
//
//   - per (username, client IP): maxFailures attempts per failureWindow.
//     The username is oauth.HashToken of the lower-cased name, whether or
//     not such a user exists. A success clears the count. The owner signing
//     in from another IP is not held back by an attacker's failures.
//   - per client IP, across usernames (password spraying): maxIPFailures
//     failed attempts per ipWindow; a success gives its attempt back.
//
// Attempts are reserved atomically before the password is checked
// (oauth.LoginThrottle), so at most maxFailures passwords are checked per
// username and IP per window whatever the concurrency. A window starts with
// its first attempt; attempts refused during it are not counted and do not
// extend it. Beyond maxConcurrent password checks at once (argon2id takes
// 19 MiB and a core each), a sign-in answers 503 with Retry-After at once.
const (
	maxFailures   = 5
	failureWindow = 15 * time.Minute
	maxIPFailures = 20
	ipWindow      = 15 * time.Minute
)

// LoginLimits are the sign-in limits; zero fields take the defaults above
// (Concurrency: runtime.GOMAXPROCS).
type LoginLimits struct {
	Failures    int           // per (username, IP) and window
	Window      time.Duration // of the (username, IP) count
	IPFailures  int           // per IP across usernames and window
	IPWindow    time.Duration // of the IP count
	Concurrency int           // password checks at once in this process
}

func (l LoginLimits) withDefaults() LoginLimits {
	if l.Failures <= 0 {
		l.Failures = maxFailures
	}
	if l.Window <= 0 {
		l.Window = failureWindow
	}
	if l.IPFailures <= 0 {
		l.IPFailures = maxIPFailures
	}
	if l.IPWindow <= 0 {
		l.IPWindow = ipWindow
	}
	if l.Concurrency <= 0 {
		l.Concurrency = runtime.GOMAXPROCS(0)
	}
	return l
}

// Caps on the form fields; longer values are wrong credentials.
const (
	maxUsernameLen = 256
	maxPasswordLen = 1024
)

// Messages of the login page. One message for every credential failure
// (unknown user, wrong password, blocked user), so the page does not tell
// which usernames exist.
const (
	msgBadCredentials = "Wrong email or password."
	msgLocked         = "Too many failed sign-ins. Try again in 15 minutes."
	msgThrottled      = "Too many failed sign-ins from your network. Try again later."
	msgUnavailable    = "Sign-in is temporarily unavailable. Try again in a moment."
	msgBusy           = "Sign-in is busy. Try again in a moment."
)

// serveLogin is POST /authorize/login: the login form.
func (h *handler) serveLogin(w http.ResponseWriter, r *http.Request) {
	form, err := httpx.ParseForm(r)
	if err != nil {
		h.renderError(w, http.StatusBadRequest, "The sign-in form was malformed.")
		return
	}
	username := strings.TrimSpace(form.Get("username"))
	if !h.csrfOK(r, form.Get("csrf")) {
		h.emitLogin(r, nil, loginFailure{event: oauth.EventLoginFailed, reason: "the form expired or did not come from this site"}, username, "")
		h.renderError(w, http.StatusForbidden, "This sign-in form has expired or did not come from this site. Go back to the application and sign in again.")
		return
	}
	req, err := h.parseRequest(r.Context(), form.Get("request"))
	if err != nil {
		h.fail(w, r, req, err, http.StatusSeeOther)
		return
	}
	user, failure, err := h.authenticate(r.Context(), username, form.Get("password"), httpx.ClientIP(r))
	switch {
	case errors.Is(err, errBusy):
		w.Header().Set("Retry-After", "1")
		h.renderLogin(w, r, req, http.StatusServiceUnavailable, username, msgBusy)
		return
	case err != nil:
		h.logError(r.Context(), oauth.FromError(err))
		h.renderLogin(w, r, req, http.StatusServiceUnavailable, username, msgUnavailable)
		return
	case user == nil:
		h.emitLogin(r, req, failure, username, failure.userID)
		status, msg := http.StatusUnauthorized, msgBadCredentials
		switch failure.event {
		case oauth.EventLoginAccountBlocked:
			status, msg = http.StatusTooManyRequests, msgLocked
		case oauth.EventLoginIPBlocked:
			status, msg = http.StatusTooManyRequests, msgThrottled
		}
		h.renderLogin(w, r, req, status, username, msg)
		return
	}
	sess, err := h.startSession(w, r, user)
	if err != nil {
		h.fail(w, r, req, err, http.StatusSeeOther)
		return
	}
	h.emitLogin(r, req, loginFailure{event: oauth.EventLoginSuccess}, username, user.UserID)
	h.log.LogAttrs(r.Context(), slog.LevelInfo, "signed in", slog.String("user_id", user.UserID))
	h.proceed(w, r, req, sess, user, true, http.StatusSeeOther)
}

// errBusy: every password-check slot is taken.
var errBusy = errors.New("authorize: too many concurrent sign-ins")

// loginFailure says why a sign-in failed: its event type and, when the
// username named a user, that user.
type loginFailure struct {
	event, userID, reason string
}

// authenticate checks a username and password from ip. It returns the
// user, or nil and why not; err for a failing dependency (fail closed:
// without the throttle there is no sign-in) or errBusy.
func (h *handler) authenticate(ctx context.Context, username, pw, ip string) (*oauth.User, loginFailure, error) {
	if username == "" || pw == "" {
		return nil, loginFailure{event: oauth.EventLoginFailed, reason: "missing username or password"}, nil
	}
	select {
	case h.verifySlots <- struct{}{}:
		defer func() { <-h.verifySlots }()
	default:
		return nil, loginFailure{}, errBusy
	}
	lim := h.login
	now := h.d.Now()
	ipKey := oauth.HashToken("ip\x00" + ip)
	userKey := oauth.HashToken("user\x00" + strings.ToLower(username) + "\x00" + ip)
	ok, err := h.d.Throttle.ReserveLoginAttempt(ctx, ipKey, now, lim.IPWindow, lim.IPFailures)
	if err != nil {
		return nil, loginFailure{}, fmt.Errorf("authorize: reserve login attempt: %w", err)
	}
	if !ok {
		return nil, loginFailure{event: oauth.EventLoginIPBlocked, reason: "too many failed sign-ins from this IP"}, nil
	}
	if ok, err = h.d.Throttle.ReserveLoginAttempt(ctx, userKey, now, lim.Window, lim.Failures); err != nil || !ok {
		// No password is checked: the IP's attempt is given back.
		h.releaseAttempt(ctx, ipKey)
		if err != nil {
			return nil, loginFailure{}, fmt.Errorf("authorize: reserve login attempt: %w", err)
		}
		return nil, loginFailure{event: oauth.EventLoginAccountBlocked, reason: "too many failed sign-ins for this account from this IP"}, nil
	}

	var user *oauth.User
	verified := false
	if len(username) <= maxUsernameLen && len(pw) <= maxPasswordLen {
		user, err = h.d.Users.UserByEmail(ctx, username)
		if err != nil && !errors.Is(err, oauth.ErrNotFound) {
			return nil, loginFailure{}, fmt.Errorf("authorize: read user: %w", err)
		}
		// Unknown users and users without a password cost one argon2id run
		// too, so timing does not reveal which usernames exist.
		if user == nil || user.PasswordHash == "" {
			password.VerifyDummy(pw)
		} else if verified, err = password.Verify(user.PasswordHash, pw); err != nil {
			h.log.LogAttrs(ctx, slog.LevelError, "stored password hash is malformed", slog.String("user_id", user.UserID))
			verified = false
		}
	}
	if !verified || user.Blocked {
		// Both reservations stay: they are this failure.
		switch {
		case user == nil:
			return nil, loginFailure{event: oauth.EventLoginUnknownUser, reason: "no such user"}, nil
		case !verified:
			return nil, loginFailure{event: oauth.EventLoginWrongPassword, userID: user.UserID, reason: "wrong password"}, nil
		}
		return nil, loginFailure{event: oauth.EventLoginFailed, userID: user.UserID, reason: "user is blocked"}, nil
	}
	if err := h.d.Throttle.ClearLoginAttempts(ctx, userKey); err != nil {
		h.log.LogAttrs(ctx, slog.LevelWarn, "clear login attempts", slog.Any("cause", err))
	}
	h.releaseAttempt(ctx, ipKey)
	return user, loginFailure{}, nil
}

// releaseAttempt gives back an attempt that was not a failure. It is best
// effort: a lost release only counts one attempt too many until the window
// ends.
func (h *handler) releaseAttempt(ctx context.Context, key string) {
	if err := h.d.Throttle.ReleaseLoginAttempt(ctx, key); err != nil {
		h.log.LogAttrs(ctx, slog.LevelWarn, "release login attempt", slog.Any("cause", err))
	}
}
