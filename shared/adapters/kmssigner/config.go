package kmssigner

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// RefreshKeyLabel is the message whose HMAC under the MAC key is the
// refresh-token secret. Changing it invalidates every refresh token.
const RefreshKeyLabel = "mrrt refresh-token key v1"

// Settings name the keys of a deployment (awsdeps.KMSSettings has the same
// fields; the functions convert one into the other).
type Settings struct {
	Alg      string   // the default signing algorithm, RS256 or ES256
	Current  []string // current signing keys: id, ARN or alias
	Previous []string // keys still published in the JWKS
	MACKeyID string   // HMAC_256 key deriving the refresh-token secret
}

// Keys are the KMS-held keys of the token and policy-admin functions.
type Keys struct {
	Signer     oauth.Signer
	RefreshKey func(ctx context.Context) ([]byte, error)
}

// FromConfig builds the keys of s on a KMS client of cfg, without any
// network call: keys are fetched on first use.
func FromConfig(cfg aws.Config, s Settings) (*Keys, error) {
	kc := kms.NewFromConfig(cfg)
	signer, err := NewLazySigner(kc, s.Alg, s.Current, s.Previous)
	if err != nil {
		return nil, fmt.Errorf("kmssigner: %w", err)
	}
	return &Keys{Signer: signer, RefreshKey: MACKey(kc, s.MACKeyID, RefreshKeyLabel)}, nil
}
