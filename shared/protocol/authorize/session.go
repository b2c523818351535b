package authorize

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// currentSession returns the browser's session and its user, or nil, nil
// when there is none. A session whose user was deleted or blocked since is
// ended here: it must not yield codes.
func (h *handler) currentSession(r *http.Request) (*oauth.Session, *oauth.User, error) {
	c, err := r.Cookie(h.sessionCookie)
	if err != nil || c.Value == "" {
		return nil, nil, nil
	}
	ctx := r.Context()
	hash := oauth.HashToken(c.Value)
	sess, err := h.d.Sessions.Session(ctx, hash, h.d.Now())
	if errors.Is(err, oauth.ErrNotFound) {
		return nil, nil, nil
	} else if err != nil {
		return nil, nil, fmt.Errorf("authorize: read session: %w", err)
	}
	user, err := h.d.Users.User(ctx, sess.UserID)
	if err != nil && !errors.Is(err, oauth.ErrNotFound) {
		return nil, nil, fmt.Errorf("authorize: read session user: %w", err)
	}
	if err != nil || user.Blocked {
		if err := h.d.Sessions.DeleteSession(ctx, hash); err != nil {
			h.log.LogAttrs(ctx, slog.LevelWarn, "delete stale session", slog.Any("cause", err))
		}
		return nil, nil, nil
	}
	return sess, user, nil
}

// startSession signs user in: a new random session id (never one the
// browser brought, against session fixation), stored hashed, in an
// HttpOnly, SameSite=Lax cookie (Lax so that the top-level navigation
// from another application to /authorize still carries it: that is
// single sign-on). A previous session of this browser is ended.
func (h *handler) startSession(w http.ResponseWriter, r *http.Request, user *oauth.User) (*oauth.Session, error) {
	ctx := r.Context()
	value, err := oauth.NewOpaque(h.d.Rand)
	if err != nil {
		return nil, err
	}
	now := h.d.Now()
	sess := &oauth.Session{
		Hash:      oauth.HashToken(value),
		UserID:    user.UserID,
		AuthTime:  now,
		ExpiresAt: now.Add(h.d.SessionLifetime),
	}
	if err := h.d.Sessions.CreateSession(ctx, sess); err != nil {
		return nil, fmt.Errorf("authorize: create session: %w", err)
	}
	if old, err := r.Cookie(h.sessionCookie); err == nil && old.Value != "" {
		if err := h.d.Sessions.DeleteSession(ctx, oauth.HashToken(old.Value)); err != nil {
			h.log.LogAttrs(ctx, slog.LevelWarn, "delete previous session", slog.Any("cause", err))
		}
	}
	http.SetCookie(w, &http.Cookie{
		Name:     h.sessionCookie,
		Value:    value,
		Path:     "/",
		MaxAge:   int(h.d.SessionLifetime.Seconds()),
		Secure:   h.secure,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	})
	return sess, nil
}

// serveLogout is GET /logout: it ends the session in the store and clears
// the cookie. (A GET, so a third-party page can sign the user out; that is
// the accepted cost of a link-friendly logout.)
func (h *handler) serveLogout(w http.ResponseWriter, r *http.Request) {
	if !h.endSession(w, r) {
		return
	}
	h.renderPage(w, http.StatusOK, "signedout", page{Title: "Signed out"})
}

// endSession ends the browser's session, in the store and in its cookie.
// It reports false after answering a store failure itself (the cookie is
// kept then: the session still exists, so the page must not say otherwise).
func (h *handler) endSession(w http.ResponseWriter, r *http.Request) bool {
	if c, err := r.Cookie(h.sessionCookie); err == nil && c.Value != "" {
		if err := h.d.Sessions.DeleteSession(r.Context(), oauth.HashToken(c.Value)); err != nil {
			h.fail(w, r, nil, fmt.Errorf("authorize: delete session: %w", err), 0)
			return false
		}
	}
	http.SetCookie(w, &http.Cookie{
		Name:     h.sessionCookie,
		Value:    "",
		Path:     "/",
		MaxAge:   -1,
		Secure:   h.secure,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	})
	return true
}
