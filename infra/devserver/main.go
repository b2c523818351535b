// Command devserver serves the whole API locally: the same handlers as the
// three Lambda functions, on one router, with an in-memory store seeded from
// a JSON file and local keys kept under DATA_DIR (so access tokens still
// verify after a restart; refresh tokens, codes and sessions live in memory
// and do not survive it). No AWS and no Docker needed.
//
// Environment: ADDR (default 127.0.0.1:8080), SEED_FILE (default
// the embedded default, shared/runtime/seed/default.json), DATA_DIR (default .dev), ISSUER (default
// http://ADDR), LOG_LEVEL (debug, info, warn, error), LOGIN_CONCURRENCY (password
// checks at once; default the number of cores: more sign-ins answer 503).
//
// STORE=aws switches to the AWS adapters (DynamoDB store, KMS signer) against
// whatever endpoints the environment names, configured as the Lambdas are
// (TABLE_NAME, KMS_KEY_ID, KMS_MAC_KEY_ID, ...; see shared/awsdeps and
// `make aws-setup`). The seed is then written once: entries that already
// exist are kept. SEED_FILE=none skips it.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mrrt-auth/mrrt/shared/adapters/localsigner"
	"github.com/mrrt-auth/mrrt/shared/adapters/memstore"
	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/runtime/local"
	"github.com/mrrt-auth/mrrt/shared/runtime/seed"
)

func main() {
	if err := run(context.Background(), os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "devserver:", err)
		os.Exit(1)
	}
}

func env(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

func run(ctx context.Context, getenv func(string) string) error {
	addr := env(getenv, "ADDR", "127.0.0.1:8080")
	issuer := env(getenv, "ISSUER", "http://"+addr) // byte for byte, a trailing slash included
	dataDir := env(getenv, "DATA_DIR", ".dev")
	seedPath := getenv("SEED_FILE") // "" is the embedded default seed

	level, err := logLevel(env(getenv, "LOG_LEVEL", "info"))
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	var deps local.Deps
	mode := env(getenv, "STORE", "memory")
	switch mode {
	case "memory":
		deps, err = memoryDeps(ctx, issuer, dataDir, seedPath, logger)
	case "aws":
		deps, err = awsDeps(ctx, getenv, issuer, seedPath, logger)
	default:
		err = fmt.Errorf("STORE=%q: want memory or aws", mode)
	}
	if err != nil {
		return err
	}
	if v := getenv("LOGIN_CONCURRENCY"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return fmt.Errorf("LOGIN_CONCURRENCY=%q: want a positive number", v)
		}
		deps.Login.Concurrency = n
	}

	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := local.NewServer(local.Routes(deps), local.DefaultServerLimits, logger)
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	logger.Info("listening", listening(mode, issuer, ln.Addr().String(), seedPath, dataDir)...)
	fmt.Fprintf(os.Stderr, "devserver: serving %s (discovery: %s/.well-known/openid-configuration)\n", issuer, issuer)
	if err := srv.Serve(local.GuardListener(ln)); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	logger.Info("stopped")
	return nil
}

// logLevel parses LOG_LEVEL; anything but the four names is refused, so a
// typo does not silently leave the default.
func logLevel(v string) (slog.Level, error) {
	switch strings.ToLower(v) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("LOG_LEVEL=%q: want debug, info, warn or error", v)
}

// listening is the start-up log line's attributes: the data directory only
// where it is used (the memory mode keeps its keys there).
func listening(mode, issuer, addr, seedPath, dataDir string) []any {
	attrs := []any{"issuer", issuer, "addr", addr, "store", mode, "seed", seedName(seedPath)}
	if mode == "memory" {
		attrs = append(attrs, "data_dir", dataDir)
	}
	return attrs
}

// memoryDeps builds the embedded default: memory store loaded from the seed
// file, local signer and refresh-token key persisted in dataDir.
func memoryDeps(ctx context.Context, issuer, dataDir, seedPath string, logger *slog.Logger) (local.Deps, error) {
	signer, err := localsigner.LoadOrCreate(filepath.Join(dataDir, "keys"))
	if err != nil {
		return local.Deps{}, err
	}
	key, err := loadOrCreateKey(filepath.Join(dataDir, "refresh-token.key"))
	if err != nil {
		return local.Deps{}, err
	}
	doc, err := seed.Open(seedPath, issuer)
	if err != nil {
		return local.Deps{}, err
	}
	deps, _, err := local.Memory{Issuer: issuer, Seed: doc, Signer: signer, RefreshKey: key, Logger: logger,
		Events: &terminal{w: os.Stderr}}.Deps(ctx)
	return deps, err
}

// awsDeps builds the AWS mode: the same dependencies as the Lambdas.
func awsDeps(ctx context.Context, getenv func(string) string, issuer, seedPath string, logger *slog.Logger) (local.Deps, error) {
	d, err := local.AWSDeps(ctx, func(key string) string {
		if key == "ISSUER" {
			return issuer
		}
		return getenv(key)
	})
	if err != nil {
		return local.Deps{}, err
	}
	if seedPath != "none" {
		doc, err := seed.Open(seedPath, issuer)
		if err != nil {
			return local.Deps{}, err
		}
		// The seed's roles go to the role store beside the cached one.
		store := struct {
			oauth.Store
			oauth.RoleStore
		}{d.Store, d.Roles}
		if err := seed.LoadMissing(ctx, store, doc, rand.Reader, time.Now()); err != nil {
			return local.Deps{}, err
		}
	}
	d.Now, d.Rand, d.Logger = time.Now, rand.Reader, logger
	// Events stay in this process, as in the memory mode.
	events := memstore.NewEventLog(0)
	d.Events, d.Logs = oauth.Sinks{events, &terminal{w: os.Stderr}}, events
	return d, nil
}

// loadOrCreateKey reads a hex-encoded 32-byte key, creating it on first use.
func loadOrCreateKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		key, err := hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil || len(key) < 32 {
			return nil, fmt.Errorf("%s: not a hex key of 32 bytes", path)
		}
		return key, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	return key, os.WriteFile(path, []byte(hex.EncodeToString(key)+"\n"), 0o600)
}

func seedName(path string) string {
	if path == "" {
		return seed.DefaultName
	}
	return path
}
