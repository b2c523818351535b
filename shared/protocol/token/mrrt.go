package token

import (
	"slices"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// The MRRT rules (Auth0's documented evaluation logic), as pure functions. With orig the
// family's audience and scopes and P the client's policies:
//
//  1. audience omitted or equal to orig → allowed = orig scopes ∪ P's scopes for it;
//  2. another audience listed in P      → allowed = that policy's scopes;
//  3. any other audience                → invalid_target, never a fall-back;
//  4. allowed is cut to the scopes the API defines today; the grant's OIDC
//     scopes (openid, profile, email, offline_access) are carried to every
//     audience (Auth0 echoes them on MRRT exchanges, and its SPA SDK checks
//     that the response's scope holds all it asked for); policy entries
//     naming unknown APIs or scopes drop out; a vanished API is invalid_target;
//  5. scope omitted → allowed; scope given → requested ∩ allowed, unknown
//     ones dropped, nothing left → invalid_scope;
//  6. policies apply only to first-party clients;
//  7. the family's scopes are never changed (nothing here writes);
//  8. an id_token on every exchange, any audience, when openid was granted
//     (Auth0's SPA SDK verifies one on every token response);
//  9. the rules the admin API enforces when a policy is written hold at
//     every exchange, against the APIs as they are now (checkGrantToday).

// targetAudience picks the audience of the access token (rules 1–3, 6).
// requested is the audience/resource parameter, "" when omitted.
func targetAudience(f *oauth.Family, c *oauth.Client, requested, userinfo string) (string, error) {
	if requested == "" || requested == f.Audience {
		return f.Audience, nil
	}
	if requested == userinfo && slices.Contains(f.Scopes, oauth.ScopeOpenID) {
		return requested, nil // the user's own claims: always reachable by an openid grant
	}
	for _, p := range policies(c) {
		if p.Audience == requested {
			return requested, nil
		}
	}
	// RFC 8707 §2: the client may not use this resource.
	return "", oauth.Errorf(oauth.InvalidTarget, "audience is not allowed for this refresh token")
}

// policies returns the MRRT policies that apply to c (rule 6).
func policies(c *oauth.Client) []oauth.Policy {
	if !c.IsFirstParty {
		return nil
	}
	return c.RefreshToken.Policies
}

// allowedScopes is the set an exchange for api may grant (rules 1, 2, 4).
// api is the resource server of the target audience as it is today.
func allowedScopes(f *oauth.Family, c *oauth.Client, api *oauth.ResourceServer) []string {
	allowed := make([]string, 0, len(f.Scopes)+4)
	add := func(s string) {
		if !slices.Contains(allowed, s) {
			allowed = append(allowed, s)
		}
	}
	for _, s := range f.Scopes {
		if oauth.IsOIDCScope(s) || (api.Identifier == f.Audience && api.HasScope(s)) {
			add(s)
		}
	}
	for _, p := range policies(c) {
		if p.Audience != api.Identifier {
			continue
		}
		for _, s := range p.Scope {
			if api.HasScope(s) {
				add(s)
			}
		}
	}
	return allowed
}

// checkGrantToday applies rule 9: the original API must still allow offline
// access, and an API reached through a policy must still allow skipping
// consent (Auth0: MRRT only reaches such APIs; a user who was asked for
// consent there and denied it must not get tokens for it by MRRT) and keep
// at least one of the policy's scopes. origin is the family's API, api the
// target's (the same for the original audience), allowed the scopes the
// exchange may grant.
func checkGrantToday(f *oauth.Family, origin, api *oauth.ResourceServer, allowed []string, userinfo bool) error {
	if !origin.AllowOfflineAccess {
		// RFC 6749 §5.2 invalid_grant: the refresh token is the grant of
		// offline access to its original API; with that withdrawn the grant
		// is no longer valid, for every audience.
		return errOfflineAccessWithdrawn
	}
	if api.Identifier == f.Audience {
		return nil
	}
	if !api.ReachableByMRRT() {
		// RFC 8707 §2: the client may no longer use this resource.
		return errTargetNeedsConsent
	}
	if userinfo {
		return nil // no policy involved: the user's own claims
	}
	if !slices.ContainsFunc(allowed, func(s string) bool { return !oauth.IsOIDCScope(s) }) {
		return errPolicyScopesGone
	}
	return nil
}

// Errors of rule 9, built once.
var (
	errOfflineAccessWithdrawn = &oauth.Error{Code: oauth.InvalidGrant, Description: "the API of this refresh token no longer allows offline access"}
	errTargetNeedsConsent     = &oauth.Error{Code: oauth.InvalidTarget, Description: "the audience requires user consent and cannot be reached with this refresh token"}
	errPolicyScopesGone       = &oauth.Error{Code: oauth.InvalidTarget, Description: "the audience no longer defines any scope this refresh token may reach"}
)

// grantScopes applies the scope parameter to allowed (rule 5, RFC 6749
// §3.3: the server may drop what it will not grant, and then says so in
// the response's scope).
func grantScopes(allowed, requested []string) ([]string, error) {
	if len(requested) == 0 {
		return allowed, nil
	}
	granted := make([]string, 0, len(requested))
	for _, s := range allowed {
		if slices.Contains(requested, s) {
			granted = append(granted, s)
		}
	}
	if len(granted) == 0 {
		return nil, oauth.Errorf(oauth.InvalidScope, "none of the requested scopes is allowed for this audience")
	}
	return granted, nil
}

// issuesIDToken is rule 8.
func issuesIDToken(f *oauth.Family) bool {
	return slices.Contains(f.Scopes, oauth.ScopeOpenID)
}
