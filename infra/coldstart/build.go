package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"

	"github.com/mrrt-auth/mrrt/shared/testkit/childproc"
)

// lambdaFlags are the build flags of `make build` (LAMBDA_FLAGS).
var lambdaFlags = []string{"-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w -buildid="}

// buildBootstrap builds functions/<fn> for linux/goarch into
// dir/<goarch>/<fn>/bootstrap and returns its path and size in bytes.
func buildBootstrap(ctx context.Context, root, dir, fn, goarch string) (string, int64, error) {
	out := filepath.Join(dir, goarch, fn, "bootstrap")
	args := append([]string{"build"}, lambdaFlags...)
	args = append(args, "-o", out, "./functions/"+fn)
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+goarch, "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", 0, fmt.Errorf("build %s for linux/%s: %v\n%s", fn, goarch, err, b)
	}
	fi, err := os.Stat(out)
	if err != nil {
		return "", 0, err
	}
	return out, fi.Size(), nil
}

// buildTool builds a command of this module into dir.
func buildTool(ctx context.Context, root, dir, pkg string) (string, error) {
	out := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	return out, nil
}

// riePackage is the Runtime Interface Emulator at the version infra/rie
// pins (keep the two equal).
const riePackage = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d"

// findRIE returns the emulator: the -rie flag, or else riePackage built
// into dir with `go install` outside any module (go.mod is not touched;
// the build cache makes it quick after the first time), so every
// measurement uses the pinned version.
func findRIE(ctx context.Context, flagValue, dir string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	cmd := exec.CommandContext(ctx, "go", "install", riePackage)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOBIN="+dir, "CGO_ENABLED=0", "GOFLAGS=-mod=mod", "GOWORK=off")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go install %s: %v\n%s", riePackage, err, b)
	}
	return filepath.Join(dir, "aws-lambda-rie"), nil
}

// moduleRoot is the directory of the main module's go.mod.
var moduleRoot = childproc.ModuleRoot

// hostArch is the architecture the bootstraps are run on here.
func hostArch() string { return runtime.GOARCH }
