package kmssigner_test

import (
	"bytes"
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/mrrt-auth/mrrt/shared/adapters/kmssigner"
	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/crypto/jws"
	"github.com/mrrt-auth/mrrt/shared/testkit/awstest"
	"github.com/mrrt-auth/mrrt/shared/testkit/oauthtest"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

// env is one local-kms server with a few keys, and a client that counts
// its requests and can be made to fail.
type env struct {
	cfg     aws.Config
	api     *kms.Client
	counter *awstest.Counter
	faults  *awstest.Faults
	rsa     string // RSA_2048 SIGN_VERIFY
	rsaOld  string // RSA_2048 SIGN_VERIFY, the "previous" key
	ec      string // ECC_NIST_P256 SIGN_VERIFY
	mac     string // HMAC_256 GENERATE_VERIFY_MAC
	encrypt string // RSA_2048 ENCRYPT_DECRYPT
}

// newEnv starts local-kms for the test and creates the keys through the
// API, as a deployment would.
func newEnv(t *testing.T) *env {
	t.Helper()
	endpoint := awstest.StartKMS(t)
	e := &env{counter: awstest.NewCounter(), faults: &awstest.Faults{}}
	e.cfg = awstest.Config(endpoint, e.counter.Install, e.faults.Install)
	e.api = kms.NewFromConfig(e.cfg)
	e.rsa = e.createKey(t, types.KeySpecRsa2048, types.KeyUsageTypeSignVerify)
	e.rsaOld = e.createKey(t, types.KeySpecRsa2048, types.KeyUsageTypeSignVerify)
	e.ec = e.createKey(t, types.KeySpecEccNistP256, types.KeyUsageTypeSignVerify)
	e.mac = e.createKey(t, types.KeySpecHmac256, types.KeyUsageTypeGenerateVerifyMac)
	e.encrypt = e.createKey(t, types.KeySpecRsa2048, types.KeyUsageTypeEncryptDecrypt)
	e.counter.Reset()
	return e
}

func (e *env) createKey(t *testing.T, spec types.KeySpec, usage types.KeyUsageType) string {
	t.Helper()
	out, err := e.api.CreateKey(t.Context(), &kms.CreateKeyInput{KeySpec: spec, KeyUsage: usage})
	if err != nil {
		t.Fatalf("CreateKey %s: %v", spec, err)
	}
	return *out.KeyMetadata.Arn
}

func signer(t *testing.T, e *env, current, previous []string) oauth.Signer {
	t.Helper()
	s, err := kmssigner.NewSigner(t.Context(), e.api, current, previous)
	if err != nil {
		t.Fatalf("NewSigner: %v", err)
	}
	return s
}

func lazy(t *testing.T, e *env, defaultAlg string, current, previous []string) *kmssigner.LazySigner {
	t.Helper()
	s, err := kmssigner.NewLazySigner(e.api, defaultAlg, current, previous)
	if err != nil {
		t.Fatalf("NewLazySigner: %v", err)
	}
	return s
}

func TestKMS(t *testing.T) {
	e := newEnv(t)
	t.Run("conformance", func(t *testing.T) { testConformance(t, e) })
	t.Run("independent verification", func(t *testing.T) { testGoJose(t, e) })
	t.Run("large tokens", func(t *testing.T) { testLargeToken(t, e) })
	t.Run("request counts", func(t *testing.T) { testRequestCounts(t, e) })
	t.Run("faults", func(t *testing.T) { testFaults(t, e) })
	t.Run("unusable keys", func(t *testing.T) { testUnusableKeys(t, e) })
	t.Run("MAC key", func(t *testing.T) { testMACKey(t, e) })
	t.Run("previous MAC keys", func(t *testing.T) { testPreviousRefreshKeys(t, e) })
}

// testPreviousRefreshKeys: FromConfig derives the refresh-token secret of
// each previous MAC key, in order, as MACKey does for the current one.
func testPreviousRefreshKeys(t *testing.T, e *env) {
	ctx := t.Context()
	old1 := e.createKey(t, types.KeySpecHmac256, types.KeyUsageTypeGenerateVerifyMac)
	old2 := e.createKey(t, types.KeySpecHmac256, types.KeyUsageTypeGenerateVerifyMac)
	keys, err := kmssigner.FromConfig(e.cfg, kmssigner.Settings{Alg: oauth.AlgRS256, Current: []string{e.rsa}, MACKeyID: e.mac, PreviousMACKeyIDs: []string{old1, old2}})
	if err != nil {
		t.Fatal(err)
	}
	current, err := keys.RefreshKey(ctx)
	if err != nil {
		t.Fatal(err)
	}
	previous, err := keys.PreviousRefreshKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var want [][]byte
	for _, id := range []string{old1, old2} {
		k, err := kmssigner.MACKey(e.api, id, kmssigner.RefreshKeyLabel)(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, k)
	}
	if d := cmp.Diff(want, previous); d != "" {
		t.Errorf("previous refresh keys (-want +got):\n%s", d)
	}
	for i, k := range previous {
		if bytes.Equal(k, current) {
			t.Errorf("previous key %d equals the current one", i)
		}
	}
	none, err := kmssigner.FromConfig(e.cfg, kmssigner.Settings{Alg: oauth.AlgRS256, Current: []string{e.rsa}, MACKeyID: e.mac})
	if err != nil || none.PreviousRefreshKeys != nil {
		t.Errorf("without previous MAC keys: PreviousRefreshKeys set %v, %v", none.PreviousRefreshKeys != nil, err)
	}
}

func testConformance(t *testing.T, e *env) {
	t.Run("RS256 default and ES256", func(t *testing.T) {
		oauthtest.RunSignerTests(t, signer(t, e, []string{e.rsa, e.ec}, nil))
	})
	t.Run("ES256 default and RS256 with a previous RSA key", func(t *testing.T) {
		oauthtest.RunSignerTests(t, signer(t, e, []string{e.ec, e.rsa}, []string{e.rsaOld}))
	})
	t.Run("lazy ES256 default and RS256 with a previous RSA key", func(t *testing.T) {
		oauthtest.RunSignerTests(t, lazy(t, e, oauth.AlgES256, []string{e.ec, e.rsa}, []string{e.rsaOld}))
	})
}

// go-jose is independent of shared/jws: it must accept our tokens and
// compute the same thumbprint as our kid.
func testGoJose(t *testing.T, e *env) {
	s := signer(t, e, []string{e.rsa, e.ec}, []string{e.rsaOld})
	keys, err := s.PublicKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 3 {
		t.Fatalf("%d public keys, want current RS256, current ES256 and previous RS256", len(keys))
	}
	for _, k := range keys {
		tp, err := (&jose.JSONWebKey{Key: k.Key}).Thumbprint(crypto.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		if got := base64.RawURLEncoding.EncodeToString(tp); got != k.KeyID {
			t.Errorf("kid %s, go-jose thumbprint %s", k.KeyID, got)
		}
	}
	for _, alg := range []string{oauth.AlgRS256, oauth.AlgES256} {
		t.Run(alg+" verifies with go-jose", func(t *testing.T) {
			claims := map[string]any{"iss": "https://auth.example.com", "sub": "user-1", "aud": "https://api.example.com"}
			tok, err := s.Sign(t.Context(), alg, oauth.TypAccessToken, claims)
			if err != nil {
				t.Fatal(err)
			}
			parsed, err := jose.ParseSigned(tok, []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
			if err != nil {
				t.Fatal(err)
			}
			h := parsed.Signatures[0].Protected
			var key crypto.PublicKey
			for _, k := range keys {
				if k.KeyID == h.KeyID {
					key = k.Key
				}
			}
			if key == nil || h.Algorithm != alg || h.ExtraHeaders["typ"] != oauth.TypAccessToken {
				t.Fatalf("header %+v does not name a published %s key", h, alg)
			}
			payload, err := parsed.Verify(key)
			if err != nil {
				t.Fatalf("go-jose rejects the signature: %v", err)
			}
			var got map[string]any
			if err := json.Unmarshal(payload, &got); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(claims, got); d != "" {
				t.Errorf("claims (-want +got):\n%s", d)
			}
		})
	}
}

// KMS refuses RAW messages over 4,096 bytes; we sign digests.
func testLargeToken(t *testing.T, e *env) {
	s := signer(t, e, []string{e.rsa, e.ec}, nil)
	keys, err := s.PublicKeys(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	claims := map[string]any{"sub": "user-1", "scope": strings.Repeat("read:everything ", 400)}
	for _, alg := range []string{oauth.AlgRS256, oauth.AlgES256} {
		t.Run(alg+" signs a token whose signing input exceeds 4096 bytes", func(t *testing.T) {
			tok, err := s.Sign(t.Context(), alg, oauth.TypAccessToken, claims)
			if err != nil {
				t.Fatal(err)
			}
			if in := tok[:strings.LastIndexByte(tok, '.')]; len(in) <= 4096 {
				t.Fatalf("signing input is %d bytes; the test needs more than 4096", len(in))
			}
			if _, _, err := jws.Verify(tok, keys); err != nil {
				t.Errorf("Verify: %v", err)
			}
		})
	}
}

func testRequestCounts(t *testing.T, e *env) {
	e.counter.Reset()
	s := lazy(t, e, oauth.AlgRS256, []string{e.rsa, e.ec}, []string{e.rsaOld})
	check := func(t *testing.T, step string, want map[string]int) {
		t.Helper()
		if d := cmp.Diff(want, e.counter.Counts()); d != "" {
			t.Errorf("%s: KMS requests (-want +got):\n%s", step, d)
		}
		e.counter.Reset()
	}
	if s.DefaultAlg() != oauth.AlgRS256 {
		t.Errorf("DefaultAlg %s, want RS256", s.DefaultAlg())
	}
	check(t, "NewLazySigner and DefaultAlg", map[string]int{})
	if _, err := s.Sign(t.Context(), "", oauth.TypAccessToken, map[string]any{"n": 0}); err != nil {
		t.Fatal(err)
	}
	check(t, "first Sign", map[string]int{"GetPublicKey": 3, "Sign": 1})
	for i := range 5 {
		if _, err := s.Sign(t.Context(), oauth.AlgES256, oauth.TypAccessToken, map[string]any{"n": i}); err != nil {
			t.Fatal(err)
		}
	}
	check(t, "5 more Signs", map[string]int{"Sign": 5})
	for range 3 {
		if _, err := s.PublicKeys(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	check(t, "PublicKeys", map[string]int{})
}

func testFaults(t *testing.T, e *env) {
	s := signer(t, e, []string{e.rsa}, nil)
	claims := map[string]any{"sub": "user-1"}
	tests := []struct {
		name      string
		fault     awstest.Fault
		wantUnav  bool // failure wraps oauth.ErrUnavailable; false with wantFired < 3 means success
		wantFired int
	}{
		{"throttling on every attempt is unavailable after 3 attempts", awstest.Fault{Op: "Sign", Err: awstest.APIError("ThrottlingException", 400)}, true, 3},
		{"KMSInternalException on every attempt is unavailable after 3 attempts", awstest.Fault{Op: "Sign", Err: awstest.APIError("KMSInternalException", 500)}, true, 3},
		{"a lost connection on every attempt is unavailable after 3 attempts", awstest.Fault{Op: "Sign", Err: awstest.ErrResponseLost}, true, 3},
		{"throttling once is retried", awstest.Fault{Op: "Sign", Nth: 1, Err: awstest.APIError("ThrottlingException", 400)}, false, 1},
		{"KMSInternalException once is retried", awstest.Fault{Op: "Sign", Nth: 1, Err: awstest.APIError("KMSInternalException", 500)}, false, 1},
		{"DependencyTimeoutException once is retried", awstest.Fault{Op: "Sign", Nth: 1, Err: awstest.APIError("DependencyTimeoutException", 503)}, false, 1},
		{"KeyUnavailableException twice is retried", awstest.Fault{Op: "Sign", Nth: 2, Err: awstest.APIError("KeyUnavailableException", 500)}, false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Cleanup(e.faults.Clear)
			e.faults.Add(tt.fault)
			if tt.fault.Nth == 2 {
				e.faults.Add(awstest.Fault{Op: "Sign", Nth: 1, Err: tt.fault.Err})
			}
			_, err := s.Sign(t.Context(), "", oauth.TypAccessToken, claims)
			switch {
			case tt.wantUnav && !errors.Is(err, oauth.ErrUnavailable):
				t.Errorf("Sign: %v, want an error wrapping ErrUnavailable", err)
			case !tt.wantUnav && err != nil:
				t.Errorf("Sign: %v, want success after a retry", err)
			}
			want := tt.wantFired
			if tt.fault.Nth == 2 {
				want = 2
			}
			if n := e.faults.Fired("Sign"); n != want {
				t.Errorf("%d attempts failed, want %d", n, want)
			}
		})
	}

	t.Run("a cancelled context is unavailable without retries", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		e.counter.Reset()
		_, err := s.Sign(ctx, "", oauth.TypAccessToken, claims)
		if !errors.Is(err, oauth.ErrUnavailable) {
			t.Errorf("Sign: %v, want ErrUnavailable", err)
		}
		if n := e.counter.Count("Sign"); n > 1 {
			t.Errorf("%d Sign requests, want at most 1", n)
		}
	})

	t.Run("a lazy signer whose keys could not be fetched fetches them on the next call", func(t *testing.T) {
		t.Cleanup(e.faults.Clear)
		lazy := lazy(t, e, oauth.AlgES256, []string{e.ec}, nil)
		e.faults.Add(awstest.Fault{Op: "GetPublicKey", Err: awstest.APIError("ThrottlingException", 400)})
		if _, err := lazy.PublicKeys(t.Context()); !errors.Is(err, oauth.ErrUnavailable) {
			t.Fatalf("PublicKeys: %v, want ErrUnavailable", err)
		}
		e.faults.Clear()
		if _, err := lazy.Sign(t.Context(), "", oauth.TypAccessToken, claims); err != nil {
			t.Fatalf("Sign after recovery: %v", err)
		}
	})
}

// captureLog sends slog's default logger to a buffer for the test.
func captureLog(t *testing.T) *oauthtest.SyncBuffer {
	t.Helper()
	var buf oauthtest.SyncBuffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, nil)))
	t.Cleanup(func() { slog.SetDefault(old) })
	return &buf
}

// Configuration faults are not retried and are not "unavailable": they
// need an operator, so they are 500s with a log line naming the key.
func testUnusableKeys(t *testing.T, e *env) {
	t.Run("a disabled key fails at once with a plain error and a log line naming it", func(t *testing.T) {
		key := e.createKey(t, types.KeySpecEccNistP256, types.KeyUsageTypeSignVerify)
		s := signer(t, e, []string{key}, nil)
		if _, err := e.api.DisableKey(t.Context(), &kms.DisableKeyInput{KeyId: &key}); err != nil {
			t.Fatal(err)
		}
		log := captureLog(t)
		e.counter.Reset()
		_, err := s.Sign(t.Context(), "", oauth.TypAccessToken, map[string]any{"sub": "x"})
		if err == nil || errors.Is(err, oauth.ErrUnavailable) {
			t.Fatalf("Sign: %v, want a plain error", err)
		}
		if oauth.FromError(err).Code != oauth.ServerError {
			t.Errorf("maps to %s, want server_error", oauth.FromError(err).Code)
		}
		if n := e.counter.Count("Sign"); n != 1 {
			t.Errorf("%d Sign requests, want 1 (no retry)", n)
		}
		if l := log.String(); !strings.Contains(l, key) || !strings.Contains(l, "DisabledException") {
			t.Errorf("log %q does not name the key and DisabledException", l)
		}
	})
	tests := []struct {
		name string
		key  func() string
		want string // in the error
	}{
		{"an unknown key", func() string { return "arn:aws:kms:us-east-1:111122223333:key/00000000-0000-0000-0000-000000000000" }, "NotFoundException"},
		{"an unknown alias", func() string { return "alias/nothing-here" }, "NotFoundException"},
		{"an encryption key", func() string { return e.encrypt }, "SIGN_VERIFY"},
		{"an HMAC key", func() string { return e.mac }, "UnsupportedOperationException"},
	}
	for _, tt := range tests {
		t.Run(tt.name+" is refused with a plain error naming it", func(t *testing.T) {
			log := captureLog(t)
			_, err := kmssigner.New(t.Context(), e.api, tt.key())
			if err == nil || errors.Is(err, oauth.ErrUnavailable) {
				t.Fatalf("New: %v, want a plain error", err)
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), tt.key()) {
				t.Errorf("error %q does not name the key and %s", err, tt.want)
			}
			if !strings.Contains(log.String(), tt.key()) {
				t.Errorf("log %q does not name the key", log.String())
			}
		})
	}
	t.Run("a lazy signer whose first key is not of the declared default algorithm fails with a plain error", func(t *testing.T) {
		log := captureLog(t)
		s := lazy(t, e, oauth.AlgRS256, []string{e.ec}, nil)
		_, err := s.Sign(t.Context(), "", oauth.TypIDToken, map[string]any{"sub": "x"})
		if err == nil || errors.Is(err, oauth.ErrUnavailable) || !strings.Contains(err.Error(), "ES256") {
			t.Fatalf("Sign: %v, want a plain error naming the key's algorithm", err)
		}
		if !strings.Contains(log.String(), e.ec) {
			t.Errorf("log %q does not name the key", log.String())
		}
	})
	t.Run("a lazy signer refuses a default algorithm other than RS256 and ES256", func(t *testing.T) {
		if _, err := kmssigner.NewLazySigner(e.api, "PS256", []string{e.rsa}, nil); err == nil {
			t.Error("NewLazySigner accepted PS256")
		}
		if _, err := kmssigner.NewLazySigner(e.api, oauth.AlgRS256, nil, nil); err == nil {
			t.Error("NewLazySigner accepted no current key")
		}
	})
	t.Run("an alias is resolved to its key once", func(t *testing.T) {
		alias := "alias/mrrt-signing"
		if _, err := e.api.CreateAlias(t.Context(), &kms.CreateAliasInput{AliasName: &alias, TargetKeyId: &e.rsa}); err != nil {
			t.Fatal(err)
		}
		keys, err := kmssigner.New(t.Context(), e.api, alias)
		if err != nil {
			t.Fatal(err)
		}
		if keys[0].ARN() != e.rsa {
			t.Errorf("ARN %s, want %s", keys[0].ARN(), e.rsa)
		}
		// Switching the alias (rotation) does not change what this instance
		// signs with, so kid and signature never disagree.
		if _, err := e.api.UpdateAlias(t.Context(), &kms.UpdateAliasInput{AliasName: &alias, TargetKeyId: &e.rsaOld}); err != nil {
			t.Fatal(err)
		}
		s, err := jws.NewKeySet([]jws.DigestSigner{keys[0]}, nil)
		if err != nil {
			t.Fatal(err)
		}
		tok, err := s.Sign(t.Context(), "", oauth.TypAccessToken, map[string]any{"sub": "x"})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := jws.Verify(tok, []oauth.PublicKey{keys[0].PublicKey()}); err != nil {
			t.Errorf("Verify after the alias moved: %v", err)
		}
	})
}

