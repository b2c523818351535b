package kmssigner_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/mrrt-auth/mrrt/shared/adapters/kmssigner"
	"github.com/mrrt-auth/mrrt/shared/adapters/memstore"
	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/crypto/jws"
	"github.com/mrrt-auth/mrrt/shared/testkit/awstest"
	"github.com/mrrt-auth/mrrt/shared/testkit/oauthtest"
)

// The envelope mode against local-kms: key pairs made by KMS under a
// symmetric key, stored wrapped, decrypted once, then signing in process.
func TestEnvelope(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	wrap := e.createKey(t, types.KeySpecSymmetricDefault, types.KeyUsageTypeEncryptDecrypt)
	store := memstore.New()
	now := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	put := func(alg string, current bool, at time.Time) *oauth.WrappedKey {
		t.Helper()
		k, err := kmssigner.NewWrappedKey(ctx, e.api, wrap, alg, at)
		if err != nil {
			t.Fatal(err)
		}
		k.Current = current
		if err := store.PutWrappedKey(ctx, k); err != nil {
			t.Fatal(err)
		}
		return k
	}
	old := put(oauth.AlgRS256, false, now.Add(-time.Hour))
	rs := put(oauth.AlgRS256, true, now)
	es := put(oauth.AlgES256, true, now)
	if strings.Contains(string(rs.PrivateKey), "PRIVATE KEY") || len(rs.PrivateKey) < 100 {
		t.Fatalf("the stored private key is not a KMS ciphertext (%d bytes)", len(rs.PrivateKey))
	}

	e.counter.Reset()
	s, err := kmssigner.LoadEnvelopeSigner(ctx, e.api, store, oauth.AlgRS256)
	if err != nil {
		t.Fatal(err)
	}
	if n := e.counter.Count("Decrypt"); n != 2 {
		t.Errorf("%d Decrypt requests at load, want one per current key (2)", n)
	}
	t.Run("conformance", func(t *testing.T) { oauthtest.RunSignerTests(t, s) })
	t.Run("signing makes no KMS request", func(t *testing.T) {
		e.counter.Reset()
		for _, alg := range []string{"", oauth.AlgES256} {
			if _, err := s.Sign(ctx, alg, "at+jwt", map[string]any{"sub": "x"}); err != nil {
				t.Fatal(err)
			}
		}
		if got := e.counter.Counts(); len(got) != 0 {
			t.Errorf("KMS requests while signing: %v", got)
		}
	})
	t.Run("the JWKS publishes the current keys, then the previous one", func(t *testing.T) {
		keys, _ := s.PublicKeys(ctx)
		var kids []string
		for _, k := range keys {
			kids = append(kids, k.KeyID)
		}
		if len(kids) != 3 || kids[0] != rs.KeyID || kids[1] != es.KeyID || kids[2] != old.KeyID {
			t.Errorf("kids %v, want %s %s %s", kids, rs.KeyID, es.KeyID, old.KeyID)
		}
		tok, _ := s.Sign(ctx, "", "at+jwt", map[string]any{"sub": "x"})
		if _, _, err := jws.Verify(tok, keys); err != nil {
			t.Errorf("a token does not verify with the published keys: %v", err)
		}
	})
	t.Run("the admin API reads the public keys without decrypting", func(t *testing.T) {
		e.counter.Reset()
		keys, err := kmssigner.EnvelopePublicKeys(store, time.Now)(ctx)
		if err != nil || len(keys) != 3 || keys[2].KeyID != old.KeyID {
			t.Fatalf("%v, %v", keys, err)
		}
		if got := e.counter.Counts(); len(got) != 0 {
			t.Errorf("KMS requests: %v", got)
		}
	})
	t.Run("a key KMS cannot decrypt fails the load, with no signer", func(t *testing.T) {
		bad := memstore.New()
		k := *rs
		k.PrivateKey = append([]byte{}, rs.PrivateKey...)
		k.PrivateKey[len(k.PrivateKey)-1] ^= 1
		bad.PutWrappedKey(ctx, &k)
		if s, err := kmssigner.LoadEnvelopeSigner(ctx, e.api, bad, oauth.AlgRS256); err == nil {
			t.Fatalf("loaded %v from a corrupt ciphertext", s)
		}
	})
	t.Run("a table without a current key of the default algorithm fails the load", func(t *testing.T) {
		only := memstore.New()
		only.PutWrappedKey(ctx, es)
		_, err := kmssigner.LoadEnvelopeSigner(ctx, e.api, only, oauth.AlgRS256)
		if err == nil || !strings.Contains(err.Error(), "no current envelope key of RS256") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("a throttled decrypt is retried, then answers unavailable", func(t *testing.T) {
		e.faults.Add(awstest.Fault{Op: "Decrypt", Err: awstest.APIError("ThrottlingException", 400)})
		defer e.faults.Clear()
		if _, err := kmssigner.LoadEnvelopeSigner(ctx, e.api, store, oauth.AlgRS256); err == nil || !strings.Contains(err.Error(), "unavailable") {
			t.Errorf("error %v, want one wrapping ErrUnavailable", err)
		}
	})
}
