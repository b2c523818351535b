package token

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// standardClaims are the OIDC Core §5.1 claims this server delivers: the
// profile scope's and the email scope's (§5.4), from the user's record.
var standardClaims = []string{"name", "nickname", "given_name", "family_name", "picture", "updated_at", "email", "email_verified"}

// userClaims are the standard claims of one user that a set of scopes
// allows, for the ID token and /userinfo.
type userClaims struct {
	Name          string `json:"name,omitempty"`
	Nickname      string `json:"nickname,omitempty"`
	GivenName     string `json:"given_name,omitempty"`
	FamilyName    string `json:"family_name,omitempty"`
	Picture       string `json:"picture,omitempty"`
	UpdatedAt     int64  `json:"updated_at,omitempty"`
	Email         string `json:"email,omitempty"`
	EmailVerified *bool  `json:"email_verified,omitempty"`
}

// needsUser reports whether scopes ask for claims from the user's record.
func needsUser(scopes []string) bool {
	return slices.Contains(scopes, oauth.ScopeProfile) || slices.Contains(scopes, oauth.ScopeEmail)
}

// claimsOf returns the claims of u that scopes allow (OIDC Core §5.4).
func claimsOf(u *oauth.User, scopes []string) userClaims {
	var c userClaims
	if slices.Contains(scopes, oauth.ScopeProfile) {
		c.Name, c.Nickname, c.GivenName, c.FamilyName, c.Picture = u.Name, u.Nickname, u.GivenName, u.FamilyName, u.Picture
		updated := u.UpdatedAt
		if updated.IsZero() {
			updated = u.CreatedAt
		}
		c.UpdatedAt = unixOrZero(updated)
	}
	if slices.Contains(scopes, oauth.ScopeEmail) {
		verified := u.EmailVerified
		c.Email, c.EmailVerified = u.Email, &verified
	}
	return c
}

// errUserGone refuses a token for a user who no longer exists.
var errUserGone = &oauth.Error{Code: oauth.InvalidGrant, Description: "the user of this grant no longer exists"}

// userClaims reads the user's record when scopes ask for its claims: one
// store read on the exchanges of grants holding profile or email, none
// otherwise.
func (h *handler) userClaims(ctx context.Context, userID string, scopes []string) (userClaims, error) {
	if !needsUser(scopes) || h.d.Users == nil {
		return userClaims{}, nil
	}
	u, err := h.d.Users.User(ctx, userID)
	if errors.Is(err, oauth.ErrNotFound) {
		return userClaims{}, errUserGone.WithCause(err)
	}
	if err != nil {
		return userClaims{}, fmt.Errorf("token: user: %w", err)
	}
	return claimsOf(u, scopes), nil
}
