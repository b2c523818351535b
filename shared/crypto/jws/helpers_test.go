package jws_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"sync"
	"testing"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/crypto/jws"
)

// Keys are generated once per test binary: RSA generation is slow under -race.
var (
	rsaKey = sync.OnceValue(func() *rsa.PrivateKey {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		return k
	})
	ecKey = sync.OnceValue(func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		return k
	})
)

// keySigner is a jws.DigestSigner over an in-process key that signs as KMS
// does (PKCS #1 v1.5, or ASN.1 DER for ECDSA). Fields override behaviour for
// fault tests.
type keySigner struct {
	kid, alg string
	priv     crypto.Signer
	pub      crypto.PublicKey // defaults to priv.Public()
	sig      []byte           // returned instead of a real signature when set
	err      error            // returned by SignDigest when set
}

func newKeySigner(t testing.TB, priv crypto.Signer) *keySigner {
	t.Helper()
	kid, err := jws.Thumbprint(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	alg := oauth.AlgRS256
	if _, ok := priv.(*ecdsa.PrivateKey); ok {
		alg = oauth.AlgES256
	}
	return &keySigner{kid: kid, alg: alg, priv: priv}
}

func (s *keySigner) KeyID() string { return s.kid }
func (s *keySigner) Alg() string   { return s.alg }
func (s *keySigner) Public() crypto.PublicKey {
	if s.pub != nil {
		return s.pub
	}
	return s.priv.Public()
}

func (s *keySigner) SignDigest(_ context.Context, digest []byte) ([]byte, error) {
	if s.err != nil {
		return nil, s.err
	}
	if s.sig != nil {
		return s.sig, nil
	}
	if k, ok := s.priv.(*ecdsa.PrivateKey); ok {
		return ecdsa.SignASN1(rand.Reader, k, digest)
	}
	return s.priv.Sign(rand.Reader, digest, crypto.SHA256)
}

func (s *keySigner) publicKey() oauth.PublicKey {
	return oauth.PublicKey{KeyID: s.kid, Alg: s.alg, Key: s.Public()}
}
