// Command load measures the token endpoint under load: N chains, each
// exchanging its own refresh token over and over with rotation on (every
// request presents the token the previous response returned), or
// client-credentials requests instead, for a fixed duration and at most a
// fixed number of requests. It talks to loopback addresses only.
//
// Without -url it builds the dev server, starts it on a free 127.0.0.1 port
// with a copy of the default seed whose APIs all sign with -alg and a
// temporary DATA_DIR, and stops it at the end; only then is the server's
// peak RSS known.
//
// Output: one JSON line on stdout and one human line on stderr.
//
//	go run ./infra/load -chains 8 -duration 10s -alg ES256 -audience-switch
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

// maxDuration bounds one run; maxChains bounds the concurrency.
const (
	maxDuration = 5 * time.Minute
	maxChains   = 256
)

// Grants the driver can exercise.
const (
	grantRefresh = "refresh_token"
	grantClient  = "client_credentials"
)

// config is one run's settings, from the flags.
type config struct {
	chains         int
	duration       time.Duration
	maxRequests    int64
	audienceSwitch bool
	grant          string
	alg            string
	url            string // "" starts a dev server
	baseline       bool
	scope          string
	cpuProfile     string // the driver's own CPU profile of the measured phase
}

func main() {
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, err := run(ctx, cfg, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
	line, err := json.Marshal(rep)
	if err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		os.Exit(1)
	}
	fmt.Println(string(line))
	fmt.Fprintln(os.Stderr, rep.human())
	if rep.errorCount() > 0 {
		os.Exit(1)
	}
}

func parseFlags(args []string, out io.Writer) (config, error) {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(out)
	var cfg config
	fs.IntVar(&cfg.chains, "chains", 8, "concurrent chains, each with its own refresh token")
	fs.DurationVar(&cfg.duration, "duration", 10*time.Second, "how long to drive load (at most 5m)")
	fs.Int64Var(&cfg.maxRequests, "max-requests", 1_000_000, "hard cap on token requests in the measured phase")
	fs.BoolVar(&cfg.audienceSwitch, "audience-switch", false, "alternate the audience between the two APIs on every exchange (refresh_token only)")
	fs.StringVar(&cfg.grant, "grant", grantRefresh, "refresh_token or client_credentials")
	fs.StringVar(&cfg.alg, "alg", "RS256", "signing algorithm of every API in the seed of the server started here (RS256 or ES256)")
	fs.StringVar(&cfg.url, "url", "", "base URL of a running server (loopback only); default: start a dev server")
	fs.BoolVar(&cfg.baseline, "baseline", false, "also measure this machine's raw signing rate for the token's algorithm and print the ratio")
	fs.StringVar(&cfg.scope, "scope", "offline_access read:data", "scope of the sign-in (add openid to get an ID token, a second signature, on same-audience exchanges)")
	fs.StringVar(&cfg.cpuProfile, "cpuprofile", "", "write the driver's CPU profile of the measured phase to this file")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	return cfg, cfg.validate()
}

func (c config) validate() error {
	switch {
	case c.chains < 1 || c.chains > maxChains:
		return fmt.Errorf("-chains %d: want 1..%d", c.chains, maxChains)
	case c.duration <= 0 || c.duration > maxDuration:
		return fmt.Errorf("-duration %v: want more than 0 and at most %v", c.duration, maxDuration)
	case c.maxRequests < 1:
		return fmt.Errorf("-max-requests %d: want at least 1", c.maxRequests)
	case c.grant != grantRefresh && c.grant != grantClient:
		return fmt.Errorf("-grant %q: want %s or %s", c.grant, grantRefresh, grantClient)
	case c.alg != "RS256" && c.alg != "ES256":
		return fmt.Errorf("-alg %q: want RS256 or ES256", c.alg)
	case c.audienceSwitch && c.grant != grantRefresh:
		return errors.New("-audience-switch applies to the refresh_token grant only")
	}
	if c.url != "" {
		if err := checkLoopbackURL(c.url); err != nil {
			return err
		}
	}
	return nil
}
