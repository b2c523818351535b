package jws

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"fmt"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// MinRSABits is the smallest RSA key a local key may have (NIST SP
// 800-57: 112-bit strength).
const MinRSABits = 2048

// localKey is a private key held in this process as a DigestSigner.
type localKey struct {
	kid, alg string
	priv     crypto.Signer
	pub      crypto.PublicKey
}

// NewLocalKey wraps a private key held in this process (an RSA key of
// MinRSABits or more signs RS256, a P-256 key ES256); its kid is the RFC
// 7638 thumbprint.
func NewLocalKey(priv crypto.Signer) (DigestSigner, error) {
	alg, err := KeyAlg(priv.Public())
	if err != nil {
		return nil, err
	}
	kid, err := Thumbprint(priv.Public())
	if err != nil {
		return nil, err
	}
	return &localKey{kid: kid, alg: alg, priv: priv, pub: priv.Public()}, nil
}

// KeyAlg returns the JWS algorithm of a public key.
func KeyAlg(pub crypto.PublicKey) (string, error) {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < MinRSABits {
			return "", fmt.Errorf("jws: RSA key of %d bits, want at least %d", k.N.BitLen(), MinRSABits)
		}
		return oauth.AlgRS256, nil
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return "", fmt.Errorf("jws: ECDSA key on %s, want P-256", k.Curve.Params().Name)
		}
		return oauth.AlgES256, nil
	default:
		return "", fmt.Errorf("jws: unsupported key type %T", pub)
	}
}

func (k *localKey) KeyID() string            { return k.kid }
func (k *localKey) Alg() string              { return k.alg }
func (k *localKey) Public() crypto.PublicKey { return k.pub }

// SignDigest signs like KMS does: PKCS #1 v1.5 for RS256, ASN.1 DER for
// ES256, so the DER to R||S conversion runs for local keys too.
func (k *localKey) SignDigest(_ context.Context, digest []byte) ([]byte, error) {
	switch priv := k.priv.(type) {
	case *ecdsa.PrivateKey:
		return ecdsa.SignASN1(rand.Reader, priv, digest)
	default:
		return k.priv.Sign(rand.Reader, digest, crypto.SHA256)
	}
}
