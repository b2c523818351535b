// Package kmssigner signs JWTs with AWS KMS asymmetric keys: RS256 with an
// RSA_2048/3072/4096 SIGN_VERIFY key (RSASSA_PKCS1_V1_5_SHA_256), ES256
// with an ECC_NIST_P256 key (ECDSA_SHA_256). The key's spec decides the
// algorithm. Private keys never leave KMS.
//
// Sign sends the SHA-256 digest (MessageType DIGEST): a JWT's signing input
// may exceed the 4,096 bytes KMS accepts as a RAW message. Public keys are
// fetched once per instance with GetPublicKey, and the kid is the key's
// RFC 7638 thumbprint, so the JWKS never calls KMS. Rotation is by alias:
// an alias is resolved to its key when the keys are loaded, and the old key
// goes into the previous list, which is published but not used to sign.
//
// KMS calls are retried here, not by the SDK (each call turns the SDK's
// retryer off): ThrottlingException, KMSInternalException,
// DependencyTimeoutException, KeyUnavailableException and connection
// failures get up to 3 attempts with a short jittered backoff, then an
// error wrapping oauth.ErrUnavailable (503). Disabled, missing or unusable
// keys fail at once with a plain error (500) and an error log line that
// names the key.
package kmssigner

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/crypto/jws"
)

// KMSAPI is the part of *kms.Client the signer uses.
type KMSAPI interface {
	GetPublicKey(ctx context.Context, in *kms.GetPublicKeyInput, optFns ...func(*kms.Options)) (*kms.GetPublicKeyOutput, error)
	Sign(ctx context.Context, in *kms.SignInput, optFns ...func(*kms.Options)) (*kms.SignOutput, error)
}

// Key is one KMS signing key; it implements jws.DigestSigner.
type Key struct {
	api    KMSAPI
	arn    string // the key itself, never an alias: kid and key must not drift apart
	kid    string
	alg    string
	sigAlg types.SigningAlgorithmSpec
	pub    crypto.PublicKey
}

var _ jws.DigestSigner = (*Key)(nil)