func testMACKey(t *testing.T, e *env) {
	ctx := t.Context()
	e.counter.Reset()
	a := kmssigner.MACKey(e.api, e.mac, "label v1")
	b := kmssigner.MACKey(e.api, e.mac, "label v1")
	other := kmssigner.MACKey(e.api, e.mac, "label v2")
	ka, err := a(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ka) != 32 {
		t.Errorf("key of %d bytes, want 32", len(ka))
	}
	ka2, err := a(ctx)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := b(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ko, err := other(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ka, kb) || !bytes.Equal(ka, ka2) {
		t.Error("two instances derived different keys")
	}
	if bytes.Equal(ka, ko) {
		t.Error("another label derived the same key")
	}
	if n := e.counter.Count("GenerateMac"); n != 3 {
		t.Errorf("%d GenerateMac requests, want 3 (one per instance)", n)
	}

	t.Run("a throttled fetch is unavailable and retried by the next call", func(t *testing.T) {
		t.Cleanup(e.faults.Clear)
		c := kmssigner.MACKey(e.api, e.mac, "label v1")
		e.faults.Add(awstest.Fault{Op: "GenerateMac", Err: awstest.APIError("ThrottlingException", 400)})
		if _, err := c(ctx); !errors.Is(err, oauth.ErrUnavailable) {
			t.Fatalf("MACKey: %v, want ErrUnavailable", err)
		}
		e.faults.Clear()
		kc, err := c(ctx)
		if err != nil || !bytes.Equal(kc, ka) {
			t.Errorf("after recovery: %v, same key %v", err, bytes.Equal(kc, ka))
		}
	})
	t.Run("a signing key is not a MAC key", func(t *testing.T) {
		if _, err := kmssigner.MACKey(e.api, e.rsa, "label v1")(ctx); err == nil || errors.Is(err, oauth.ErrUnavailable) {
			t.Errorf("MACKey with an RSA key: %v, want a plain error", err)
		}
	})
}
