package dynamostore

import (
	"context"
	"slices"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// The envelope mode's key pairs: one item each under PK WRAPPEDKEY, read
// with one Query per cold start.

var _ oauth.WrappedKeyStore = (*Store)(nil)

const (
	pkWrappedKeys = "WRAPPEDKEY"
	wkAlg         = "alg"
	wkPublic      = "public_key"  // B: PKIX DER
	wkPrivate     = "private_key" // B: KMS ciphertext
	wkCurrent     = "current"
	wkCreated     = "created_at"
)

func (s *Store) WrappedKeys(ctx context.Context) ([]oauth.WrappedKey, error) {
	items, err := s.query(ctx, "wrapped keys", "", attrPK, pkWrappedKeys)
	if err != nil {
		return nil, err
	}
	out := make([]oauth.WrappedKey, 0, len(items))
	for _, it := range items {
		out = append(out, oauth.WrappedKey{KeyID: it.s(attrSK), Alg: it.s(wkAlg), PublicKey: it.bytes(wkPublic),
			PrivateKey: it.bytes(wkPrivate), Current: it.b(wkCurrent), CreatedAt: it.t(wkCreated)})
	}
	slices.SortFunc(out, func(a, b oauth.WrappedKey) int { return b.CreatedAt.Compare(a.CreatedAt) })
	return out, nil
}

func (s *Store) PutWrappedKey(ctx context.Context, k *oauth.WrappedKey) error {
	it := keyOf(pkWrappedKeys, k.KeyID)
	it.setS(wkAlg, k.Alg)
	it[wkPublic] = &types.AttributeValueMemberB{Value: k.PublicKey}
	it[wkPrivate] = &types.AttributeValueMemberB{Value: k.PrivateKey}
	it.setB(wkCurrent, k.Current)
	it.setT(wkCreated, k.CreatedAt)
	return s.put(ctx, "put wrapped key "+k.KeyID, it, "")
}

func (s *Store) DeleteWrappedKey(ctx context.Context, keyID string) error {
	return s.remove(ctx, "delete wrapped key "+keyID, keyOf(pkWrappedKeys, keyID))
}

func (it item) bytes(name string) []byte {
	if v, ok := it[name].(*types.AttributeValueMemberB); ok {
		return v.Value
	}
	return nil
}
