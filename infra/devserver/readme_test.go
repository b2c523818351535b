package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mrrt-auth/mrrt/shared/runtime/local"
	"github.com/mrrt-auth/mrrt/shared/testkit/awstest"
)

// walkthrough returns the shell blocks of the README's curl walkthrough.
func walkthrough(t *testing.T) string {
	t.Helper()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## Walkthrough with curl\n")
	if !ok {
		t.Fatal("README has no '## Walkthrough with curl' section")
	}
	section, _, _ = strings.Cut(section, "\n## ")
	var script strings.Builder
	in := false
	for _, line := range strings.Split(section, "\n") {
		switch {
		case line == "```sh":
			in = true
		case line == "```":
			in = false
		case in:
			script.WriteString(line + "\n")
		}
	}
	return script.String()
}

// TestReadmeWalkthrough runs the README's curl walkthrough, as a new user
// would paste it, against the dev server's handlers and default seed.
func TestReadmeWalkthrough(t *testing.T) {
	requireTools(t)
	ln, base := listen(t)
	deps, err := memoryDeps(context.Background(), base, t.TempDir(), "", discard)
	if err != nil {
		t.Fatal(err)
	}
	runWalkthrough(t, ln, base, deps)
}

// TestReadmeWalkthroughOnAWS runs the same walkthrough against the AWS mode
// (STORE=aws): DynamoDB on moto_server and KMS on local-kms, set up with
// infra/awssetup exactly as the README says.
func TestReadmeWalkthroughOnAWS(t *testing.T) {
	requireTools(t)
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", awstest.StartMoto(t))
	t.Setenv("AWS_ENDPOINT_URL_KMS", awstest.StartKMS(t))
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("TABLE_NAME", "mrrt-devserver-test")

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "go", "run", "../awssetup").Output()
	if err != nil {
		t.Fatalf("awssetup: %v", err)
	}
	env := map[string]string{"STORE": "aws"}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "=")
		if !ok {
			t.Fatalf("awssetup printed %q", line)
		}
		env[k] = strings.Trim(v, "'")
	}
	getenv := func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		return os.Getenv(k)
	}
	ln, base := listen(t)
	deps, err := awsDeps(ctx, getenv, base, "", discard)
	if err != nil {
		t.Fatal(err)
	}
	// A second start over the same table keeps what the first one seeded.
	if _, err := awsDeps(ctx, getenv, base, "", discard); err != nil {
		t.Fatalf("second start on a seeded table: %v", err)
	}
	runWalkthrough(t, ln, base, deps)
}

var discard = slog.New(slog.NewTextHandler(io.Discard, nil))

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

func requireTools(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"bash", "curl", "openssl", "awk", "sed"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("WALKTHROUGH TEST SKIPPED: %s not found", tool)
		}
	}
}

func listen(t *testing.T) (net.Listener, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln, "http://" + ln.Addr().String()
}

// runWalkthrough serves deps on ln and runs the README's shell blocks
// against it, checking each step's outcome.
func runWalkthrough(t *testing.T, ln net.Listener, base string, deps local.Deps) {
	t.Helper()
	srv := &http.Server{Handler: local.Routes(deps), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	script := walkthrough(t)
	const defaultBase = "BASE=http://127.0.0.1:8080\n"
	if !strings.Contains(script, defaultBase) {
		t.Fatalf("the walkthrough does not start with %q", defaultBase)
	}
	script = strings.Replace(script, defaultBase, "BASE="+base+"\n", 1)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", script)
	cmd.Dir = t.TempDir()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("walkthrough failed: %v\n%s", err, out)
	}
	got := string(out)
	for _, want := range []string{
		"https://app.example.com/callback?code=",          // step 1: signed in, code issued
		`"refresh_token":"`,                               // step 2
		`"scope":"read:billing"`,                          // step 3: MRRT exchange
		`"scope":"read:data write:data"`,                  // step 3: resource parameter
		`"error":"invalid_target"`,                        // step 3: audience outside the policy
		`"scope":"read:billing write:billing"`,            // step 5: the new policy applies at once
		"\n200\n",                                         // step 6: revocation
		`{"error":"invalid_grant"`,                        // step 6: the family is dead
		`"jwks_uri":"` + base + `/.well-known/jwks.json"`, // step 4
	} {
		if !strings.Contains(got, want) {
			t.Errorf("walkthrough output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("output:\n%s", got)
	}
}

func TestLoadOrCreateKeyKeepsTheKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "refresh-token.key")
	first, err := loadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	second, err := loadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 32 || string(first) != string(second) {
		t.Fatalf("key changed across loads or is not 32 bytes: %x vs %x", first, second)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode = %v, %v; want 0600", fi.Mode().Perm(), err)
	}
	if err := os.WriteFile(path, []byte("not hex"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadOrCreateKey(path); err == nil {
		t.Fatal("a corrupt key file was accepted")
	}
}
