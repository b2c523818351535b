package policyadmin

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mrrt-auth/mrrt/shared/adapters/localsigner"
	"github.com/mrrt-auth/mrrt/shared/adapters/memstore"
	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/testkit/faults"
	"github.com/mrrt-auth/mrrt/shared/testkit/oauthtest"
)

const (
	testIssuer   = "https://auth.example.com"
	testAudience = testIssuer + "/api/v2/"

	apiData    = "https://api.example.com"
	apiBilling = "https://billing.example.com"
	apiPartner = "https://partner.example.com" // does not allow skipping consent

	// The ids the examples of openapi.yaml use.
	exClientID = "AaiyAPdpYdesoKnqjj8HJqRn4T5titww" // confidential first-party web app
	exGrantID  = "cgr_4pI9a42haOLLWnwq"             // exClientID → apiBilling
	exUserID   = "auth0|507f1f77bcf86cd799439020"
	exFamilyID = "3f2a9c1e7b5d4e6f8a0b1c2d3e4f5a6b" // exUserID's family for spaID
	exCredID   = "cred_1m7sfABoNTTKYwTQ8qt6tX"      // exClientID's credential, not in use
	exRoleID   = "rol_0123456789abcdef"             // holds read:billing; exUserID has it
	// exCredPEM is the public key of the openapi.yaml example of a credential.
	exCredPEM = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE1Gbcqg2SXyrNifVxqDwcMuv9hWVB\nvCMGvFjv7nFrCKjYeGeTHkSEmx2zWOLcv1n8bNkGMsLeTNABHGR0XNApDw==\n-----END PUBLIC KEY-----\n"

	exClientSecret = "example-client-secret-0123456789"
	spaID          = "spa-client"  // public, first-party, rotating, no policy
	thirdID        = "third-party" // public, not first-party
	adminClientID  = "admin-cli"
	revokedFamily  = "0000000000000000000000000000dead"
)

var testStart = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// Signers are generated once per test binary: RSA key generation is slow.
var (
	signersOnce sync.Once
	testSigner  *localsigner.Signer // the server's keys
	otherSigner *localsigner.Signer // keys the server does not know
	signersErr  error
)

func signers(t testing.TB) (*localsigner.Signer, *localsigner.Signer) {
	t.Helper()
	signersOnce.Do(func() {
		testSigner, signersErr = localsigner.Generate(oauth.AlgRS256, oauth.AlgES256)
		if signersErr == nil {
			otherSigner, signersErr = localsigner.Generate(oauth.AlgES256)
		}
	})
	if signersErr != nil {
		t.Fatal(signersErr)
	}
	return testSigner, otherSigner
}

// env is the admin API over a seeded memory store.
type env struct {
	t      testing.TB
	store  *faults.Store
	clock  *oauthtest.Clock
	signer *localsigner.Signer
	h      http.Handler
	logs   *oauthtest.SyncBuffer
	keys   func(context.Context) ([]oauth.PublicKey, error)
	events *memstore.EventLog
	roles  oauth.RoleStore
}

// exLogEvent is the event of the openapi.yaml examples.
var exLogEvent = oauth.Event{LogID: "1764806400000000000a1b2c3d4", Date: testStart.Add(-time.Minute), Type: oauth.EventRefreshExchange,
	Description: "Success Exchange (Refresh Token for Access Token)", ClientID: spaID, UserID: exUserID, Audience: apiBilling,
	Scope: "read:billing", Details: map[string]any{"grant_type": "refresh_token", "family_id": exFamilyID, "generation": 3, "original_audience": apiData}}

func newEnv(t testing.TB) *env {
	return newEnvRand(t, rand.Reader)
}

func newEnvRand(t testing.TB, r io.Reader) *env {
	t.Helper()
	return newEnvOn(t, memstore.New(), r)
}

