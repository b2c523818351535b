// Package localserver serves the whole API in one process on a loopback
// httptest server, seeded as `make run` seeds it: the one seeded server of
// the end-to-end tests, the load driver's tests and the bootstrap tests.
package localserver

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mrrt-auth/mrrt/shared/adapters/memstore"
	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/runtime/local"
	"github.com/mrrt-auth/mrrt/shared/runtime/seed"
)

// Options change what Start serves; the zero value is the embedded default
// seed with logs discarded.
type Options struct {
	// SeedJSON replaces the default seed (a seed file's content; `{}` is
	// an empty store).
	SeedJSON string
	// Populate, when set, runs on the seeded store before serving, for
	// fixtures a seed file cannot express.
	Populate func(ctx context.Context, s oauth.Store) error
	// Signer replaces the fresh signing keys.
	Signer oauth.Signer
	Logger *slog.Logger
	// Configure, when set, changes the dependencies before they are
	// served (sign-in limits, another event log reader).
	Configure func(d *local.Deps)
	// TLS serves https (httptest's certificate; the issuer is https://).
	TLS bool
}

// Server is a running seeded API.
type Server struct {
	*httptest.Server
	Store *memstore.Store
	Deps  local.Deps
}

// Start serves local.Routes until the test ends. The issuer is the
// server's own URL. At the end the test fails if any event the server
// emitted holds a secret, token, code, password or hash that crossed it
// (secretscan.go).
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	scheme := "http://"
	if o.TLS {
		scheme = "https://"
	}
	issuer := scheme + srv.Listener.Addr().String()
	// Every event of every test served here is checked for secrets.
	scan := newSecretScan()
	t.Cleanup(func() { scan.check(t) })
	m := local.Memory{Issuer: issuer, Signer: o.Signer, Logger: o.Logger, Events: scan}
	if m.Logger == nil {
		m.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.SeedJSON != "" {
		doc, err := seed.Parse(strings.NewReader(o.SeedJSON), issuer)
		if err != nil {
			srv.Close()
			t.Fatalf("localserver: seed: %v", err)
		}
		m.Seed = doc
	}
	deps, store, err := m.Deps(context.Background())
	if err != nil {
		srv.Close()
		t.Fatalf("localserver: %v", err)
	}
	if o.Populate != nil {
		if err := o.Populate(context.Background(), store); err != nil {
			srv.Close()
			t.Fatalf("localserver: populate: %v", err)
		}
	}
	if o.Configure != nil {
		o.Configure(&deps)
	}
	srv.Config.Handler = scan.wrap(local.Routes(deps))
	if o.TLS {
		srv.StartTLS()
	} else {
		srv.Start()
	}
	t.Cleanup(srv.Close)
	return &Server{Server: srv, Store: store, Deps: deps}
}
