package local_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/mrrt-auth/mrrt/shared/runtime/local"
)

// maxBootstrapBytes is the size budget of each function's bootstrap: a
// smaller package uploads and cold-starts faster. Each function's main
// wires its own handler only; a function that linked the others' handlers
// was 15.8 MB.
const maxBootstrapBytes = 15_000_000

// foreign are the packages a function's binary must not contain: the other
// functions' handlers, and for authorize (which signs nothing) the KMS client.
var foreign = map[local.Function][]string{
	local.Authorize:   {"mrrt/shared/protocol/token.", "mrrt/shared/protocol/policyadmin.", "aws-sdk-go-v2/service/kms.", "mrrt/shared/adapters/kmssigner."},
	local.Token:       {"mrrt/shared/protocol/authorize.", "mrrt/shared/protocol/policyadmin."},
	local.PolicyAdmin: {"mrrt/shared/protocol/authorize.", "mrrt/shared/protocol/token."},
}

// own is a package each function's binary must contain: the check above
// would pass vacuously on a binary without symbols.
var own = map[local.Function]string{
	local.Authorize:   "mrrt/shared/protocol/authorize.",
	local.Token:       "mrrt/shared/protocol/token.",
	local.PolicyAdmin: "mrrt/shared/protocol/policyadmin.",
}

func TestFunctionBootstrapsFitTheSizeBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the three functions for linux/arm64")
	}
	b, err := os.ReadFile("../../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	flags := regexp.MustCompile(`(?m)^LAMBDA_FLAGS\s*:?=(.*)$`).FindStringSubmatch(string(b))
	if flags == nil {
		t.Fatal("Makefile: no LAMBDA_FLAGS")
	}
	// Built as `make build` does, with the Makefile's flags (shell words).
	out := build(t, flags[1])
	for _, f := range functions {
		fi, err := os.Stat(filepath.Join(out, string(f)))
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d bytes", f, fi.Size())
		if fi.Size() >= maxBootstrapBytes {
			t.Errorf("%s bootstrap is %d bytes, want under %d", f, fi.Size(), maxBootstrapBytes)
		}
	}
}

// goCommand is the go command on PATH, else the one of this test's
// toolchain.
func goCommand() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// build builds the three functions for linux/arm64 with flags (shell
// words) into a new directory and returns it.
func build(t *testing.T, flags string) string {
	t.Helper()
	out := t.TempDir()
	args := []string{"./functions/" + string(functions[0])}
	for _, f := range functions[1:] {
		args = append(args, "./functions/"+string(f))
	}
	cmd := exec.Command("sh", "-c", `exec "$GO" build `+flags+` -o "$OUT/" `+strings.Join(args, " "))
	cmd.Dir = "../../.."
	cmd.Env = append(os.Environ(), "GO="+goCommand(), "OUT="+out, "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, b)
	}
	return out
}

func TestEachBootstrapLinksOnlyItsOwnHandler(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the three functions for linux/arm64")
	}
	// The Makefile strips the symbol table (-s -w); the same build without
	// it links the same packages.
	out := build(t, "-tags lambda.norpc -trimpath")
	for _, f := range functions {
		nm := exec.Command(goCommand(), "tool", "nm", filepath.Join(out, string(f)))
		syms, err := nm.Output()
		if err != nil {
			t.Fatalf("go tool nm %s: %v", f, err)
		}
		if !strings.Contains(string(syms), own[f]) {
			t.Errorf("%s: no %s symbols; the check cannot see the binary's packages", f, own[f])
		}
		for _, pkg := range foreign[f] {
			if n := strings.Count(string(syms), pkg); n > 0 {
				t.Errorf("%s contains %d symbols of %s", f, n, strings.TrimSuffix(pkg, "."))
			}
		}
	}
}
