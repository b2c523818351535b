package local_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// maxBootstrapBytes is the size budget of each function's bootstrap: a
// smaller package uploads and cold-starts faster. Each function links its
// own handler only (app.AuthorizeFunction, ...; awsdeps.LoadStore for
// authorize); a function that linked the others' handlers was 15.8 MB.
const maxBootstrapBytes = 15_000_000

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
	out := t.TempDir()
	args := []string{"./functions/" + string(functions[0])}
	for _, f := range functions[1:] {
		args = append(args, "./functions/"+string(f))
	}
	cmd := exec.Command("sh", "-c", `exec "$GO" build `+flags[1]+` -o "$OUT/" `+strings.Join(args, " "))
	cmd.Dir = "../../.."
	cmd.Env = append(os.Environ(), "GO="+goCommand(), "OUT="+out, "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", cmd, err, b)
	}
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
