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
	// PreviousMACKeyIDs are the HMAC_256 keys of earlier refresh-token
	// secrets (a rotation's overlap).
	PreviousMACKeyIDs []string
}

// Keys are the KMS-held keys of the token and policy-admin functions.
type Keys struct {
	Signer     oauth.Signer
	RefreshKey func(ctx context.Context) ([]byte, error)
	// PreviousRefreshKeys derives the secrets of PreviousMACKeyIDs, in
	// order; nil when there are none.
	PreviousRefreshKeys func(ctx context.Context) ([][]byte, error)
}

// FromConfig builds the keys of s on a KMS client of cfg, without any
// network call: keys are fetched on first use.
func FromConfig(cfg aws.Config, s Settings) (*Keys, error) {
	kc := kms.NewFromConfig(cfg)
	signer, err := NewLazySigner(kc, s.Alg, s.Current, s.Previous)
	if err != nil {
		return nil, fmt.Errorf("kmssigner: %w", err)
	}
	keys := &Keys{Signer: signer, RefreshKey: MACKey(kc, s.MACKeyID, RefreshKeyLabel)}
	if len(s.PreviousMACKeyIDs) > 0 {
		previous := make([]func(context.Context) ([]byte, error), len(s.PreviousMACKeyIDs))
		for i, id := range s.PreviousMACKeyIDs {
			previous[i] = MACKey(kc, id, RefreshKeyLabel)
		}
		keys.PreviousRefreshKeys = func(ctx context.Context) ([][]byte, error) {
			out := make([][]byte, len(previous))
			for i, key := range previous {
				k, err := key(ctx)
				if err != nil {
					return nil, err
				}
				out[i] = k
			}
			return out, nil
		}
	}
	return keys, nil
}
