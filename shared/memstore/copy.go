package memstore

import (
	"slices"

	"github.com/mrrt-auth/mrrt/shared/oauth"
)

// Deep copies. slices.Clone keeps nil as nil and empty as empty, so the
// distinction survives a round trip (nil Policies means "no MRRT policy").

func copyClient(c *oauth.Client) *oauth.Client {
	out := *c
	out.Callbacks = slices.Clone(c.Callbacks)
	out.GrantTypes = slices.Clone(c.GrantTypes)
	out.RefreshToken.Policies = copyPolicies(c.RefreshToken.Policies)
	return &out
}

func copyPolicies(ps []oauth.Policy) []oauth.Policy {
	out := slices.Clone(ps)
	for i := range out {
		out[i].Scope = slices.Clone(out[i].Scope)
	}
	return out
}

func copyResourceServer(rs *oauth.ResourceServer) *oauth.ResourceServer {
	out := *rs
	out.Scopes = slices.Clone(rs.Scopes)
	return &out
}

func copyClientGrant(g *oauth.ClientGrant) *oauth.ClientGrant {
	out := *g
	out.Scope = slices.Clone(g.Scope)
	return &out
}

func copyUser(u *oauth.User) *oauth.User {
	out := *u
	return &out
}

func copyCode(c *oauth.AuthCode) *oauth.AuthCode {
	out := *c
	out.Scopes = slices.Clone(c.Scopes)
	return &out
}

func copyFamily(f *oauth.Family) *oauth.Family {
	out := *f
	out.Scopes = slices.Clone(f.Scopes)
	return &out
}

func copyConsent(c *oauth.Consent) *oauth.Consent {
	out := *c
	out.Scopes = slices.Clone(c.Scopes)
	return &out
}
