package kmssigner

import (
	"context"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/crypto/jws"
)

// The envelope signing mode: the signing key pair is a KMS data key pair
// (GenerateDataKeyPairWithoutPlaintext) whose private half is stored
// encrypted under a symmetric KMS key of the stack, in the table
// (oauth.WrappedKeyStore). A function decrypts the current keys once per
// cold start (one Decrypt each) and then signs in its own process: no KMS
// request per token, so the KMS request quota no longer bounds the
// exchange rate. The price: the private key is in the function's memory,
// where code execution in the function can read it (KMS Sign mode: such an
// attacker can sign while it runs, but cannot take the key away).

// EnvelopeAPI is the part of the KMS client the envelope mode uses.
type EnvelopeAPI interface {
	GenerateDataKeyPairWithoutPlaintext(ctx context.Context, in *kms.GenerateDataKeyPairWithoutPlaintextInput, opts ...func(*kms.Options)) (*kms.GenerateDataKeyPairWithoutPlaintextOutput, error)
	Decrypt(ctx context.Context, in *kms.DecryptInput, opts ...func(*kms.Options)) (*kms.DecryptOutput, error)
}

// NewWrappedKey has KMS make a key pair for alg (RS256: RSA_2048, ES256:
// ECC_NIST_P256) whose private half comes back only encrypted under
// wrapKeyID, a symmetric KMS key: the plaintext private key never exists
// outside KMS until a function decrypts it.
func NewWrappedKey(ctx context.Context, api EnvelopeAPI, wrapKeyID, alg string, now time.Time) (*oauth.WrappedKey, error) {
	spec := types.DataKeyPairSpecRsa2048
	switch alg {
	case oauth.AlgRS256:
	case oauth.AlgES256:
		spec = types.DataKeyPairSpecEccNistP256
	default:
		return nil, fmt.Errorf("kmssigner: %w: %q", oauth.ErrUnsupportedAlg, alg)
	}
	out, err := call(ctx, wrapKeyID, "GenerateDataKeyPairWithoutPlaintext", func(ctx context.Context) (*kms.GenerateDataKeyPairWithoutPlaintextOutput, error) {
		return api.GenerateDataKeyPairWithoutPlaintext(ctx, &kms.GenerateDataKeyPairWithoutPlaintextInput{KeyId: aws.String(wrapKeyID), KeyPairSpec: spec}, noSDKRetry)
	})
	if err != nil {
		return nil, err
	}
	pub, err := x509.ParsePKIXPublicKey(out.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("kmssigner: data key pair public key: %w", err)
	}
	if got, err := jws.KeyAlg(pub); err != nil || got != alg {
		return nil, fmt.Errorf("kmssigner: data key pair is %s (%v), want %s", got, err, alg)
	}
	kid, err := jws.Thumbprint(pub)
	if err != nil {
		return nil, err
	}
	return &oauth.WrappedKey{KeyID: kid, Alg: alg, PublicKey: out.PublicKey, PrivateKey: out.PrivateKeyCiphertextBlob,
		CreatedAt: now.UTC()}, nil
}

