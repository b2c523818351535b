package kmssigner

import (
	"bytes"
	"context"
	"fmt"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
)

// MACAPI is the part of *kms.Client that MACKey uses.
type MACAPI interface {
	GenerateMac(ctx context.Context, in *kms.GenerateMacInput, optFns ...func(*kms.Options)) (*kms.GenerateMacOutput, error)
}

// MACKey returns the server secret for refresh-token MACs: the
// HMAC-SHA-256 of label under the KMS HMAC_256 key keyID (key usage
// GENERATE_VERIFY_MAC). KMS HMAC is deterministic, so every instance
// derives the same 32 bytes, and the secret exists only in KMS and in the
// memory of running instances. It is fetched by the first call and cached;
// a failed fetch is retried by the next call. Changing label (or the key)
// changes the secret, which invalidates every refresh token issued.
func MACKey(api MACAPI, keyID, label string) func(ctx context.Context) ([]byte, error) {
	var (
		mu  sync.Mutex
		key []byte
	)
	return func(ctx context.Context) ([]byte, error) {
		mu.Lock()
		defer mu.Unlock()
		if key != nil {
			return bytes.Clone(key), nil
		}
		out, err := call(ctx, keyID, "GenerateMac", func(ctx context.Context) (*kms.GenerateMacOutput, error) {
			return api.GenerateMac(ctx, &kms.GenerateMacInput{
				KeyId:        &keyID,
				Message:      []byte(label),
				MacAlgorithm: types.MacAlgorithmSpecHmacSha256,
			}, noSDKRetry)
		})
		if err != nil {
			return nil, err
		}
		if len(out.Mac) < 32 {
			return nil, fmt.Errorf("kmssigner: GenerateMac %s: %d-byte MAC, want 32", keyID, len(out.Mac))
		}
		key = out.Mac
		return bytes.Clone(key), nil
	}
}
