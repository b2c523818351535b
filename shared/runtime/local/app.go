// Package local composes the whole API in one process: the three handlers
// on one router, as the API Gateway HTTP API routes them, for `make run`
// (infra/devserver) and the end-to-end tests. The Lambda functions do not
// use it: each function's main wires its own handler only (functions/).
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
	// AdminAudience is the audience of the policy-admin API; default
	// oauth.DefaultAdminAudience(Issuer).
	AdminAudience string
	// DefaultAudience is used by /authorize when a request names no API.
	DefaultAudience string
	// Login bounds sign-in attempts and concurrent password checks;
	// zero fields take authorize's defaults.
	Login authorize.LoginLimits
	// Events receives the handlers' events (sign-ins, exchanges, admin
	// calls); Logs reads them back for /api/v2/logs. Nil: dropped, and the
	// log routes answer empty lists.
	Events oauth.EventSink
	Logs   oauth.EventLog
	// Roles holds roles and permissions (RBAC); the token handler reads
	// users' permissions from it, the admin API manages it.
	Roles oauth.RoleStore
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
		d.AdminAudience = oauth.DefaultAdminAudience(d.Issuer)
	}
	if d.RefreshKeyFunc == nil {
		key := d.RefreshKey
		d.RefreshKeyFunc = func(context.Context) ([]byte, error) {
			if len(key) < 32 {
				return nil, errors.New("local: refresh key shorter than 32 bytes")
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
		Users:        d.Store,
		Replay:       d.Store,
		Permissions:  d.Roles,
		Signer:       d.Signer,
		Issuer:       d.Issuer,
		RefreshKey:   d.RefreshKeyFunc,
		Events:       d.Events,
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
		Login:                d.Login,
		Events:               d.Events,
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
		Events:   d.Events,
		Logs:     d.Logs,
		Roles:    d.Roles,
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

// Functions are the three Lambda functions, in the order of template.yaml.
var Functions = []Function{Authorize, Token, PolicyAdmin}

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

// NewFunction returns the handler of function f, built as that
// function's main builds it.
func NewFunction(f Function, d Deps) http.Handler {
	switch f {
	case Authorize:
		return NewAuthorize(d)
	case Token:
		return NewToken(d)
	case PolicyAdmin:
		return NewPolicyAdmin(d)
	}
	panic("local: unknown function " + string(f))
}

// Routes serves all three functions on one router, as the API Gateway HTTP
// API does; anything else is 404. Each handler recovers from its own
// panics, in its own error shape.
func Routes(d Deps) http.Handler {
	d = d.withDefaults()
	mux := http.NewServeMux()
	for _, f := range Functions {
		h := NewFunction(f, d)
		for _, p := range RoutesOf(f) {
			mux.Handle(p, h)
		}
	}
	return mux
}
