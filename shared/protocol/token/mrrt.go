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
//  4. allowed is cut to the scopes the API defines today (the original
//     grant's OIDC scopes stay for the original audience); policy entries
//     naming unknown APIs or scopes drop out; a vanished API is invalid_target;
//  5. scope omitted → allowed; scope given → requested ∩ allowed, unknown
//     ones dropped, nothing left → invalid_scope;
//  6. policies apply only to first-party clients;
//  7. the family's scopes are never changed (nothing here writes);
//  8. id_token only for the original audience when openid was granted.

// targetAudience picks the audience of the access token (rules 1–3, 6).
// requested is the audience/resource parameter, "" when omitted.
func targetAudience(f *oauth.Family, c *oauth.Client, requested string) (string, error) {
	if requested == "" || requested == f.Audience {
		return f.Audience, nil
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
	if api.Identifier == f.Audience {
		for _, s := range f.Scopes {
			if oauth.IsOIDCScope(s) || api.HasScope(s) {
				add(s)
			}
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
func issuesIDToken(f *oauth.Family, audience string) bool {
	return audience == f.Audience && slices.Contains(f.Scopes, oauth.ScopeOpenID)
}
