package authorize

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/crypto/password"
	"github.com/mrrt-auth/mrrt/shared/protocol/httpx"
)

// Brute-force protection, per username (oauth.HashToken of the lower-cased
// name, whether or not such a user exists): a username with maxFailures
// failed sign-ins within the last failureWindow is locked, and no password
// is checked for it until the oldest of those failures is older than
// failureWindow. That bounds guessing to 5 passwords per username per
// 15 minutes, and a lock never outlasts 15 minutes after the failure that
// caused it. Attempts during the lock are not counted, so hammering a
// locked name does not extend the lock.
const (
	maxFailures   = 5
	failureWindow = 15 * time.Minute
)

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
	msgUnavailable    = "Sign-in is temporarily unavailable. Try again in a moment."
)

// serveLogin is POST /authorize/login: the login form.
func (h *handler) serveLogin(w http.ResponseWriter, r *http.Request) {
	form, err := httpx.ParseForm(r)
	if err != nil {
		h.renderError(w, http.StatusBadRequest, "The sign-in form was malformed.")
		return
	}
	if !h.csrfOK(r, form.Get("csrf")) {
		h.renderError(w, http.StatusForbidden, "This sign-in form has expired or did not come from this site. Go back to the application and sign in again.")
		return
	}
	req, err := h.parseRequest(r.Context(), form.Get("request"))
	if err != nil {
		h.fail(w, r, req, err, http.StatusSeeOther)
		return
	}
	username := strings.TrimSpace(form.Get("username"))
	user, msg, err := h.authenticate(r.Context(), username, form.Get("password"))
	switch {
	case err != nil:
		h.logError(r.Context(), oauth.FromError(err))
		h.renderLogin(w, r, req, http.StatusServiceUnavailable, username, msgUnavailable)
		return
	case user == nil && msg == msgLocked:
		h.renderLogin(w, r, req, http.StatusTooManyRequests, username, msg)
		return
	case user == nil:
		h.renderLogin(w, r, req, http.StatusUnauthorized, username, msg)
		return
	}
	sess, err := h.startSession(w, r, user)
	if err != nil {
		h.fail(w, r, req, err, http.StatusSeeOther)
		return
	}
	h.log.LogAttrs(r.Context(), slog.LevelInfo, "signed in", slog.String("user_id", user.UserID))
	h.proceed(w, r, req, sess, user, true, http.StatusSeeOther)
}

// authenticate checks a username and password. It returns the user, or nil
// and the message to show; err only for a failing dependency (fail closed:
// without the throttle there is no sign-in).
func (h *handler) authenticate(ctx context.Context, username, pw string) (*oauth.User, string, error) {
	if username == "" || pw == "" {
		return nil, msgBadCredentials, nil
	}
	now := h.d.Now()
	key := oauth.HashToken(strings.ToLower(username))
	n, err := h.d.Throttle.LoginFailures(ctx, key, now, failureWindow)
	if err != nil {
		return nil, "", fmt.Errorf("authorize: read login failures: %w", err)
	}
	if n >= maxFailures {
		return nil, msgLocked, nil
	}

	var user *oauth.User
	ok := false
	if len(username) <= maxUsernameLen && len(pw) <= maxPasswordLen {
		user, err = h.d.Users.UserByEmail(ctx, username)
		if err != nil && !errors.Is(err, oauth.ErrNotFound) {
			return nil, "", fmt.Errorf("authorize: read user: %w", err)
		}
		// Unknown users and users without a password cost one argon2id run
		// too, so timing does not reveal which usernames exist.
		if user == nil || user.PasswordHash == "" {
			password.VerifyDummy(pw)
		} else if ok, err = password.Verify(user.PasswordHash, pw); err != nil {
			h.log.LogAttrs(ctx, slog.LevelError, "stored password hash is malformed", slog.String("user_id", user.UserID))
			ok = false
		}
	}
	if !ok || user.Blocked {
		if _, err := h.d.Throttle.RecordLoginFailure(ctx, key, now, failureWindow); err != nil {
			return nil, "", fmt.Errorf("authorize: record login failure: %w", err)
		}
		return nil, msgBadCredentials, nil
	}
	if err := h.d.Throttle.ClearLoginFailures(ctx, key); err != nil {
		h.log.LogAttrs(ctx, slog.LevelWarn, "clear login failures", slog.Any("cause", err))
	}
	return user, "", nil
}