// LoadEnvelopeSigner reads the key pairs of store, decrypts the current
// ones (one Decrypt each) and returns a signer that signs with them in
// this process and publishes every key's public half; the current key of
// defaultAlg signs when no algorithm is asked for. Call it at init: a key
// that cannot be decrypted fails the init.
func LoadEnvelopeSigner(ctx context.Context, api EnvelopeAPI, store oauth.WrappedKeyStore, defaultAlg string) (oauth.Signer, error) {
	keys, err := store.WrappedKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("kmssigner: envelope keys: %w", err)
	}
	var current []jws.DigestSigner
	var published []oauth.PublicKey
	for _, k := range keys {
		if !k.Current {
			pk, err := publicKeyOf(k)
			if err != nil {
				return nil, err
			}
			published = append(published, pk)
			continue
		}
		out, err := callLogging(ctx, k.KeyID, "Decrypt", false, func(ctx context.Context) (*kms.DecryptOutput, error) {
			return api.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: k.PrivateKey}, noSDKRetry)
		})
		if err != nil {
			return nil, err
		}
		priv, err := x509.ParsePKCS8PrivateKey(out.Plaintext)
		clear(out.Plaintext)
		if err != nil {
			return nil, fmt.Errorf("kmssigner: envelope key %s: %w", k.KeyID, err)
		}
		signer, ok := priv.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("kmssigner: envelope key %s: %T is no signer", k.KeyID, priv)
		}
		dk, err := jws.NewLocalKey(signer)
		if err != nil {
			return nil, fmt.Errorf("kmssigner: envelope key %s: %w", k.KeyID, err)
		}
		if dk.KeyID() != k.KeyID || dk.Alg() != k.Alg {
			return nil, fmt.Errorf("kmssigner: envelope key %s decrypts to key %s (%s)", k.KeyID, dk.KeyID(), dk.Alg())
		}
		current = append(current, dk)
	}
	// The default algorithm's key first: it signs when none is asked for.
	slices.SortStableFunc(current, func(a, b jws.DigestSigner) int {
		switch {
		case a.Alg() == defaultAlg && b.Alg() != defaultAlg:
			return -1
		case b.Alg() == defaultAlg && a.Alg() != defaultAlg:
			return 1
		}
		return 0
	})
	if len(current) == 0 || current[0].Alg() != defaultAlg {
		return nil, fmt.Errorf("kmssigner: no current envelope key of %s (run infra/awssetup -envelope)", defaultAlg)
	}
	ks, err := jws.NewKeySet(current, published)
	if err != nil {
		return nil, fmt.Errorf("kmssigner: %w", err)
	}
	return ks, nil
}

func publicKeyOf(k oauth.WrappedKey) (oauth.PublicKey, error) {
	pub, err := x509.ParsePKIXPublicKey(k.PublicKey)
	if err != nil {
		return oauth.PublicKey{}, fmt.Errorf("kmssigner: envelope key %s: %w", k.KeyID, err)
	}
	return oauth.PublicKey{KeyID: k.KeyID, Alg: k.Alg, Key: pub}, nil
}

// envelopeKeysTTL is how long EnvelopePublicKeys serves the keys it read.
const envelopeKeysTTL = 5 * time.Minute

// EnvelopePublicKeys returns the public keys of store's key pairs, current
// ones first, read at most every 5 minutes: what the admin API verifies
// its tokens with, without decrypting anything.
func EnvelopePublicKeys(store oauth.WrappedKeyStore, now func() time.Time) func(ctx context.Context) ([]oauth.PublicKey, error) {
	var mu sync.Mutex
	var keys []oauth.PublicKey
	var read time.Time
	return func(ctx context.Context) ([]oauth.PublicKey, error) {
		mu.Lock()
		defer mu.Unlock()
		if keys != nil && now().Sub(read) < envelopeKeysTTL {
			return keys, nil
		}
		wrapped, err := store.WrappedKeys(ctx)
		if err != nil {
			if keys != nil {
				return keys, nil // the last keys read, while the table cannot be read
			}
			return nil, err
		}
		slices.SortStableFunc(wrapped, func(a, b oauth.WrappedKey) int {
			switch {
			case a.Current && !b.Current:
				return -1
			case b.Current && !a.Current:
				return 1
			}
			return 0
		})
		out := make([]oauth.PublicKey, 0, len(wrapped))
		for _, k := range wrapped {
			pk, err := publicKeyOf(k)
			if err != nil {
				return nil, err
			}
			out = append(out, pk)
		}
		if len(out) == 0 {
			return nil, errors.New("kmssigner: no envelope keys in the table")
		}
		keys, read = out, now()
		return keys, nil
	}
}

// EnvelopeFromConfig is LoadEnvelopeSigner with a KMS client of cfg.
func EnvelopeFromConfig(ctx context.Context, cfg aws.Config, store oauth.WrappedKeyStore, defaultAlg string) (oauth.Signer, error) {
	return LoadEnvelopeSigner(ctx, kms.NewFromConfig(cfg), store, defaultAlg)
}
