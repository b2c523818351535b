package localsigner_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mrrt-auth/mrrt/shared/adapters/localsigner"
	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/crypto/jws"
	"github.com/mrrt-auth/mrrt/shared/testkit/oauthtest"
)

func kidsOf(t *testing.T, s oauth.Signer) []string {
	t.Helper()
	keys, err := s.PublicKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var kids []string
	for _, k := range keys {
		kids = append(kids, k.KeyID)
	}
	return kids
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestLoadOrCreate(t *testing.T) {
	t.Run("a new dir gets one 0600 PKCS #8 file per alg in a 0700 dir", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "keys")
		if _, err := localsigner.LoadOrCreate(dir); err != nil {
			t.Fatal(err)
		}
		info, err := os.Stat(dir)
		if err != nil {
			t.Fatal(err)
		}
		if perm := info.Mode().Perm(); perm != 0o700 {
			t.Errorf("dir mode %o, want 700", perm)
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		if diff := cmp.Diff([]string{"es256.pem", "rs256.pem"}, names); diff != "" {
			t.Errorf("files (-want +got):\n%s", diff)
		}
		for _, name := range names {
			path := filepath.Join(dir, name)
			info, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if perm := info.Mode().Perm(); perm != 0o600 {
				t.Errorf("%s mode %o, want 600", name, perm)
			}
			b, _ := os.ReadFile(path)
			block, _ := pem.Decode(b)
			if block == nil || block.Type != "PRIVATE KEY" {
				t.Fatalf("%s is not a PRIVATE KEY PEM", name)
			}
			if _, err := x509.ParsePKCS8PrivateKey(block.Bytes); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
	})

	t.Run("reloading the dir keeps the kids, and old tokens verify", func(t *testing.T) {
		dir := t.TempDir()
		first, err := localsigner.LoadOrCreate(dir)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := first.Sign(t.Context(), oauth.AlgES256, oauth.TypAccessToken, map[string]string{"sub": "u"})
		if err != nil {
			t.Fatal(err)
		}
		second, err := localsigner.LoadOrCreate(dir)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(kidsOf(t, first), kidsOf(t, second)); diff != "" {
			t.Errorf("kids after reload (-before +after):\n%s", diff)
		}
		keys, _ := second.PublicKeys(t.Context())
		if _, _, err := jws.Verify(tok, keys); err != nil {
			t.Errorf("token from before the reload: %v", err)
		}
	})

	t.Run("only the requested algs are created; a later call adds a missing one", func(t *testing.T) {
		dir := t.TempDir()
		es, err := localsigner.LoadOrCreate(dir, oauth.AlgES256)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(dir, "rs256.pem")); !os.IsNotExist(err) {
			t.Errorf("rs256.pem exists after LoadOrCreate(ES256): %v", err)
		}
		both, err := localsigner.LoadOrCreate(dir, oauth.AlgRS256, oauth.AlgES256)
		if err != nil {
			t.Fatal(err)
		}
		if got := kidsOf(t, both); len(got) != 2 || got[1] != kidsOf(t, es)[0] {
			t.Errorf("kids %v, want a new RS256 kid then the existing ES256 kid %v", got, kidsOf(t, es))
		}
		if both.DefaultAlg() != oauth.AlgRS256 {
			t.Errorf("DefaultAlg = %s, want RS256", both.DefaultAlg())
		}
	})

	t.Run("keys in previous/ are published after the current ones", func(t *testing.T) {
		dir := t.TempDir()
		oldRSA, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		oldEC, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		privDER, err := x509.MarshalPKCS8PrivateKey(oldRSA)
		if err != nil {
			t.Fatal(err)
		}
		pubDER, err := x509.MarshalPKIXPublicKey(oldEC.Public())
		if err != nil {
			t.Fatal(err)
		}
		writePEM(t, filepath.Join(dir, "previous", "a-rs256.pem"), "PRIVATE KEY", privDER)
		writePEM(t, filepath.Join(dir, "previous", "b-es256.pem"), "PUBLIC KEY", pubDER)
		if err := os.WriteFile(filepath.Join(dir, "previous", "README"), []byte("not a key"), 0o600); err != nil {
			t.Fatal(err)
		}

		s, err := localsigner.LoadOrCreate(dir)
		if err != nil {
			t.Fatal(err)
		}
		keys, err := s.PublicKeys(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		rsKid, _ := jws.Thumbprint(oldRSA.Public())
		esKid, _ := jws.Thumbprint(oldEC.Public())
		want := []oauth.PublicKey{
			keys[0], keys[1],
			{KeyID: rsKid, Alg: oauth.AlgRS256, Key: oldRSA.Public()},
			{KeyID: esKid, Alg: oauth.AlgES256, Key: oldEC.Public()},
		}
		if diff := cmp.Diff(want, keys, samePublicKey); diff != "" {
			t.Errorf("PublicKeys (-want +got):\n%s", diff)
		}
		oauthtest.RunSignerTests(t, s)
	})

	t.Run("the current key copied into previous/ is rejected as a duplicate kid", func(t *testing.T) {
		dir := t.TempDir()
		if _, err := localsigner.LoadOrCreate(dir, oauth.AlgES256); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(dir, "es256.pem"))
		if err != nil {
			t.Fatal(err)
		}
		os.Mkdir(filepath.Join(dir, "previous"), 0o700)
		if err := os.WriteFile(filepath.Join(dir, "previous", "es256.pem"), b, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := localsigner.LoadOrCreate(dir, oauth.AlgES256); err == nil {
			t.Error("LoadOrCreate succeeded")
		}
	})

	ecDER := func(t *testing.T) []byte {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return der
	}
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dir string)
	}{
		{"an EC key in rs256.pem", func(t *testing.T, dir string) {
			writePEM(t, filepath.Join(dir, "rs256.pem"), "PRIVATE KEY", ecDER(t))
		}},
		{"a file that is not PEM", func(t *testing.T, dir string) {
			if err := os.WriteFile(filepath.Join(dir, "es256.pem"), []byte("garbage"), 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"a PKCS #1 (not PKCS #8) block", func(t *testing.T, dir string) {
			writePEM(t, filepath.Join(dir, "es256.pem"), "EC PRIVATE KEY", []byte{1, 2, 3})
		}},
		{"a corrupt PKCS #8 body", func(t *testing.T, dir string) {
			writePEM(t, filepath.Join(dir, "es256.pem"), "PRIVATE KEY", []byte{1, 2, 3})
		}},
		{"a certificate in previous/", func(t *testing.T, dir string) {
			writePEM(t, filepath.Join(dir, "previous", "x.pem"), "CERTIFICATE", []byte{1, 2, 3})
		}},
	} {
		t.Run(tc.name+" is an error", func(t *testing.T) {
			dir := t.TempDir()
			tc.setup(t, dir)
			if _, err := localsigner.LoadOrCreate(dir); err == nil {
				t.Error("LoadOrCreate succeeded")
			}
		})
	}

	t.Run("an unknown alg is an error wrapping ErrUnsupportedAlg and creates nothing", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "keys")
		if _, err := localsigner.LoadOrCreate(dir, "HS256"); !errors.Is(err, oauth.ErrUnsupportedAlg) {
			t.Errorf("LoadOrCreate(HS256) error = %v, want ErrUnsupportedAlg", err)
		}
		if _, err := os.Stat(dir); !os.IsNotExist(err) {
			t.Errorf("dir was created: %v", err)
		}
	})

	t.Run("a dir path that is a file is an error", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "keys")
		if err := os.WriteFile(path, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := localsigner.LoadOrCreate(path); err == nil {
			t.Error("LoadOrCreate succeeded")
		}
	})

	t.Run("concurrent first calls on one dir all end with the same key", func(t *testing.T) {
		dir := t.TempDir()
		kids := make([][]string, 4)
		var wg sync.WaitGroup
		for i := range kids {
			wg.Go(func() {
				s, err := localsigner.LoadOrCreate(dir, oauth.AlgES256)
				if err != nil {
					t.Error(err)
					return
				}
				keys, err := s.PublicKeys(t.Context())
				if err != nil {
					t.Error(err)
					return
				}
				for _, k := range keys {
					kids[i] = append(kids[i], k.KeyID)
				}
			})
		}
		wg.Wait()
		for i := range kids {
			if diff := cmp.Diff(kids[0], kids[i]); diff != "" {
				t.Errorf("call %d kids (-call 0 +call %d):\n%s", i, i, diff)
			}
		}
		leftovers, _ := filepath.Glob(filepath.Join(dir, ".key-*"))
		if len(leftovers) != 0 {
			t.Errorf("temporary files left behind: %v", leftovers)
		}
	})
}
