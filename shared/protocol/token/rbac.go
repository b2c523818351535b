package token

import (
	"context"
	"fmt"
	"slices"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// rbac applies an API's RBAC (Auth0's enforce_policies) to a user's
// scopes: the API's scopes are cut to the user's current permissions on it,
// read on every issuance (code exchange and every refresh, MRRT included),
// so a permission removed from a user or a role is gone from the next
// token; OIDC scopes and offline_access stay. requested are the scopes the
// token request named ("" none): if they named API scopes and none is
// left, the answer is invalid_scope. allowed are the API scopes the grant
// or MRRT policy allows; with an _authz token dialect, the permissions
// claim lists the user's permissions among them. APIs without RBAC cost
// nothing: no read.
func (h *handler) rbac(ctx context.Context, api *oauth.ResourceServer, userID string, scopes, requested, allowed []string) (kept, permissions []string, err error) {
	if !api.EnforcePolicies {
		return scopes, nil, nil
	}
	if h.d.Permissions == nil {
		return nil, nil, fmt.Errorf("token: API %s enforces RBAC but no permission store is wired", api.Identifier)
	}
	held, err := h.d.Permissions.EffectivePermissions(ctx, userID, api.Identifier)
	if err != nil {
		return nil, nil, fmt.Errorf("token: permissions of the user: %w", err)
	}
	kept = make([]string, 0, len(scopes))
	apiScopes := 0
	for _, s := range scopes {
		switch {
		case oauth.IsOIDCScope(s):
			kept = append(kept, s)
		case slices.Contains(held, s):
			kept = append(kept, s)
			apiScopes++
		}
	}
	if apiScopes == 0 && slices.ContainsFunc(requested, func(s string) bool { return !oauth.IsOIDCScope(s) }) {
		return nil, nil, oauth.Errorf(oauth.InvalidScope, "the user holds none of the requested permissions on this API")
	}
	if api.PermissionsClaim() {
		permissions = []string{}
		for _, p := range held {
			if slices.Contains(allowed, p) {
				permissions = append(permissions, p)
			}
		}
	}
	return kept, permissions, nil
}
