// Command latency runs the token function under the AWS Lambda Runtime
// Interface Emulator against moto_server (DynamoDB) and local-kms, with a
// loopback proxy in front of each that holds every AWS request for -delay
// (what a request costs inside a Region, instead of loopback's tens of
// microseconds), and measures each grant in both signing modes (KMS Sign
// per token, and envelope: key pairs unwrapped once per cold start):
// latency as the caller sees it (p50, p99), the function's CPU time per
// invocation, and the AWS requests per invocation, counted at the proxies.
//
// From those counted requests and the AWS list prices in prices.go it
// prints the cost per million requests for 128, 512 and 1024 MB functions,
// and the exchanges per second one account reaches under the default KMS
// request quotas.
//
//	go run ./infra/latency [-delay 3ms] [-n 200] [-markdown]
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
	"time"
)

type config struct {
	delay    time.Duration
	n        int
	markdown bool
	rie      string
}

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "latency:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	results, err := run(ctx, cfg, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "latency:", err)
		os.Exit(1)
	}
	if cfg.markdown {
		fmt.Print(markdown(results, cfg, listPrices))
		return
	}
	for _, r := range results {
		line, _ := json.Marshal(r)
		fmt.Println(string(line))
	}
	fmt.Fprint(os.Stderr, markdown(results, cfg, listPrices))
}

// maxN bounds the invocations per grant.
const maxN = 5000

func parseFlags(args []string, out io.Writer) (config, error) {
	fs := flag.NewFlagSet("latency", flag.ContinueOnError)
	fs.SetOutput(out)
	var cfg config
	fs.DurationVar(&cfg.delay, "delay", 3*time.Millisecond, "time added to every DynamoDB and KMS request")
	fs.IntVar(&cfg.n, "n", 200, "invocations per grant and signing mode")
	fs.BoolVar(&cfg.markdown, "markdown", false, "print only the Markdown tables (latency, cost, quota ceiling) on stdout")
	fs.StringVar(&cfg.rie, "rie", "", "aws-lambda-rie binary (default: the pinned version, built from the Go module proxy)")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	switch {
	case fs.NArg() > 0:
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	case cfg.n < 1 || cfg.n > maxN:
		return cfg, fmt.Errorf("-n %d: want 1 to %d", cfg.n, maxN)
	case cfg.delay < 0 || cfg.delay > time.Second:
		return cfg, fmt.Errorf("-delay %v: want 0 to 1s", cfg.delay)
	}
	return cfg, nil
}
