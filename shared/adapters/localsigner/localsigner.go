// Package localsigner is an oauth.Signer with in-process keys, for the dev
// server and tests: RS256 (RSA-2048) and ES256 (P-256).
package localsigner

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"slices"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/crypto/jws"
)

// DefaultAlgs are the algorithms Generate and LoadOrCreate use when given
// none; RS256 first because every resource server must support it
// (RFC 9068 §2.1).
var DefaultAlgs = []string{oauth.AlgRS256, oauth.AlgES256}

// minRSABits is the smallest RSA key New accepts (NIST SP 800-57: 112-bit strength).
const minRSABits = 2048

// Signer signs with its keys through a jws.KeySet.
type Signer struct {
	*jws.KeySet
}

var _ oauth.Signer = (*Signer)(nil)

// Generate returns a Signer with a fresh key per alg (default DefaultAlgs);
// the first alg is the default.
func Generate(algs ...string) (*Signer, error) {
	algs, err := checkAlgs(algs)
	if err != nil {
		return nil, err
	}
	keys := make([]crypto.Signer, 0, len(algs))
	for _, alg := range algs {
		k, err := generateKey(alg)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return New(keys...)
}

// New returns a Signer over keys: *rsa.PrivateKey signs RS256 and P-256
// *ecdsa.PrivateKey signs ES256; the first key's alg is the default.
func New(keys ...crypto.Signer) (*Signer, error) {
	return newSigner(keys, nil)
}

func newSigner(keys []crypto.Signer, previous []oauth.PublicKey) (*Signer, error) {
	current := make([]jws.DigestSigner, 0, len(keys))
	for _, k := range keys {
		dk, err := newKey(k)
		if err != nil {
			return nil, err
		}
		current = append(current, dk)
	}
	ks, err := jws.NewKeySet(current, previous)
	if err != nil {
		return nil, err
	}
	return &Signer{KeySet: ks}, nil
}

// checkAlgs returns algs, or DefaultAlgs if empty, after rejecting unknown
// and repeated algorithms.
func checkAlgs(algs []string) ([]string, error) {
	if len(algs) == 0 {
		return DefaultAlgs, nil
	}
	for i, alg := range algs {
		if alg != oauth.AlgRS256 && alg != oauth.AlgES256 {
			return nil, fmt.Errorf("localsigner: %w: %q", oauth.ErrUnsupportedAlg, alg)
		}
		if slices.Contains(algs[:i], alg) {
			return nil, fmt.Errorf("localsigner: %s listed twice", alg)
		}
	}
	return algs, nil
}

func generateKey(alg string) (crypto.Signer, error) {
	switch alg {
	case oauth.AlgRS256:
		return rsa.GenerateKey(rand.Reader, minRSABits)
	case oauth.AlgES256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		return nil, fmt.Errorf("localsigner: %w: %q", oauth.ErrUnsupportedAlg, alg)
	}
}

// key is one private key as a jws.DigestSigner.
type key struct {
	kid, alg string
	priv     crypto.Signer
	pub      crypto.PublicKey
}

func newKey(priv crypto.Signer) (*key, error) {
	alg, err := keyAlg(priv.Public())
	if err != nil {
		return nil, err
	}
	kid, err := jws.Thumbprint(priv.Public())
	if err != nil {
		return nil, err
	}
	return &key{kid: kid, alg: alg, priv: priv, pub: priv.Public()}, nil
}

// keyAlg returns the JWS algorithm for a public key.
func keyAlg(pub crypto.PublicKey) (string, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < minRSABits {
			return "", fmt.Errorf("localsigner: RSA key of %d bits, want at least %d", k.N.BitLen(), minRSABits)
		}
		return oauth.AlgRS256, nil
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return "", fmt.Errorf("localsigner: ECDSA key on %s, want P-256", k.Curve.Params().Name)
		}
		return oauth.AlgES256, nil
	default:
		return "", fmt.Errorf("localsigner: unsupported key type %T", pub)
	}
}

func (k *key) KeyID() string            { return k.kid }
func (k *key) Alg() string              { return k.alg }
func (k *key) Public() crypto.PublicKey { return k.pub }

// SignDigest signs like KMS does: PKCS #1 v1.5 for RS256, ASN.1 DER for
// ES256, so the DER to R||S conversion in jws runs for local keys too.
func (k *key) SignDigest(_ context.Context, digest []byte) ([]byte, error) {
	switch priv := k.priv.(type) {
	case *ecdsa.PrivateKey:
		return ecdsa.SignASN1(rand.Reader, priv, digest)
	default:
		return k.priv.Sign(rand.Reader, digest, crypto.SHA256)
	}
}
