package main

import (
	"bytes"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/runtime/local"
	"github.com/mrrt-auth/mrrt/shared/testkit/awstest"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

// awsEnv points the SDK at the given endpoints with dummy credentials and
// nothing of this machine's AWS configuration.
func awsEnv(t *testing.T, dynamo, kms string) aws.Config {
	none := filepath.Join(t.TempDir(), "none")
	for k, v := range map[string]string{
		"AWS_REGION": awstest.Region, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_SESSION_TOKEN": "",
		"AWS_PROFILE": "", "AWS_CONFIG_FILE": none, "AWS_SHARED_CREDENTIALS_FILE": none, "AWS_ENDPOINT_URL": "",
		"AWS_ENDPOINT_URL_DYNAMODB": dynamo, "AWS_ENDPOINT_URL_KMS": kms,
	} {
		t.Setenv(k, v)
	}
	cfg, err := config.LoadDefaultConfig(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// Run right after starting the emulators, the set-up waits for them
// instead of failing on "connection refused"; an endpoint that never
// comes fails it within the wait, with a message that names it.
func TestRunWaitsForTheEndpoints(t *testing.T) {
	moto, kms := awstest.StartMoto(t), awstest.StartKMS(t)

	t.Run("endpoints that come up late are waited for", func(t *testing.T) {
		late := lateProxy(t, moto, 700*time.Millisecond)
		cfg := awsEnv(t, late, kms)
		var out, log bytes.Buffer
		o := options{table: "late", signing: "alias/late-signing", mac: "alias/late-mac", wait: 30 * time.Second}
		if err := run(t.Context(), cfg, o, &out, &log); err != nil {
			t.Fatalf("run: %v\n%s", err, log.String())
		}
		if !strings.Contains(log.String(), "waiting for DynamoDB") {
			t.Errorf("log does not say it waited:\n%s", log.String())
		}
	})
	t.Run("an endpoint that never answers fails within the wait, named", func(t *testing.T) {
		cfg := awsEnv(t, moto, "http://"+closedAddr(t))
		start := time.Now()
		var out, log bytes.Buffer
		o := options{table: "never", signing: "alias/never-signing", mac: "alias/never-mac", wait: time.Second}
		err := run(t.Context(), cfg, o, &out, &log)
		if err == nil || !strings.Contains(err.Error(), "KMS did not answer within 1s") {
			t.Fatalf("run: %v", err)
		}
		if took := time.Since(start); took > 20*time.Second {
			t.Errorf("gave up after %v, want about the 1s wait", took)
		}
		if out.Len() != 0 {
			t.Errorf("printed an environment although the set-up failed: %q", out.String())
		}
	})
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// lateProxy returns a loopback URL that refuses connections for delay and
// then forwards to backend.
func lateProxy(t *testing.T, backend string, delay time.Duration) string {
	addr := closedAddr(t)
	target, err := url.Parse(backend)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: httputil.NewSingleHostReverseProxy(target), ReadHeaderTimeout: 10 * time.Second}
	timer := time.AfterFunc(delay, func() {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Errorf("late proxy: %v", err)
			return
		}
		go srv.Serve(ln)
	})
	t.Cleanup(func() {
		timer.Stop()
		srv.Close()
	})
	return "http://" + addr
}

// The printed environment is what awsdeps needs, and a second run reuses
// everything.
func TestRun(t *testing.T) {
	cfg := awsEnv(t, awstest.StartMoto(t), awstest.StartKMS(t))
	o := options{table: "mrrt-dev", signing: "alias/dev-signing", es256: "alias/dev-es256", mac: "alias/dev-refresh", wait: time.Minute}
	var out, log bytes.Buffer
	if err := run(t.Context(), cfg, o, &out, &log); err != nil {
		t.Fatal(err)
	}
	want := "export TABLE_NAME='mrrt-dev'\nexport KMS_KEY_ID='alias/dev-signing'\nexport KMS_ES256_KEY_ID='alias/dev-es256'\nexport KMS_MAC_KEY_ID='alias/dev-refresh'\n"
	if out.String() != want {
		t.Errorf("output %q, want %q", out.String(), want)
	}
	if n := strings.Count(log.String(), " created: "); n != 3 {
		t.Errorf("%d keys created, want 3:\n%s", n, log.String())
	}

	out.Reset()
	log.Reset()
	if err := run(t.Context(), cfg, o, &out, &log); err != nil {
		t.Fatalf("second run: %v", err)
	}
	if out.String() != want || strings.Contains(log.String(), " created: ") {
		t.Errorf("second run created something or printed another environment:\n%s%s", out.String(), log.String())
	}

	env := exports(out.String())
	d, err := local.AWSDeps(t.Context(), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Store.CreateClient(t.Context(), &oauth.Client{ClientID: "spa"}); err != nil {
		t.Errorf("the table does not work: %v", err)
	}
	if _, err := d.Signer.Sign(t.Context(), oauth.AlgES256, oauth.TypAccessToken, map[string]string{"sub": "x"}); err != nil {
		t.Errorf("the ES256 key does not sign: %v", err)
	}
	if d.Signer.DefaultAlg() != oauth.AlgRS256 {
		t.Errorf("default alg %s, want RS256", d.Signer.DefaultAlg())
	}
	if _, err := d.RefreshKeyFunc(t.Context()); err != nil {
		t.Errorf("the MAC key does not work: %v", err)
	}

	t.Run("an alias naming a key of the wrong kind is refused", func(t *testing.T) {
		bad := o
		bad.mac = o.signing
		if err := run(t.Context(), cfg, bad, &out, &log); err == nil || !strings.Contains(err.Error(), "want HMAC_256") {
			t.Errorf("run: %v", err)
		}
	})
}

// -envelope: the wrapping key and a key pair per algorithm in the table,
// made once; the AWS mode then signs in process with them.
func TestRunEnvelope(t *testing.T) {
	cfg := awsEnv(t, awstest.StartMoto(t), awstest.StartKMS(t))
	o := options{table: "mrrt-env", signing: "alias/env-signing", es256: "alias/env-es256", mac: "alias/env-refresh",
		envelope: "alias/env-envelope", wait: time.Minute}
	var out, log bytes.Buffer
	for run1 := range 2 {
		out.Reset()
		log.Reset()
		if err := run(t.Context(), cfg, o, &out, &log); err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(log.String(), "envelope key pair"); n != 2 {
			t.Errorf("run %d: %d envelope key pair lines, want 2 (RS256, ES256):\n%s", run1+1, n, log.String())
		}
		if created := strings.Count(log.String(), "envelope key pair RS256 created") + strings.Count(log.String(), "envelope key pair ES256 created"); (run1 == 0) != (created == 2) {
			t.Errorf("run %d created %d pairs:\n%s", run1+1, created, log.String())
		}
	}
	if !strings.Contains(out.String(), "export SIGNING_MODE=envelope\n") {
		t.Errorf("output %q lacks SIGNING_MODE", out.String())
	}
	env := exports(out.String())
	d, err := local.AWSDeps(t.Context(), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	for _, alg := range []string{oauth.AlgRS256, oauth.AlgES256} {
		if _, err := d.Signer.Sign(t.Context(), alg, oauth.TypAccessToken, map[string]string{"sub": "x"}); err != nil {
			t.Errorf("the %s envelope key does not sign: %v", alg, err)
		}
	}
}

// -envelope -rotate: a next pair is published first, then it signs and the
// old one is only published.
func TestRotateEnvelope(t *testing.T) {
	cfg := awsEnv(t, awstest.StartMoto(t), awstest.StartKMS(t))
	o := options{table: "mrrt-rot", signing: "alias/rot-signing", mac: "alias/rot-refresh", envelope: "alias/rot-envelope", wait: time.Minute}
	var out, log bytes.Buffer
	if err := run(t.Context(), cfg, o, &out, &log); err != nil {
		t.Fatal(err)
	}
	env := exports(out.String())
	signingKid := func() (string, int) {
		t.Helper()
		d, err := local.AWSDeps(t.Context(), func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		keys, _ := d.Signer.PublicKeys(t.Context())
		return keys[0].KeyID, len(keys)
	}
	first, n := signingKid()
	if n != 1 {
		t.Fatalf("%d published keys before the rotation", n)
	}
	o.rotate = true
	time.Sleep(2 * time.Millisecond) // the next pair is newer than the first (times are kept in ms)
	if err := run(t.Context(), cfg, o, &out, &log); err != nil {
		t.Fatal(err)
	}
	if kid, n := signingKid(); kid != first || n != 2 {
		t.Errorf("after step 1: signing %s with %d published, want %s with 2", kid, n, first)
	}
	if err := run(t.Context(), cfg, o, &out, &log); err != nil {
		t.Fatal(err)
	}
	if kid, n := signingKid(); kid == first || n != 2 {
		t.Errorf("after step 2: signing %s with %d published, want the new key with 2", kid, n)
	}
}

// exports is the environment run printed (shell exports), with the issuer
// the functions also need.
func exports(out string) map[string]string {
	env := map[string]string{"ISSUER": "https://auth.example.com"}
	for line := range strings.Lines(out) {
		k, v, _ := strings.Cut(strings.TrimSpace(strings.TrimPrefix(line, "export ")), "=")
		env[k] = strings.Trim(v, "'")
	}
	return env
}
