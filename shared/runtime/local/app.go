// Package app wires the handlers into one router: the single source of truth
// for the paths that the Lambda functions, the dev server, the SAM template
// and the end-to-end tests share.
package local

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/protocol/authorize"
	"github.com/mrrt-auth/mrrt/shared/protocol/httpx"
	"github.com/mrrt-auth/mrrt/shared/protocol/policyadmin"
	"github.com/mrrt-auth/mrrt/shared/protocol/token"
)

// Deps is what every handler is built from.
type Deps struct {
	Store oauth.Store
	// Signer signs tokens (token) and verifies admin tokens (policy-admin);
	// the authorize handler does not use it.
	Signer oauth.Signer
	// Issuer is the public base URL, e.g. "http://127.0.0.1:8080" (no trailing slash).
	Issuer string
	// RefreshKey is the server secret for refresh-token MACs (>= 32 bytes);
	// RefreshKeyFunc, when set, takes precedence (KMS-derived keys are
	// fetched lazily, once per instance).
	RefreshKey     []byte
	RefreshKeyFunc func(ctx context.Context) ([]byte, error)
	// AdminAudience is the audience of the policy-admin API; default Issuer+"/api/v2/".
	AdminAudience string
	// DefaultAudience is used by /authorize when a request names no API.
	DefaultAudience string
	// Now, Rand and Logger default to time.Now, crypto/rand and
	// slog.Default() (as it is when the handler is built).
	Now    func() time.Time
	Rand   io.Reader
	Logger *slog.Logger
}

func (d Deps) withDefaults() Deps {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Rand == nil {
		d.Rand = rand.Reader
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if d.AdminAudience == "" {
		d.AdminAudience = d.Issuer + "/api/v2/"
	}
	if d.RefreshKeyFunc == nil {
		key := d.RefreshKey
		d.RefreshKeyFunc = func(context.Context) ([]byte, error) {
			if len(key) < 32 {
				return nil, errors.New("app: refresh key shorter than 32 bytes")
			}
			return key, nil
		}
	}
	return d
}

// NewToken is the token function's handler: /oauth/token, /oauth/revoke,
// discovery and JWKS.
func NewToken(d Deps) http.Handler {
	d = d.withDefaults()
	return token.NewHandler(token.Deps{
		Clients:      d.Store,
		APIs:         d.Store,
		ClientGrants: d.Store,
		Codes:        d.Store,
		Families:     d.Store,
		Signer:       d.Signer,
		Issuer:       d.Issuer,
		RefreshKey:   d.RefreshKeyFunc,
		Now:          d.Now,
		Rand:         d.Rand,
		Logger:       d.Logger,
	})
}

// NewAuthorize is the authorize function's handler: /authorize, the login
// and consent pages, and /logout.
func NewAuthorize(d Deps) http.Handler {
	d = d.withDefaults()
	return authorize.NewHandler(authorize.Deps{
		Clients:         d.Store,
		APIs:            d.Store,
		Users:           d.Store,
		Codes:           d.Store,
		Sessions:        d.Store,
		Consents:        d.Store,
		Throttle:        d.Store,
		Issuer:          d.Issuer,
		DefaultAudience: d.DefaultAudience,
		// The admin API takes client-credentials tokens only.
		MachineOnlyAudiences: []string{d.AdminAudience},
		Now:                  d.Now,
		Rand:                 d.Rand,
		Logger:               d.Logger,
	})
}

// NewPolicyAdmin is the policy-admin function's handler: /api/v2/...
func NewPolicyAdmin(d Deps) http.Handler {
	d = d.withDefaults()
	return policyadmin.NewHandler(policyadmin.Deps{
		Store:    d.Store,
		Keys:     d.Signer.PublicKeys,
		Issuer:   d.Issuer,
		Audience: d.AdminAudience,
		Now:      d.Now,
		Rand:     d.Rand,
		Logger:   d.Logger,
	})
}

// Function names the three Lambda functions.
type Function string

const (
	Authorize   Function = "authorize"
	Token       Function = "token"
	PolicyAdmin Function = "policy-admin"
)

// RoutesOf returns the ServeMux patterns served by function f.
func RoutesOf(f Function) []string {
	switch f {
	case Authorize:
		return authorize.Routes
	case Token:
		return token.Routes
	case PolicyAdmin:
		return policyadmin.Routes
	}
	return nil
}

// AuthorizeFunction, TokenFunction and PolicyAdminFunction are the
// handlers of the three Lambda functions: each function's handler mounted
// on exactly its routes (anything else is 404, as API Gateway would
// answer). Each function's main calls its own constructor, which refers to
// its own handler package only, so that the others' code is left out of
// its binary.
func AuthorizeFunction(d Deps) http.Handler {
	return mount(authorize.Routes, NewAuthorize(d), d)
}

// TokenFunction: see AuthorizeFunction.
func TokenFunction(d Deps) http.Handler { return mount(token.Routes, NewToken(d), d) }

// PolicyAdminFunction: see AuthorizeFunction.
func PolicyAdminFunction(d Deps) http.Handler {
	return mount(policyadmin.Routes, NewPolicyAdmin(d), d)
}

func mount(routes []string, h http.Handler, d Deps) http.Handler {
	mux := http.NewServeMux()
	for _, p := range routes {
		mux.Handle(p, h)
	}
	return httpx.Recover(d.withDefaults().Logger)(mux)
}

// NewFunction returns the handler of function f, as its constructor
// (AuthorizeFunction, ...) builds it. It refers to all three handlers: it
// is for the dev server and the tests, not for the functions' mains.
func NewFunction(f Function, d Deps) http.Handler {
	switch f {
	case Authorize:
		return AuthorizeFunction(d)
	case Token:
		return TokenFunction(d)
	case PolicyAdmin:
		return PolicyAdminFunction(d)
	}
	panic("app: unknown function " + string(f))
}

// Routes serves all three functions on one router, as the API Gateway HTTP
// API does: the dev server and the end-to-end tests use it.
func Routes(d Deps) http.Handler {
	d = d.withDefaults()
	mux := http.NewServeMux()
	for _, f := range []Function{Authorize, Token, PolicyAdmin} {
		h := NewFunction(f, d)
		for _, p := range RoutesOf(f) {
			mux.Handle(p, h)
		}
	}
	return mux
}
