package oauth

import "slices"

// Deep copies, for stores and caches that hand out values callers may
// modify. slices.Clone keeps nil as nil and empty as empty, so "no MRRT
// policy" (nil Policies) survives a copy.

func (c *Client) Clone() *Client {
	out := *c
	out.Callbacks = slices.Clone(c.Callbacks)
	out.GrantTypes = slices.Clone(c.GrantTypes)
	out.AllowedOrigins = slices.Clone(c.AllowedOrigins)
	out.WebOrigins = slices.Clone(c.WebOrigins)
	out.AllowedLogoutURLs = slices.Clone(c.AllowedLogoutURLs)
	if m := c.ClientAuthenticationMethods; m != nil {
		cm := *m
		if m.PrivateKeyJWT != nil {
			pk := *m.PrivateKeyJWT
			pk.Credentials = slices.Clone(pk.Credentials)
			cm.PrivateKeyJWT = &pk
		}
		out.ClientAuthenticationMethods = &cm
	}
	out.Credentials = slices.Clone(c.Credentials)
	for i, cr := range out.Credentials {
		if cr.ExpiresAt != nil {
			t := *cr.ExpiresAt
			out.Credentials[i].ExpiresAt = &t
		}
	}
	if c.JWTConfiguration != nil {
		jc := *c.JWTConfiguration
		out.JWTConfiguration = &jc
	}
	out.RefreshToken.Policies = slices.Clone(c.RefreshToken.Policies)
	for i := range out.RefreshToken.Policies {
		out.RefreshToken.Policies[i].Scope = slices.Clone(out.RefreshToken.Policies[i].Scope)
	}
	return &out
}

func (rs *ResourceServer) Clone() *ResourceServer {
	out := *rs
	out.Scopes = slices.Clone(rs.Scopes)
	if rs.ProofOfPossession != nil {
		pop := *rs.ProofOfPossession
		out.ProofOfPossession = &pop
	}
	return &out
}

func (g *ClientGrant) Clone() *ClientGrant {
	out := *g
	out.Scope = slices.Clone(g.Scope)
	return &out
}

func (u *User) Clone() *User {
	out := *u
	return &out
}

func (c *AuthCode) Clone() *AuthCode {
	out := *c
	out.Scopes = slices.Clone(c.Scopes)
	return &out
}

func (f *Family) Clone() *Family {
	out := *f
	out.Scopes = slices.Clone(f.Scopes)
	return &out
}

func (c *Consent) Clone() *Consent {
	out := *c
	out.Scopes = slices.Clone(c.Scopes)
	return &out
}

func (s *Session) Clone() *Session {
	out := *s
	return &out
}
