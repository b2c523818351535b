package policyadmin

import (
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
	cfg.FillLifetimes()
	return nil
}
