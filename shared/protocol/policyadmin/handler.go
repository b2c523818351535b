// Package policyadmin serves the admin API of the authorization server:
// applications (clients) with their MRRT policies, APIs (resource servers),
// client grants, users and refresh-token families, in the paths and JSON
// shapes of Auth0's Management API v2. It is protected by this server's own
// access tokens (audience Deps.Audience) with Auth0-style scopes, and
// describes itself in an OpenAPI 3.1 document (openapi.yaml).
package policyadmin

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/protocol/httpx"
)

// Deps is what the admin API needs.
type Deps struct {
	Store oauth.Store // clients, APIs, grants, users, families
	// Keys returns the keys that verify admin access tokens (the app passes
	// Signer.PublicKeys); called per request, it must not call a remote
	// service each time.
	Keys func(ctx context.Context) ([]oauth.PublicKey, error)
	// Issuer is the "iss" of admin access tokens, e.g. "https://auth.example.com".
	Issuer string
	// Audience is the admin API's own identifier, e.g. Issuer+"/api/v2/".
	Audience string
	// Events receives one event per call of a protected route; nil drops
	// them. Logs reads events back for /api/v2/logs; nil answers those
	// routes with an empty list.
	Events oauth.EventSink
	Logs   oauth.EventLog
	// Roles holds roles and permissions (RBAC); nil answers those routes
	// 501.
	Roles  oauth.RoleStore
	Now    func() time.Time
	Rand   io.Reader
	Logger *slog.Logger
}

// route is one endpoint: its pattern, the scope its caller's token must
// carry ("" for none) and the method serving it.
type route struct {
	pattern string
	scope   string
	serve   func(*api, http.ResponseWriter, *http.Request) error
}

// routes is the table NewHandler mounts; Routes and openapi.yaml follow it.
var routes = []route{
	{"GET /api/v2/clients", scopeReadClients, (*api).listClients},
	{"POST /api/v2/clients", scopeCreateClients, (*api).createClient},
	{"GET /api/v2/clients/{id}", scopeReadClients, (*api).getClient},
	{"PATCH /api/v2/clients/{id}", scopeUpdateClients, (*api).updateClient},
	{"DELETE /api/v2/clients/{id}", scopeDeleteClients, (*api).deleteClient},
	// Auth0 asks for update:client_keys here; we have no separate key
	// material, so rotating a secret is an update of the client.
	{"POST /api/v2/clients/{id}/rotate-secret", scopeUpdateClients, (*api).rotateSecret},
	{"GET /api/v2/clients/{id}/credentials", scopeReadClientCredentials, (*api).listCredentials},
	{"POST /api/v2/clients/{id}/credentials", scopeCreateClientCredentials, (*api).createCredential},
	{"GET /api/v2/clients/{id}/credentials/{credential_id}", scopeReadClientCredentials, (*api).getCredential},
	{"PATCH /api/v2/clients/{id}/credentials/{credential_id}", scopeUpdateClientCredentials, (*api).updateCredential},
	{"DELETE /api/v2/clients/{id}/credentials/{credential_id}", scopeDeleteClientCredentials, (*api).deleteCredential},

	{"GET /api/v2/resource-servers", scopeReadAPIs, (*api).listAPIs},
	{"POST /api/v2/resource-servers", scopeCreateAPIs, (*api).createAPI},
	{"GET /api/v2/resource-servers/{id}", scopeReadAPIs, (*api).getAPI},
	{"PATCH /api/v2/resource-servers/{id}", scopeUpdateAPIs, (*api).updateAPI},
	{"DELETE /api/v2/resource-servers/{id}", scopeDeleteAPIs, (*api).deleteAPI},

	{"GET /api/v2/client-grants", scopeReadGrants, (*api).listGrants},
	{"POST /api/v2/client-grants", scopeCreateGrants, (*api).createGrant},
	{"GET /api/v2/client-grants/{id}", scopeReadGrants, (*api).getGrant},
	{"PATCH /api/v2/client-grants/{id}", scopeUpdateGrants, (*api).updateGrant},
	{"DELETE /api/v2/client-grants/{id}", scopeDeleteGrants, (*api).deleteGrant},

	{"GET /api/v2/users", scopeReadUsers, (*api).listUsers},
	{"POST /api/v2/users", scopeCreateUsers, (*api).createUser},
	{"GET /api/v2/users/{id}", scopeReadUsers, (*api).getUser},
	{"PATCH /api/v2/users/{id}", scopeUpdateUsers, (*api).updateUser},
	{"DELETE /api/v2/users/{id}", scopeDeleteUsers, (*api).deleteUser},

	{"GET /api/v2/users/{id}/refresh-tokens", scopeReadRefreshTokens, (*api).listUserFamilies},
	{"DELETE /api/v2/users/{id}/refresh-tokens", scopeDeleteRefreshTokens, (*api).revokeUserFamilies},
	{"GET /api/v2/refresh-tokens/{id}", scopeReadRefreshTokens, (*api).getFamily},
	{"DELETE /api/v2/refresh-tokens/{id}", scopeDeleteRefreshTokens, (*api).revokeFamily},

	{"GET /api/v2/roles", scopeReadRoles, (*api).listRoles},
	{"POST /api/v2/roles", scopeCreateRoles, (*api).createRole},
	{"GET /api/v2/roles/{id}", scopeReadRoles, (*api).getRole},
	{"PATCH /api/v2/roles/{id}", scopeUpdateRoles, (*api).updateRole},
	{"DELETE /api/v2/roles/{id}", scopeDeleteRoles, (*api).deleteRole},
	{"GET /api/v2/roles/{id}/permissions", scopeReadRoles, (*api).listRolePermissions},
	{"POST /api/v2/roles/{id}/permissions", scopeUpdateRoles, (*api).addRolePermissions},
	{"DELETE /api/v2/roles/{id}/permissions", scopeUpdateRoles, (*api).removeRolePermissions},
	{"GET /api/v2/roles/{id}/users", scopeReadRoleMembers, (*api).listRoleUsers},
	{"POST /api/v2/roles/{id}/users", scopeCreateRoleMembers, (*api).addRoleUsers},
	{"GET /api/v2/users/{id}/roles", scopeReadRoles, (*api).listUserRoles},
	{"POST /api/v2/users/{id}/roles", scopeCreateRoleMembers, (*api).assignUserRoles},
	{"DELETE /api/v2/users/{id}/roles", scopeDeleteRoleMembers, (*api).removeUserRoles},
	{"GET /api/v2/users/{id}/permissions", scopeReadUsers, (*api).listUserPermissions},
	{"POST /api/v2/users/{id}/permissions", scopeUpdateUsers, (*api).addUserPermissions},
	{"DELETE /api/v2/users/{id}/permissions", scopeUpdateUsers, (*api).removeUserPermissions},

	{"GET /api/v2/logs", scopeReadLogs, (*api).listLogs},
	{"GET /api/v2/logs/{id}", scopeReadLogs, (*api).getLog},
	{"GET /api/v2/users/{id}/logs", scopeReadLogs, (*api).listUserLogs},

	{"GET /api/v2/openapi.yaml", "", (*api).serveOpenAPI},
}

