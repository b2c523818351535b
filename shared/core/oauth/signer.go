package oauth

import (
	"context"
	"crypto"
	"errors"
	"time"
)

// Signer signs JWTs. The local signer (dev and tests) and the KMS signer
// implement it. Private keys never leave the signer.
type Signer interface {
	// Sign returns a compact JWS of claims (JSON-encoded) with the protected
	// header {"alg", "kid", "typ"}. alg "" means the signer's default
	// algorithm. An alg the signer has no key for is an error wrapping
	// ErrUnsupportedAlg; a transient failure wraps ErrUnavailable.
	Sign(ctx context.Context, alg, typ string, claims any) (string, error)
	// PublicKeys returns every key a verifier may meet: the current key per
	// algorithm first, then previous keys kept for rotation. It must not
	// call a remote service per request.
	PublicKeys(ctx context.Context) ([]PublicKey, error)
	// DefaultAlg is the algorithm used when Sign gets alg "".
	DefaultAlg() string
}

// PublicKey is a verification key, as published in the JWKS.
type PublicKey struct {
	KeyID string
	Alg   string // RS256 or ES256
	Key   crypto.PublicKey
}

// ErrUnsupportedAlg: the signer holds no key for the requested algorithm.
var ErrUnsupportedAlg = errors.New("oauth: unsupported signing algorithm")

// WrappedKey is a signing key pair of the envelope signing mode: a KMS data
// key pair whose private half is kept encrypted under a KMS key of the
// stack (the wrapped private key) and decrypted in the function once per
// cold start.
type WrappedKey struct {
	KeyID      string // the public key's RFC 7638 thumbprint (kid)
	Alg        string // RS256 or ES256
	PublicKey  []byte // PKIX DER
	PrivateKey []byte // KMS ciphertext of the PKCS #8 DER private key
	// Current keys sign (one per algorithm); the others are only published
	// in the JWKS, for the overlap of a rotation.
	Current   bool
	CreatedAt time.Time
}

// WrappedKeyStore holds the envelope mode's key pairs.
type WrappedKeyStore interface {
	WrappedKeys(ctx context.Context) ([]WrappedKey, error)    // sorted by CreatedAt, newest first
	PutWrappedKey(ctx context.Context, k *WrappedKey) error   // creates or replaces (by KeyID)
	DeleteWrappedKey(ctx context.Context, keyID string) error // ErrNotFound
}
