package oauthtest_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/testkit/oauthtest"
)

// signerFake is a self-contained oauth.Signer (standard library only) whose
// faults can be switched on one at a time, to show that RunSignerTests
// catches each of them.
type signerFake struct {
	keys  []signerFakeKey
	fault string
	calls atomic.Int64
}

type signerFakeKey struct {
	kid, alg string
	priv     crypto.Signer
}

func newSignerFake(t testing.TB, fault string) *signerFake {
	t.Helper()
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &signerFake{fault: fault, keys: []signerFakeKey{
		{kid: "rsa-1", alg: oauth.AlgRS256, priv: rk},
		{kid: "ec-1", alg: oauth.AlgES256, priv: ek},
	}}
}

func (f *signerFake) DefaultAlg() string { return oauth.AlgRS256 }

func (f *signerFake) PublicKeys(context.Context) ([]oauth.PublicKey, error) {
	var out []oauth.PublicKey
	for _, k := range f.keys {
		pub := k.priv.Public()
		if f.fault == "publishes a private key" {
			pub = k.priv
		}
		out = append(out, oauth.PublicKey{KeyID: k.kid, Alg: k.alg, Key: pub})
	}
	if f.fault == "changes kids between PublicKeys calls" && f.calls.Add(1) > 1 {
		out[0].KeyID = "rsa-2"
	}
	return out, nil
}

func (f *signerFake) Sign(_ context.Context, alg, typ string, claims any) (string, error) {
	if alg == "" {
		alg = f.DefaultAlg()
		if f.fault == "signs alg \"\" with a non-default key" {
			alg = oauth.AlgES256
		}
	}
	var k *signerFakeKey
	for i := range f.keys {
		if f.keys[i].alg == alg {
			k = &f.keys[i]
		}
	}
	if k == nil {
		if f.fault == "returns a plain error for an unknown alg" {
			return "", errors.New("no such key")
		}
		return "", fmt.Errorf("fake: %w", oauth.ErrUnsupportedAlg)
	}
	h := map[string]string{"alg": alg, "kid": k.kid, "typ": typ}
	switch f.fault {
	case "omits typ":
		delete(h, "typ")
	case "adds a jku header":
		h["jku"] = "https://attacker.example/jwks"
	case "names an unpublished kid":
		h["kid"] = "unknown"
	}
	if f.fault == "drops the claims" {
		claims = map[string]any{}
	}
	hb, _ := json.Marshal(h)
	pb, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	if f.fault == "pads base64" {
		enc = base64.URLEncoding
	}
	in := enc.EncodeToString(hb) + "." + enc.EncodeToString(pb)
	d := sha256.Sum256([]byte(in))
	var sig []byte
	switch p := k.priv.(type) {
	case *rsa.PrivateKey:
		sig, err = rsa.SignPKCS1v15(nil, p, crypto.SHA256, d[:])
	case *ecdsa.PrivateKey:
		if f.fault == "emits DER ES256 signatures" {
			sig, err = ecdsa.SignASN1(rand.Reader, p, d[:])
			break
		}
		var r, s *big.Int
		r, s, err = ecdsa.Sign(rand.Reader, p, d[:])
		if err == nil {
			sig = make([]byte, 64)
			r.FillBytes(sig[:32])
			s.FillBytes(sig[32:])
		}
	}
	if err != nil {
		return "", err
	}
	if f.fault == "signs a different input" {
		sig[len(sig)-1] ^= 1
	}
	return in + "." + enc.EncodeToString(sig), nil
}

func TestRunSignerTests(t *testing.T) {
	if fault := os.Getenv("SIGNER_FAKE_FAULT"); fault != "" {
		// Child process: run the suite against the broken signer.
		oauthtest.RunSignerTests(t, newSignerFake(t, fault))
		return
	}
	t.Run("a correct signer passes", func(t *testing.T) {
		oauthtest.RunSignerTests(t, newSignerFake(t, "none"))
	})
	for _, fault := range []string{
		"publishes a private key",
		"changes kids between PublicKeys calls",
		"signs alg \"\" with a non-default key",
		"returns a plain error for an unknown alg",
		"omits typ",
		"adds a jku header",
		"names an unpublished kid",
		"drops the claims",
		"pads base64",
		"emits DER ES256 signatures",
		"signs a different input",
	} {
		t.Run("a signer that "+fault+" fails", func(t *testing.T) {
			if testing.Short() {
				t.Skip("runs a child test process")
			}
			// RunSignerTests takes a *testing.T, so a failing run is
			// observed from a child process.
			cmd := exec.Command(os.Args[0], "-test.run=^TestRunSignerTests$", "-test.count=1")
			cmd.Env = append(os.Environ(), "SIGNER_FAKE_FAULT="+fault)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || !strings.Contains(string(out), "--- FAIL") {
				t.Errorf("suite did not fail (err %v):\n%s", err, out)
			}
		})
	}
}