// newEnvOn is newEnv on another (empty) store.
func newEnvOn(t testing.TB, store oauth.Store, r io.Reader) *env {
	t.Helper()
	s, _ := signers(t)
	e := &env{t: t, store: faults.NewStore(store), clock: oauthtest.NewClock(testStart), signer: s, logs: &oauthtest.SyncBuffer{}}
	e.keys = s.PublicKeys
	seedStore(t, e.store)
	if rs, ok := store.(oauth.RoleStore); ok { // the example role of openapi.yaml, with the example user
		must(t, rs.CreateRole(context.Background(), &oauth.Role{ID: exRoleID, Name: "billing reader"}))
		must(t, rs.AddRolePermissions(context.Background(), exRoleID, []oauth.Permission{{ResourceServerIdentifier: apiBilling, PermissionName: "read:billing"}}))
		must(t, rs.AssignUserRoles(context.Background(), exUserID, []string{exRoleID}))
		e.roles = rs
	}
	e.events = memstore.NewEventLog(0)
	e.events.Emit(context.Background(), exLogEvent)
	e.h = NewHandler(Deps{
		Events:   e.events,
		Logs:     e.events,
		Roles:    e.roles,
		Store:    e.store,
		Keys:     func(ctx context.Context) ([]oauth.PublicKey, error) { return e.keys(ctx) },
		Issuer:   testIssuer,
		Audience: testAudience,
		Now:      e.clock.Now,
		Rand:     r,
		Logger:   slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	return e
}

// seedStore writes the fixture the tests and the openapi.yaml examples use.
func seedStore(t testing.TB, s oauth.Store) {
	t.Helper()
	ctx := context.Background()
	admin := AdminAPI(testAudience)
	admin.ID = "admin-api-id"
	apis := []*oauth.ResourceServer{
		admin,
		{ID: "data-api-id", Identifier: apiData, Name: "Data API", TokenLifetime: 900, SigningAlg: oauth.AlgRS256,
			SkipConsentForVerifiableFirstPartyClients: true, AllowOfflineAccess: true,
			Scopes: []oauth.Scope{{Value: "read:data", Description: "Read data"}, {Value: "write:data"}}},
		{ID: "billing-api-id", Identifier: apiBilling, Name: "Billing API", TokenLifetime: 600, SigningAlg: oauth.AlgRS256,
			SkipConsentForVerifiableFirstPartyClients: true, AllowOfflineAccess: true,
			Scopes: []oauth.Scope{{Value: "read:billing"}, {Value: "write:billing"}}},
		{ID: "partner-api-id", Identifier: apiPartner, Name: "Partner API", TokenLifetime: 600, SigningAlg: oauth.AlgRS256,
			Scopes: []oauth.Scope{{Value: "read:partner"}}},
	}
	for _, a := range apis {
		must(t, s.CreateResourceServer(ctx, a))
	}
	rotating := oauth.RefreshTokenConfig{RotationType: oauth.RotationRotating, ExpirationType: oauth.ExpirationExpiring,
		TokenLifetime: 2592000, IdleTokenLifetime: 1296000}
	clients := []*oauth.Client{
		{ClientID: exClientID, Name: "Web app", AppType: oauth.AppTypeRegularWeb, IsFirstParty: true,
			Callbacks:               []string{"https://web.example.com/callback"},
			GrantTypes:              []string{oauth.GrantTypeAuthorizationCode, oauth.GrantTypeRefreshToken, oauth.GrantTypeClientCredentials},
			TokenEndpointAuthMethod: oauth.AuthMethodClientSecretPost,
			RefreshToken:            oauth.DefaultRefreshConfig(false),
			SecretHash:              oauth.HashToken(exClientSecret),
			Credentials: []oauth.Credential{{ID: exCredID, Name: "old key", CredentialType: "public_key", PEM: exCredPEM,
				Alg: oauth.AlgES256, CreatedAt: testStart.Add(-time.Hour), UpdatedAt: testStart.Add(-time.Hour)}}},
		{ClientID: spaID, Name: "SPA", AppType: oauth.AppTypeSPA, IsFirstParty: true,
			Callbacks:  []string{"https://app.example.com/callback"},
			GrantTypes: []string{oauth.GrantTypeAuthorizationCode, oauth.GrantTypeRefreshToken}, TokenEndpointAuthMethod: oauth.AuthMethodNone,
			RefreshToken: rotating},
		{ClientID: thirdID, Name: "Partner app", AppType: oauth.AppTypeSPA, IsFirstParty: false,
			Callbacks:  []string{"https://partner-app.example.com/callback"},
			GrantTypes: []string{oauth.GrantTypeAuthorizationCode, oauth.GrantTypeRefreshToken}, TokenEndpointAuthMethod: oauth.AuthMethodNone,
			RefreshToken: rotating},
		{ClientID: adminClientID, Name: "Admin", AppType: oauth.AppTypeNonInteractive, IsFirstParty: true,
			Callbacks: []string{}, GrantTypes: []string{oauth.GrantTypeClientCredentials},
			TokenEndpointAuthMethod: oauth.AuthMethodClientSecretPost, RefreshToken: oauth.DefaultRefreshConfig(false),
			SecretHash: oauth.HashToken("admin-secret")},
	}
	for _, c := range clients {
		must(t, s.CreateClient(ctx, c))
	}
	must(t, s.CreateClientGrant(ctx, &oauth.ClientGrant{ID: exGrantID, ClientID: exClientID, Audience: apiBilling, Scope: []string{"read:billing"}}))
	must(t, s.CreateClientGrant(ctx, &oauth.ClientGrant{ID: "cgr_admin", ClientID: adminClientID, Audience: testAudience, Scope: Scopes}))
	must(t, s.CreateUser(ctx, &oauth.User{UserID: exUserID, Email: "user@example.com", Name: "Example User",
		PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$not-a-real-hash", CreatedAt: testStart.Add(-48 * time.Hour)}))
	must(t, s.CreateFamily(ctx, &oauth.Family{ID: exFamilyID, ClientID: spaID, UserID: exUserID, Audience: apiData,
		Scopes: []string{"openid", "offline_access", "read:data"}, AuthTime: testStart.Add(-2 * time.Hour),
		CreatedAt: testStart.Add(-2 * time.Hour), ExpiresAt: testStart.Add(28 * 24 * time.Hour),
		IdleExpiresAt: testStart.Add(14 * 24 * time.Hour), LastUsedAt: testStart.Add(-time.Hour), HeadHash: "head"}))
	must(t, s.CreateFamily(ctx, &oauth.Family{ID: revokedFamily, ClientID: spaID, UserID: exUserID, Audience: apiData,
		Scopes: []string{"read:data"}, CreatedAt: testStart.Add(-3 * time.Hour), HeadHash: "old"}))
	must(t, s.RevokeFamily(ctx, revokedFamily, "test", testStart.Add(-time.Hour)))
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// adminClaims are valid claims of an admin token at now with scopes.
func (e *env) adminClaims(scopes ...string) map[string]any {
	now := e.clock.Now()
	return map[string]any{
		"iss":       testIssuer,
		"sub":       adminClientID + "@clients",
		"aud":       testAudience,
		"exp":       now.Add(time.Hour).Unix(),
		"iat":       now.Unix(),
		"jti":       "jti-1",
		"client_id": adminClientID,
		"scope":     strings.Join(scopes, " "),
		"gty":       "client-credentials",
	}
}

func (e *env) sign(s *localsigner.Signer, typ string, claims map[string]any) string {
	e.t.Helper()
	tok, err := s.Sign(context.Background(), "", typ, claims)
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// token is a valid admin token carrying scopes.
func (e *env) token(scopes ...string) string {
	return e.sign(e.signer, oauth.TypAccessToken, e.adminClaims(scopes...))
}

// request builds a request; body may be nil, a string (sent as is) or any
// value (JSON-encoded). JSON bodies get Content-Type application/json.
func request(method, path string, body any) *http.Request {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			panic(err)
		}
		rd = bytes.NewReader(j)
	}
	r := httptest.NewRequest(method, path, rd)
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	return r
}

func (e *env) serve(r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	return w
}

// call sends an admin request with a token carrying every admin scope.
func (e *env) call(method, path string, body any) *httptest.ResponseRecorder {
	return e.callWith(e.token(Scopes...), method, path, body)
}

func (e *env) callWith(token, method, path string, body any) *httptest.ResponseRecorder {
	r := request(method, path, body)
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	return e.serve(r)
}

func decode[T any](t testing.TB, w *httptest.ResponseRecorder) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(w.Body.Bytes(), &v); err != nil {
		t.Fatalf("decode %T from %d %s: %v", v, w.Code, w.Body, err)
	}
	return v
}

// wantStatus fails unless w has status.
func wantStatus(t testing.TB, w *httptest.ResponseRecorder, status int) {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status = %d, want %d; body %s", w.Code, status, w.Body)
	}
}

// wantError checks an Auth0-style error response: status, errorCode and a
// message containing msg.
func wantError(t testing.TB, w *httptest.ResponseRecorder, status int, code, msg string) errorBody {
	t.Helper()
	wantStatus(t, w, status)
	eb := decode[errorBody](t, w)
	if eb.StatusCode != status || eb.Error != http.StatusText(status) || eb.ErrorCode != code || !strings.Contains(eb.Message, msg) {
		t.Fatalf("error = %+v, want status %d, errorCode %q, message containing %q", eb, status, code, msg)
	}
	if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}
	return eb
}

func (e *env) client(id string) *oauth.Client {
	e.t.Helper()
	c, err := e.store.Client(context.Background(), id)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}
