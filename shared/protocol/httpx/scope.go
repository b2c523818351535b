package httpx

import (
	"slices"
	"strings"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// ParseScope splits a scope parameter (RFC 6749 §3.3): scope-tokens of
// %x21 / %x23-5B / %x5D-7E separated by single spaces. Duplicates are
// dropped, keeping the first occurrence. An empty string is no scope (nil).
// A malformed value is an invalid_scope *oauth.Error.
func ParseScope(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	n := strings.Count(s, " ") + 1
	scopes := make([]string, 0, n)
	var seen map[string]struct{} // only for long lists, where a linear search would be quadratic
	if n > 16 {
		seen = make(map[string]struct{}, n)
	}
	for tok := range strings.SplitSeq(s, " ") {
		if tok == "" {
			return nil, oauth.Errorf(oauth.InvalidScope, "scope tokens must be separated by single spaces")
		}
		for i := 0; i < len(tok); i++ {
			if !scopeChar(tok[i]) {
				return nil, oauth.Errorf(oauth.InvalidScope, "scope contains a character not allowed by RFC 6749 section 3.3")
			}
		}
		if seen != nil {
			if _, dup := seen[tok]; dup {
				continue
			}
			seen[tok] = struct{}{}
		} else if slices.Contains(scopes, tok) {
			continue
		}
		scopes = append(scopes, tok)
	}
	return scopes, nil
}

// JoinScope is the inverse of ParseScope.
func JoinScope(scopes []string) string { return strings.Join(scopes, " ") }

func scopeChar(c byte) bool {
	return c == 0x21 || (c >= 0x23 && c <= 0x5B) || (c >= 0x5D && c <= 0x7E)
}
