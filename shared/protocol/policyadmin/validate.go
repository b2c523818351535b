package policyadmin

import (
	"fmt"
	"net/mail"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// Limits from Auth0's Management API schemas where it has them.
const (
	maxNameLen        = 200
	maxIdentifierLen  = 600 // resource server identifier, policy audience
	maxScopeLen       = 280 // one scope value
	maxScopeDescLen   = 500
	maxCallbackLen    = 2048
	maxCallbacks      = 100
	maxEmailLen       = 254 // RFC 5321 §4.5.3.1.3 path limit less the brackets
	minPasswordLen    = 8
	maxPasswordLen    = 1024 // bytes; argon2id takes any length, this bounds the work
	maxAPITokenLife   = 2592000
	defaultAPITokenTL = 86400
)

// oneOf checks that v is one of allowed.
func oneOf(field, v string, allowed ...string) error {
	if slices.Contains(allowed, v) {
		return nil
	}
	return invalidBody(field, "must be one of %s", strings.Join(allowed, ", "))
}

// checkName: 1 to maxNameLen characters, no control characters and, as in
// Auth0, no < or >.
func checkName(field, s string) error {
	switch n := utf8.RuneCountInString(s); {
	case n == 0:
		return invalidBody(field, "must not be empty")
	case n > maxNameLen:
		return invalidBody(field, "must have at most %d characters", maxNameLen)
	case !utf8.ValidString(s) || strings.ContainsFunc(s, isControl) || strings.ContainsAny(s, "<>"):
		return invalidBody(field, "must not contain control characters, < or >")
	}
	return nil
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

// checkCallback enforces the redirect URI rules (RFC 9700 §4.1.1 exact
// matching, so no wildcards; RFC 6749 §3.1.2 no fragment; RFC 8252 §7.3
// loopback IP literals over http for native apps only).
func checkCallback(field, cb, appType string) error {
	if len(cb) > maxCallbackLen {
		return invalidBody(field, "must have at most %d characters", maxCallbackLen)
	}
	if strings.Contains(cb, "*") {
		return invalidBody(field, "must not contain a wildcard (*)")
	}
	if strings.Contains(cb, "#") {
		return invalidBody(field, "must not contain a fragment (#)")
	}
	u, err := url.Parse(cb)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" || strings.ContainsFunc(cb, isSpaceOrControl) {
		return invalidBody(field, "must be an absolute URL")
	}
	if u.User != nil {
		return invalidBody(field, "must not contain user information")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if h := u.Hostname(); h != "127.0.0.1" && h != "::1" {
			return invalidBody(field, "must use https (http only for the loopback addresses 127.0.0.1 and [::1])")
		}
		if appType != oauth.AppTypeNative {
			return invalidBody(field, "loopback http redirect URIs are allowed only for native apps")
		}
		return nil
	}
	return invalidBody(field, "must use https (or loopback http for native apps)")
}

func isSpaceOrControl(r rune) bool { return r <= 0x20 || r == 0x7f }

// checkIdentifier: an API identifier is the audience of its tokens and the
// resource indicator clients send, so an absolute URI without a fragment
// (RFC 8707 §2).
func checkIdentifier(field, id string) error {
	switch {
	case id == "":
		return invalidBody(field, "must not be empty")
	case len(id) > maxIdentifierLen:
		return invalidBody(field, "must have at most %d characters", maxIdentifierLen)
	case strings.ContainsFunc(id, isSpaceOrControl) || strings.Contains(id, "*"):
		return invalidBody(field, "must not contain spaces, control characters or *")
	case strings.Contains(id, "#"):
		return invalidBody(field, "must not contain a fragment (#)")
	}
	if u, err := url.Parse(id); err != nil || !u.IsAbs() {
		return invalidBody(field, "must be an absolute URI (RFC 8707 §2)")
	}
	return nil
}

// checkScopeValue: a scope-token of RFC 6749 §3.3, at most maxScopeLen long.
func checkScopeValue(field, s string) error {
	if s == "" || len(s) > maxScopeLen {
		return invalidBody(field, "must have 1 to %d characters", maxScopeLen)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c == '"' || c == '\\' || c > 0x7e {
			return invalidBody(field, "must be printable ASCII without spaces, \" or \\ (RFC 6749 §3.3)")
		}
	}
	return nil
}

// checkScopeList checks a list of scope values for a target API: each must
// be defined on rs and appear once.
func checkScopeList(field string, scopes []string, rs *oauth.ResourceServer) error {
	seen := map[string]bool{}
	for i, s := range scopes {
		f := fmt.Sprintf("%s[%d]", field, i)
		if err := checkScopeValue(f, s); err != nil {
			return err
		}
		if seen[s] {
			return invalidBody(f, "duplicate scope %q", s)
		}
		seen[s] = true
		if !rs.HasScope(s) {
			return invalidBody(f, "scope %q is not defined on the API %q", s, rs.Identifier)
		}
	}
	return nil
}

func checkEmail(field, email string) error {
	a, err := mail.ParseAddress(email)
	if len(email) > maxEmailLen || err != nil || a.Name != "" || a.Address != email || !strings.Contains(email, "@") {
		return invalidBody(field, "must be an email address (name@example.com)")
	}
	return nil
}

func checkPassword(field, pw string) error {
	switch {
	case utf8.RuneCountInString(pw) < minPasswordLen:
		return invalidBody(field, "must have at least %d characters", minPasswordLen)
	case len(pw) > maxPasswordLen:
		return invalidBody(field, "must have at most %d bytes", maxPasswordLen)
	case !utf8.ValidString(pw):
		return invalidBody(field, "must be valid UTF-8")
	}
	return nil
}