// Routes are the Go 1.22 ServeMux patterns NewHandler serves.
var Routes = patterns(routes)

func patterns(rs []route) []string {
	p := make([]string, len(rs))
	for i, r := range rs {
		p[i] = r.pattern
	}
	return p
}

type api struct {
	d   Deps
	log *slog.Logger
}

// NewHandler returns the handler for Routes. Nil Now, Rand and Logger
// default to time.Now, crypto/rand and a discarding logger; Store, Keys,
// Issuer and Audience are required.
func NewHandler(d Deps) http.Handler {
	d.Now, d.Rand, d.Logger = httpx.Defaults(d.Now, d.Rand, d.Logger)
	a := &api{d: d, log: d.Logger}
	mux := http.NewServeMux()
	for _, rt := range routes {
		mux.Handle(rt.pattern, a.endpoint(rt))
	}
	return httpx.Recover(d.Logger, func(w http.ResponseWriter, r *http.Request) {
		// The Management API's error shape, like every other admin error.
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusInternalServerError, errorBody{StatusCode: http.StatusInternalServerError,
			Error: http.StatusText(http.StatusInternalServerError), Message: "internal error", ErrorCode: "internal_error"})
	})(mux)
}

// endpoint checks the caller's token and scope, runs the route and writes
// its error, if any. Changes are logged with the caller for the audit trail.
func (a *api) endpoint(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		var caller principal
		if rt.scope != "" {
			var err error
			if caller, err = a.authenticate(r, rt.scope); err != nil {
				var denied *apiError
				if errors.As(err, &denied) {
					a.log.LogAttrs(r.Context(), slog.LevelInfo, "policyadmin: denied",
						slog.String("route", rt.pattern), slog.Int("status", denied.Status), slog.String("reason", denied.Message))
				}
				sw := &statusWriter{ResponseWriter: w}
				writeError(sw, r, a.log, err)
				a.emitCall(r, rt, caller, sw.status)
				return
			}
		}
		sw := &statusWriter{ResponseWriter: w}
		r = withCallNotes(r)
		if err := rt.serve(a, sw, r); err != nil {
			writeError(sw, r, a.log, err)
		}
		if rt.scope != "" {
			a.emitCall(r, rt, caller, sw.status)
		}
		if r.Method != http.MethodGet {
			a.log.LogAttrs(r.Context(), slog.LevelInfo, "policyadmin: change",
				slog.String("route", rt.pattern), slog.String("id", r.PathValue("id")),
				slog.String("client_id", caller.ClientID), slog.String("sub", caller.Subject),
				slog.Int("status", sw.status))
		}
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}
