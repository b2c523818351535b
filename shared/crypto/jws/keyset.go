package jws

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// KeySet implements oauth.Signer over one current DigestSigner per algorithm
// plus previous public keys that are still published for verification
// (rotation). Everything a request needs is computed by NewKeySet.
type KeySet struct {
	current []currentKey
	public  []oauth.PublicKey
}

type currentKey struct {
	signer DigestSigner
	alg    string
	sigLen int
	// headers holds the encoded header per typ for the typ values we emit.
	headers map[string]string
}

// NewKeySet returns a KeySet signing with current (the first signer's alg is
// the default) and publishing current's public keys followed by previous.
func NewKeySet(current []DigestSigner, previous []oauth.PublicKey) (*KeySet, error) {
	if len(current) == 0 {
		return nil, errors.New("jws: key set needs at least one current signer")
	}
	ks := &KeySet{public: make([]oauth.PublicKey, 0, len(current)+len(previous))}
	kids := make(map[string]bool, len(current)+len(previous))
	for _, s := range current {
		alg, kid, pub := s.Alg(), s.KeyID(), s.Public()
		sigLen, err := signatureLen(alg, pub)
		if err != nil {
			return nil, fmt.Errorf("jws: key %q: %w", kid, err)
		}
		if slices.ContainsFunc(ks.current, func(c currentKey) bool { return c.alg == alg }) {
			return nil, fmt.Errorf("jws: two current keys for %s", alg)
		}
		if err := checkKid(kids, kid); err != nil {
			return nil, err
		}
		headers := make(map[string]string, 2)
		for _, typ := range []string{oauth.TypAccessToken, oauth.TypIDToken} {
			headers[typ] = encodeHeader(alg, kid, typ)
		}
		ks.current = append(ks.current, currentKey{signer: s, alg: alg, sigLen: sigLen, headers: headers})
		ks.public = append(ks.public, oauth.PublicKey{KeyID: kid, Alg: alg, Key: pub})
	}
	for _, pk := range previous {
		if _, err := signatureLen(pk.Alg, pk.Key); err != nil {
			return nil, fmt.Errorf("jws: previous key %q: %w", pk.KeyID, err)
		}
		if err := checkKid(kids, pk.KeyID); err != nil {
			return nil, err
		}
		ks.public = append(ks.public, pk)
	}
	return ks, nil
}

// checkKid rejects empty and duplicate key ids: a verifier picks the key by
// kid, so it must be unambiguous.
func checkKid(seen map[string]bool, kid string) error {
	if kid == "" {
		return errors.New("jws: key without a key id")
	}
	if seen[kid] {
		return fmt.Errorf("jws: duplicate key id %q", kid)
	}
	seen[kid] = true
	return nil
}

// Sign implements oauth.Signer.
func (ks *KeySet) Sign(ctx context.Context, alg, typ string, claims any) (string, error) {
	k, err := ks.key(alg)
	if err != nil {
		return "", err
	}
	h, ok := k.headers[typ]
	if !ok {
		h = encodeHeader(k.alg, k.signer.KeyID(), typ)
	}
	return sign(ctx, k.signer, k.alg, h, k.sigLen, claims)
}

func (ks *KeySet) key(alg string) (*currentKey, error) {
	if alg == "" {
		return &ks.current[0], nil
	}
	for i := range ks.current {
		if ks.current[i].alg == alg {
			return &ks.current[i], nil
		}
	}
	return nil, fmt.Errorf("jws: no current key for %q: %w", alg, oauth.ErrUnsupportedAlg)
}

// PublicKeys implements oauth.Signer: current keys first, then previous ones.
// The slice is a copy; the keys themselves are shared and must not be changed.
func (ks *KeySet) PublicKeys(context.Context) ([]oauth.PublicKey, error) {
	return slices.Clone(ks.public), nil
}

// DefaultAlg implements oauth.Signer.
func (ks *KeySet) DefaultAlg() string { return ks.current[0].alg }

var _ oauth.Signer = (*KeySet)(nil)
