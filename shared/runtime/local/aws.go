package local

import (
	"context"

	"github.com/mrrt-auth/mrrt/shared/adapters/kmssigner"
	"github.com/mrrt-auth/mrrt/shared/runtime/awsdeps"
)

// AWSDeps builds Deps on the AWS adapters from the environment, as the
// token and policy-admin functions do (DynamoDB store, KMS signer and
// refresh-token key): the AWS mode of `make run`.
func AWSDeps(ctx context.Context, getenv func(string) string) (Deps, error) {
	d, err := awsdeps.Load(ctx, getenv)
	if err != nil {
		return Deps{}, err
	}
	keys, err := kmssigner.FromConfig(d.Config, kmssigner.Settings(d.KMS))
	if err != nil {
		return Deps{}, err
	}
	if d.SigningMode == awsdeps.SigningEnvelope {
		if keys.Signer, err = kmssigner.EnvelopeFromConfig(ctx, d.Config, d.WrappedKeys, d.KMS.Alg); err != nil {
			return Deps{}, err
		}
	}
	return Deps{
		Store:          d.Store,
		Signer:         keys.Signer,
		RefreshKeyFunc: keys.RefreshKey,
		Issuer:         d.Issuer,
		AdminAudience:  d.AdminAudience,
		Roles:          d.Roles,
	}, nil
}
