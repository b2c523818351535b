// Package localsigner is an oauth.Signer with in-process keys, for the dev
// server and tests: RS256 (RSA-2048) and ES256 (P-256).
package localsigner

import (
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
		dk, err := jws.NewLocalKey(k)
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
		return rsa.GenerateKey(rand.Reader, jws.MinRSABits)
	case oauth.AlgES256:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	default:
		return nil, fmt.Errorf("localsigner: %w: %q", oauth.ErrUnsupportedAlg, alg)
	}
}