// New fetches the public key of each of keyIDs (key id, ARN, alias name or
// alias ARN) with one GetPublicKey each, and checks that it is a signing
// key of a supported spec.
func New(ctx context.Context, api KMSAPI, keyIDs ...string) ([]*Key, error) {
	keys := make([]*Key, 0, len(keyIDs))
	for _, id := range keyIDs {
		k, err := load(ctx, api, id)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, nil
}

func load(ctx context.Context, api KMSAPI, keyID string) (*Key, error) {
	out, err := call(ctx, keyID, "GetPublicKey", func(ctx context.Context) (*kms.GetPublicKeyOutput, error) {
		return api.GetPublicKey(ctx, &kms.GetPublicKeyInput{KeyId: &keyID}, noSDKRetry)
	})
	if err != nil {
		return nil, err
	}
	k := &Key{api: api, arn: keyID}
	if out.KeyId != nil {
		k.arn = *out.KeyId
	}
	if err := k.check(out); err != nil {
		err = fmt.Errorf("kmssigner: key %s: %w", keyID, err)
		slog.Error("kmssigner: KMS key unusable", slog.String("key_id", keyID), slog.Any("error", err))
		return nil, err
	}
	if k.kid, err = jws.Thumbprint(k.pub); err != nil {
		return nil, fmt.Errorf("kmssigner: key %s: %w", keyID, err)
	}
	return k, nil
}

// check fills in the algorithm and public key from GetPublicKey's answer.
func (k *Key) check(out *kms.GetPublicKeyOutput) error {
	if out.KeyUsage != types.KeyUsageTypeSignVerify {
		return fmt.Errorf("key usage is %q, want SIGN_VERIFY", out.KeyUsage)
	}
	pub, err := x509.ParsePKIXPublicKey(out.PublicKey)
	if err != nil {
		return fmt.Errorf("public key: %w", err)
	}
	switch out.KeySpec {
	case types.KeySpecRsa2048, types.KeySpecRsa3072, types.KeySpecRsa4096:
		if _, ok := pub.(*rsa.PublicKey); !ok {
			return fmt.Errorf("key spec %s but public key is %T", out.KeySpec, pub)
		}
		k.alg, k.sigAlg = oauth.AlgRS256, types.SigningAlgorithmSpecRsassaPkcs1V15Sha256
	case types.KeySpecEccNistP256:
		if ec, ok := pub.(*ecdsa.PublicKey); !ok || ec.Curve != elliptic.P256() {
			return fmt.Errorf("key spec %s but public key is %T", out.KeySpec, pub)
		}
		k.alg, k.sigAlg = oauth.AlgES256, types.SigningAlgorithmSpecEcdsaSha256
	default:
		return fmt.Errorf("key spec %q is not supported (want RSA_2048/3072/4096 or ECC_NIST_P256)", out.KeySpec)
	}
	if len(out.SigningAlgorithms) > 0 && !slices.Contains(out.SigningAlgorithms, k.sigAlg) {
		return fmt.Errorf("key does not offer %s", k.sigAlg)
	}
	k.pub = pub
	return nil
}

// KeyID is the RFC 7638 thumbprint of the public key.
func (k *Key) KeyID() string { return k.kid }

// Alg is RS256 or ES256.
func (k *Key) Alg() string { return k.alg }

// Public returns the public key.
func (k *Key) Public() crypto.PublicKey { return k.pub }

// ARN is the KMS key the signatures come from.
func (k *Key) ARN() string { return k.arn }

// PublicKey returns the key as published in the JWKS.
func (k *Key) PublicKey() oauth.PublicKey {
	return oauth.PublicKey{KeyID: k.kid, Alg: k.alg, Key: k.pub}
}

// SignDigest signs a SHA-256 digest with one KMS Sign request (DIGEST).
// KMS returns PKCS #1 v1.5 bytes for RS256 and ASN.1 DER for ES256, as
// jws.DigestSigner expects.
func (k *Key) SignDigest(ctx context.Context, digest []byte) ([]byte, error) {
	out, err := call(ctx, k.arn, "Sign", func(ctx context.Context) (*kms.SignOutput, error) {
		return k.api.Sign(ctx, &kms.SignInput{
			KeyId:            &k.arn,
			Message:          digest,
			MessageType:      types.MessageTypeDigest,
			SigningAlgorithm: k.sigAlg,
		}, noSDKRetry)
	})
	if err != nil {
		return nil, err
	}
	return out.Signature, nil
}

// NewSigner fetches the keys now and returns a signer with one current key
// per algorithm (the first one's algorithm is the default) that also
// publishes the previous keys.
func NewSigner(ctx context.Context, api KMSAPI, current, previous []string) (oauth.Signer, error) {
	return newKeySet(ctx, api, current, previous)
}

func newKeySet(ctx context.Context, api KMSAPI, current, previous []string) (*jws.KeySet, error) {
	if len(current) == 0 {
		return nil, errors.New("kmssigner: no current key")
	}
	cur, err := New(ctx, api, current...)
	if err != nil {
		return nil, err
	}
	prev, err := New(ctx, api, previous...)
	if err != nil {
		return nil, err
	}
	signers := make([]jws.DigestSigner, len(cur))
	for i, k := range cur {
		signers[i] = k
	}
	published := make([]oauth.PublicKey, len(prev))
	for i, k := range prev {
		published[i] = k.PublicKey()
	}
	ks, err := jws.NewKeySet(signers, published)
	if err != nil {
		return nil, fmt.Errorf("kmssigner: %w", err)
	}
	return ks, nil
}

// LazySigner is NewSigner deferred to first use, so that a Lambda's init
// phase makes no KMS call. The keys are fetched once, by the first Sign or
// PublicKeys; a failed fetch is retried by the next call. The default
// algorithm is declared rather than discovered, because DefaultAlg has no
// context and handlers read it while they are built (the discovery
// document); the first current key must match it.
type LazySigner struct {
	api               KMSAPI
	defaultAlg        string
	current, previous []string

	mu sync.Mutex // serializes loads
	ks atomic.Pointer[jws.KeySet]
}

var _ oauth.Signer = (*LazySigner)(nil)

// NewLazySigner returns a LazySigner whose first current key must be of
// algorithm defaultAlg (RS256 or ES256); it calls no AWS API.
func NewLazySigner(api KMSAPI, defaultAlg string, current, previous []string) (*LazySigner, error) {
	if defaultAlg != oauth.AlgRS256 && defaultAlg != oauth.AlgES256 {
		return nil, fmt.Errorf("kmssigner: default algorithm %q, want RS256 or ES256", defaultAlg)
	}
	if len(current) == 0 {
		return nil, errors.New("kmssigner: no current key")
	}
	return &LazySigner{api: api, defaultAlg: defaultAlg, current: slices.Clone(current), previous: slices.Clone(previous)}, nil
}

func (l *LazySigner) keySet(ctx context.Context) (*jws.KeySet, error) {
	if ks := l.ks.Load(); ks != nil {
		return ks, nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if ks := l.ks.Load(); ks != nil {
		return ks, nil
	}
	ks, err := newKeySet(ctx, l.api, l.current, l.previous)
	if err != nil {
		return nil, err
	}
	if got := ks.DefaultAlg(); got != l.defaultAlg {
		err := fmt.Errorf("kmssigner: key %s is %s, but the default algorithm is %s", l.current[0], got, l.defaultAlg)
		slog.Error("kmssigner: KMS key does not match the configured default algorithm", slog.String("key_id", l.current[0]), slog.Any("error", err))
		return nil, err
	}
	l.ks.Store(ks)
	return ks, nil
}

// Sign implements oauth.Signer.
func (l *LazySigner) Sign(ctx context.Context, alg, typ string, claims any) (string, error) {
	ks, err := l.keySet(ctx)
	if err != nil {
		return "", err
	}
	return ks.Sign(ctx, alg, typ, claims)
}

// PublicKeys implements oauth.Signer; KMS is called only on first use.
func (l *LazySigner) PublicKeys(ctx context.Context) ([]oauth.PublicKey, error) {
	ks, err := l.keySet(ctx)
	if err != nil {
		return nil, err
	}
	return ks.PublicKeys(ctx)
}

// DefaultAlg implements oauth.Signer with the declared algorithm; it
// never calls KMS.
func (l *LazySigner) DefaultAlg() string { return l.defaultAlg }
