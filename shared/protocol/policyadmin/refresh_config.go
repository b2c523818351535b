package policyadmin

import (
	"context"
	"errors"
	"fmt"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// refreshTokenBody is a client's refresh_token object (Auth0
// ClientRefreshTokenConfiguration, additionalProperties false).
type refreshTokenBody struct {
	RotationType              opt[string]       `json:"rotation_type"`
	ExpirationType            opt[string]       `json:"expiration_type"`
	Leeway                    opt[int]          `json:"leeway"`
	TokenLifetime             opt[int]          `json:"token_lifetime"`
	IdleTokenLifetime         opt[int]          `json:"idle_token_lifetime"`
	InfiniteTokenLifetime     opt[bool]         `json:"infinite_token_lifetime"`
	InfiniteIdleTokenLifetime opt[bool]         `json:"infinite_idle_token_lifetime"`
	Policies                  opt[[]policyBody] `json:"policies"`
}

// policyBody is one MRRT policy (Auth0 ClientRefreshTokenPolicy).
type policyBody struct {
	Audience opt[string]   `json:"audience"`
	Scope    opt[[]string] `json:"scope"`
}

// Auth0's defaults (30 days absolute, 15 days idle when rotating).
const (
	defaultTokenLifetime     = 2592000
	defaultIdleTokenLifetime = 1296000
)

// defaultRefreshConfig is the refresh_token of a new client: public clients
// rotate and expire (RFC 9700 §4.14.2), confidential ones neither.
func defaultRefreshConfig(public bool) oauth.RefreshTokenConfig {
	if public {
		return oauth.RefreshTokenConfig{
			RotationType:      oauth.RotationRotating,
			ExpirationType:    oauth.ExpirationExpiring,
			TokenLifetime:     defaultTokenLifetime,
			IdleTokenLifetime: defaultIdleTokenLifetime,
		}
	}
	return oauth.RefreshTokenConfig{
		RotationType:              oauth.RotationNonRotating,
		ExpirationType:            oauth.ExpirationNever,
		TokenLifetime:             defaultTokenLifetime,
		IdleTokenLifetime:         defaultIdleTokenLifetime,
		InfiniteTokenLifetime:     true,
		InfiniteIdleTokenLifetime: true,
	}
}

const rt = "refresh_token."

// apply writes the members present in b onto cfg. On create Auth0 requires
// rotation_type and expiration_type; on PATCH only what is present changes
// and "policies": null clears the MRRT policy.
func (b *refreshTokenBody) apply(cfg *oauth.RefreshTokenConfig, create bool) error {
	if create && !b.RotationType.Set {
		return invalidBody(rt+"rotation_type", "is required")
	}
	if create && !b.ExpirationType.Set {
		return invalidBody(rt+"expiration_type", "is required")
	}
	if v, ok, err := b.RotationType.value(rt + "rotation_type"); err != nil {
		return err
	} else if ok {
		cfg.RotationType = v
	}
	if v, ok, err := b.ExpirationType.value(rt + "expiration_type"); err != nil {
		return err
	} else if ok {
		cfg.ExpirationType = v
		// expiration_type decides whether there is an absolute lifetime:
		// infinite_token_lifetime follows it unless also given (and then
		// must agree, checked below). Non-expiring tokens have no idle
		// lifetime either (the token endpoint applies none).
		cfg.InfiniteTokenLifetime = v == oauth.ExpirationNever
		if v == oauth.ExpirationNever {
			cfg.InfiniteIdleTokenLifetime = true
		}
	}
	if v, ok, err := b.Leeway.value(rt + "leeway"); err != nil {
		return err
	} else if ok {
		if v < 0 {
			return invalidBody(rt+"leeway", "must be at least 0")
		}
		cfg.Leeway = v
	}
	for _, f := range []struct {
		name string
		in   opt[int]
		dst  *int
	}{
		{"token_lifetime", b.TokenLifetime, &cfg.TokenLifetime},
		{"idle_token_lifetime", b.IdleTokenLifetime, &cfg.IdleTokenLifetime},
	} {
		if v, ok, err := f.in.value(rt + f.name); err != nil {
			return err
		} else if ok {
			if v < 1 || v > oauth.MaxLifetimeSeconds {
				return invalidBody(rt+f.name, "must be between 1 and %d seconds", oauth.MaxLifetimeSeconds)
			}
			*f.dst = v
		}
	}
	if v, ok, err := b.InfiniteTokenLifetime.value(rt + "infinite_token_lifetime"); err != nil {
		return err
	} else if ok {
		cfg.InfiniteTokenLifetime = v
	}
	if v, ok, err := b.InfiniteIdleTokenLifetime.value(rt + "infinite_idle_token_lifetime"); err != nil {
		return err
	} else if ok {
		cfg.InfiniteIdleTokenLifetime = v
	}
	switch p := b.Policies; {
	case p.Null:
		cfg.Policies = nil
	case p.Set:
		// Auth0: minItems 1; "null" is how a policy is removed.
		if len(p.V) == 0 {
			return invalidBody(rt+"policies", "must have at least one entry, or be null to remove the policy")
		}
		ps := make([]oauth.Policy, len(p.V))
		for i, pb := range p.V {
			f := fmt.Sprintf("%spolicies[%d]", rt, i)
			if !pb.Audience.Set {
				return invalidBody(f+".audience", "is required")
			}
			if !pb.Scope.Set {
				return invalidBody(f+".scope", "is required")
			}
			aud, _, err := pb.Audience.value(f + ".audience")
			if err != nil {
				return err
			}
			scope, _, err := pb.Scope.value(f + ".scope")
			if err != nil {
				return err
			}
			ps[i] = oauth.Policy{Audience: aud, Scope: scope}
		}
		cfg.Policies = ps
	}
	// Fill lifetimes that apply but were never set.
	if !cfg.InfiniteTokenLifetime && cfg.TokenLifetime == 0 {
		cfg.TokenLifetime = defaultTokenLifetime
	}
	if !cfg.InfiniteIdleTokenLifetime && cfg.IdleTokenLifetime == 0 {
		cfg.IdleTokenLifetime = defaultIdleTokenLifetime
		if !cfg.InfiniteTokenLifetime {
			cfg.IdleTokenLifetime = min(defaultIdleTokenLifetime, cfg.TokenLifetime)
		}
	}
	return nil
}

// checkRefreshConfig applies Auth0's bounds to the refresh_token object as it
// would be stored.
func checkRefreshConfig(c *oauth.Client) error {
	cfg := &c.RefreshToken
	if err := oneOf(rt+"rotation_type", cfg.RotationType, oauth.RotationRotating, oauth.RotationNonRotating); err != nil {
		return err
	}
	if err := oneOf(rt+"expiration_type", cfg.ExpirationType, oauth.ExpirationExpiring, oauth.ExpirationNever); err != nil {
		return err
	}
	expiring := cfg.ExpirationType == oauth.ExpirationExpiring
	switch {
	case cfg.RotationType == oauth.RotationRotating && !expiring:
		return invalidBody(rt+"expiration_type", "must be expiring when rotation_type is rotating")
	case expiring && cfg.InfiniteTokenLifetime:
		return invalidBody(rt+"infinite_token_lifetime", "must be false when expiration_type is expiring")
	case !expiring && !cfg.InfiniteTokenLifetime:
		return invalidBody(rt+"infinite_token_lifetime", "must be true when expiration_type is non-expiring")
	case !expiring && !cfg.InfiniteIdleTokenLifetime:
		return invalidBody(rt+"infinite_idle_token_lifetime", "must be true when expiration_type is non-expiring")
	case c.IsPublic() && cfg.RotationType != oauth.RotationRotating:
		// RFC 9700 §4.14.2: a public client's refresh tokens must rotate.
		return invalidBody(rt+"rotation_type", "must be rotating for public clients (token_endpoint_auth_method none)")
	case cfg.Leeway < 0:
		return invalidBody(rt+"leeway", "must be at least 0")
	}
	for name, v := range map[string]int{"token_lifetime": cfg.TokenLifetime, "idle_token_lifetime": cfg.IdleTokenLifetime} {
		if v < 0 || v > oauth.MaxLifetimeSeconds {
			return invalidBody(rt+name, "must be between 1 and %d seconds", oauth.MaxLifetimeSeconds)
		}
	}
	if expiring && !cfg.InfiniteIdleTokenLifetime && cfg.IdleTokenLifetime > cfg.TokenLifetime {
		return invalidBody(rt+"idle_token_lifetime", "must not exceed token_lifetime (%d)", cfg.TokenLifetime)
	}
	return nil
}

// checkPolicies enforces the MRRT limits when a policy is written, instead of
// the token endpoint silently ignoring bad entries (Auth0 documents only the latter):
// first-party clients only; never the admin API's own audience; no duplicate
// audience; at least one scope each. With refs, each audience must be an API
// that allows skipping consent for first-party clients and defines each scope.
func (a *api) checkPolicies(ctx context.Context, c *oauth.Client, refs bool) error {
	ps := c.RefreshToken.Policies
	if len(ps) > 0 && !c.IsFirstParty {
		return invalidBody(rt+"policies", "are allowed only on first-party clients (is_first_party true)")
	}
	seen := map[string]bool{}
	for i, p := range ps {
		f := fmt.Sprintf("%spolicies[%d]", rt, i)
		if len(p.Audience) == 0 || len(p.Audience) > maxIdentifierLen {
			return invalidBody(f+".audience", "must have 1 to %d characters", maxIdentifierLen)
		}
		if p.Audience == a.d.Audience {
			return invalidBody(f+".audience", "the admin API %q can never be in a policy", p.Audience)
		}
		if seen[p.Audience] {
			return invalidBody(f+".audience", "duplicate audience %q", p.Audience)
		}
		seen[p.Audience] = true
		if len(p.Scope) == 0 {
			return invalidBody(f+".scope", "must list at least one scope")
		}
		if !refs {
			continue
		}
		rs, err := a.d.Store.ResourceServer(ctx, p.Audience)
		if errors.Is(err, oauth.ErrNotFound) {
			return invalidBody(f+".audience", "no API has the identifier %q", p.Audience)
		} else if err != nil {
			return err
		}
		if !rs.SkipConsentForVerifiableFirstPartyClients {
			return invalidBody(f+".audience", "the API %q does not allow skipping consent for first-party clients (skip_consent_for_verifiable_first_party_clients)", p.Audience)
		}
		if err := checkScopeList(f+".scope", p.Scope, rs); err != nil {
			return err
		}
	}
	return nil
}
