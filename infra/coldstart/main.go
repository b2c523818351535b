// Command coldstart measures the Lambda cold start of each function: it
// builds the bootstraps as `make build` does (for this machine's
// architecture, to run them; and for linux/arm64, to report the deployed
// size), starts DynamoDB (moto_server) and KMS (infra/localkms) emulators
// on loopback with the table, keys and default seed a deployment has, and
// then, several times per function, starts the bootstrap under the AWS
// Lambda Runtime Interface Emulator and invokes it with an event from
// events/.
//
// Per run it records the emulator's init duration (runtime process start
// until the runtime asks for its first event), the first invocation's
// duration inside the runtime, the first response as the caller sees it
// (process start, init and invoke together) and a second, warm invocation;
// it prints the medians, one JSON line and one human line per function.
//
//	go run ./infra/coldstart [-runs 5]
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// functions are the three Lambda functions (folder names under functions/).
var functions = []string{"authorize", "token", "policy-admin"}

// maxRuns bounds the cold starts per function.
const maxRuns = 50

type config struct {
	runs      int
	eventsDir string
	events    map[string]string // function -> event file, overriding the default choice
	rie       string            // the emulator binary; "" installs the pinned one
	// adminToken puts a fresh admin access token into the policy-admin
	// event (its own token cannot verify against this run's new KMS key).
	adminToken bool
}

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "coldstart:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	reps, err := run(ctx, cfg, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "coldstart:", err)
		os.Exit(1)
	}
	for _, r := range reps {
		line, _ := json.Marshal(r)
		fmt.Println(string(line))
	}
	for _, r := range reps {
		fmt.Fprintln(os.Stderr, r.human())
	}
}

func parseFlags(args []string, out io.Writer) (config, error) {
	fs := flag.NewFlagSet("coldstart", flag.ContinueOnError)
	fs.SetOutput(out)
	cfg := config{events: map[string]string{}}
	fs.IntVar(&cfg.runs, "runs", 5, "cold starts per function")
	fs.StringVar(&cfg.eventsDir, "events", "events", "directory of API Gateway v2 events (relative to the repository)")
	fs.StringVar(&cfg.rie, "rie", "", "aws-lambda-rie binary (default: the pinned version, built from the Go module proxy)")
	fs.BoolVar(&cfg.adminToken, "admin-token", true, "replace the policy-admin event's Authorization header with an admin token minted by the token function")
	for _, f := range functions {
		fs.Func("event-"+f, "event file for the "+f+" function (default: chosen from -events)", func(v string) error {
			cfg.events[f] = v
			return nil
		})
	}
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if cfg.runs < 1 || cfg.runs > maxRuns {
		return config{}, fmt.Errorf("-runs %d: want 1..%d", cfg.runs, maxRuns)
	}
	return cfg, nil
}
