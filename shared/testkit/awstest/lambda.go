// The Lambda side of the kit runs the functions the way Lambda runs them,
// without Docker: each bootstrap, built as `sam build` builds it (for this
// machine's architecture), runs under the AWS Lambda Runtime Interface
// Emulator, which speaks the Runtime API to it and takes invocations on
// /2015-03-31/functions/function/invocations. FrontDoor is a local stand-in
// for `sam local start-api`: plain HTTP in, API Gateway HTTP API (payload
// format 2.0) events to the functions, HTTP responses out.
//
//	emulator, _ := awstest.InstallEmulator(ctx, dir)
//	boots, _ := awstest.BuildBootstraps(ctx, root, dir, runtime.GOARCH, local.Functions)
//	fn, _ := awstest.StartFunction(ctx, emulator, boots[local.Token], env)
//	defer fn.Stop()
//	resp, _ := fn.Invoke(ctx, event) // an error if the function failed

package awstest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/mrrt-auth/mrrt/shared/testkit/childproc"
)

// EmulatorPackage is the Runtime Interface Emulator, at a pinned version,
// installed from the Go module proxy.
const EmulatorPackage = "github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d"

// BuildFlags are the flags of the Makefile's LAMBDA_FLAGS: the bootstraps
// talk to the Runtime API only (lambda.norpc) and carry no local paths.
var BuildFlags = []string{"-tags", "lambda.norpc", "-trimpath", "-ldflags=-s -w -buildid="}

// InstallEmulator builds the emulator into dir with `go install`, outside
// any module, so the project's go.mod is not touched; the Go build cache
// makes later installs quick. It returns the binary's path.
func InstallEmulator(ctx context.Context, dir string) (string, error) {
	cmd := exec.CommandContext(ctx, childproc.GoCommand(), "install", EmulatorPackage)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOBIN="+dir, "CGO_ENABLED=0", "GOFLAGS=-mod=mod", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("awstest: go install %s: %v\n%s", EmulatorPackage, err, out)
	}
	return filepath.Join(dir, "aws-lambda-rie"), nil
}

// BuildBootstraps builds the three functions of the module at root for
// linux/goarch with BuildFlags, in one go command, into
// dir/<goarch>/<function>/bootstrap, and returns their paths.
func BuildBootstraps[F ~string](ctx context.Context, root, dir, goarch string, functions []F) (map[F]string, error) {
	out := filepath.Join(dir, goarch)
	bin := filepath.Join(out, "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return nil, err
	}
	args := append([]string{"build"}, BuildFlags...)
	args = append(args, "-o", bin+string(filepath.Separator))
	for _, f := range functions {
		args = append(args, "./functions/"+string(f))
	}
	cmd := exec.CommandContext(ctx, childproc.GoCommand(), args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+goarch, "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("awstest: build functions for linux/%s: %v\n%s", goarch, err, b)
	}
	paths := map[F]string{}
	for _, f := range functions {
		p := filepath.Join(out, string(f), "bootstrap")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		if err := os.Rename(filepath.Join(bin, string(f)), p); err != nil {
			return nil, err
		}
		paths[f] = p
	}
	return paths, nil
}

// ModuleRoot is the directory of the main module's go.mod.
func ModuleRoot(ctx context.Context) (string, error) {
	root, err := childproc.ModuleRoot(ctx)
	if err != nil {
		return "", fmt.Errorf("awstest: %w", err)
	}
	return root, nil
}
