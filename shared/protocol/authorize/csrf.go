package authorize

import (
	"crypto/subtle"
	"net/http"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// The login and consent forms are protected by a double-submit token. The
// page puts a random 256-bit value in a cookie and the same value in a
// hidden field; a POST is accepted only when both are present and equal.
// A cross-site page cannot read the cookie, so it cannot fill in the field;
// and with SameSite=Lax the browser does not even send the cookie on its
// cross-site POST. Under https the cookie has the __Host- prefix (Secure,
// host-only, Path=/), so no sibling subdomain can plant a value of its
// choosing. It needs no server state and no key, which suits stateless
// Lambdas; the pending authorization request travels in the form too and
// is validated again on POST, so the token only has to prove the POST came
// from our own page.

// csrfToken returns the browser's token, setting a new one if it has none
// (an existing one is reused so that two open tabs do not invalidate each
// other).
func (h *handler) csrfToken(w http.ResponseWriter, r *http.Request) (string, error) {
	if c, err := r.Cookie(h.csrfCookie); err == nil && validToken(c.Value) {
		return c.Value, nil
	}
	v, err := oauth.NewOpaque(h.d.Rand)
	if err != nil {
		return "", err
	}
	http.SetCookie(w, &http.Cookie{
		Name:     h.csrfCookie,
		Value:    v,
		Path:     "/",
		Secure:   h.secure,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	})
	return v, nil
}

// csrfOK reports whether the form's token matches the cookie.
func (h *handler) csrfOK(r *http.Request, formToken string) bool {
	c, err := r.Cookie(h.csrfCookie)
	if err != nil || !validToken(c.Value) || !validToken(formToken) {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(c.Value), []byte(formToken)) == 1
}

// validToken: the shape oauth.NewOpaque produces (43 base64url characters).
func validToken(s string) bool {
	if len(s) != 43 {
		return false
	}
	for _, c := range []byte(s) {
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}
