package token

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/mrrt-auth/mrrt/shared/adapters/localsigner"
	"github.com/mrrt-auth/mrrt/shared/adapters/memstore"
	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/crypto/jws"
	"github.com/mrrt-auth/mrrt/shared/testkit/faults"
	"github.com/mrrt-auth/mrrt/shared/testkit/oauthtest"
)

const (
	issuer     = "https://auth.example.com"
	apiData    = "https://api.example.com"
	apiBilling = "https://billing.example.com"
	apiReports = "https://reports.example.com"
	apiGone    = "https://gone.example.com" // named by a policy, never created

	spaID     = "spa"      // public, first-party, rotating, MRRT policy
	webID     = "web"      // confidential (Basic), first-party, non-rotating, MRRT policy
	postID    = "post"     // confidential (post), first-party, rotating
	m2mID     = "m2m"      // confidential (post), client_credentials
	thirdID   = "thirdpty" // public, third-party, has a policy that must be ignored
	userID    = "auth0|user1"
	callback  = "https://app.example.com/callback"
	loginAuth = 1700000000
)

var startTime = time.Unix(loginAuth, 0).UTC()

// signers are generated once per test binary: RSA key generation is slow.
var (
	signersOnce sync.Once
	signerRS    *localsigner.Signer // RS256 default, ES256 second
	signerES    *localsigner.Signer // ES256 default
	signersErr  error
)

func testSigners(t testing.TB) (*localsigner.Signer, *localsigner.Signer) {
	t.Helper()
	signersOnce.Do(func() {
		signerRS, signersErr = localsigner.Generate(oauth.AlgRS256, oauth.AlgES256)
		if signersErr == nil {
			signerES, signersErr = localsigner.Generate(oauth.AlgES256, oauth.AlgRS256)
		}
	})
	if signersErr != nil {
		t.Fatal(signersErr)
	}
	return signerRS, signerES
}

// fixture is a token handler over a seeded memstore, behind fault decorators.
type fixture struct {
	t      testing.TB
	store  *faults.Store
	roles  oauth.RoleStore // the memory store behind store (RBAC)
	signer *faults.Signer
	clock  *oauthtest.Clock
	key    []byte
	keyErr error // returned by RefreshKey when set
	// previous are the refresh-token keys before f.key (PreviousRefreshKeys).
	previous [][]byte
	keyMu    sync.Mutex
	handler  http.Handler
	iss      string
	logs     *oauthtest.SyncBuffer
	methods  map[string]string // client id -> registered auth method
}

func newFixture(t testing.TB) *fixture {
	rs, _ := testSigners(t)
	return newFixtureWithSigner(t, rs)
}

func newFixtureWithSigner(t testing.TB, signer oauth.Signer) *fixture {
	t.Helper()
	return newFixtureWith(t, signer, issuer)
}

// newFixtureWithIssuer is newFixture with another configured issuer.
func newFixtureWithIssuer(t testing.TB, iss string) *fixture {
	t.Helper()
	rs, _ := testSigners(t)
	return newFixtureWith(t, rs, iss)
}

func newFixtureWith(t testing.TB, signer oauth.Signer, iss string) *fixture {
	t.Helper()
	mem := memstore.New()
	f := &fixture{
		t:       t,
		roles:   mem,
		store:   faults.NewStore(mem),
		signer:  faults.NewSigner(signer),
		clock:   oauthtest.NewClock(startTime),
		key:     bytes.Repeat([]byte{0x5a}, 32),
		logs:    &oauthtest.SyncBuffer{},
		methods: map[string]string{},
	}
	f.seed()
	f.iss = iss
	f.handler = NewHandler(f.deps(iss))
	return f
}

func secretOf(clientID string) string { return "secret-of-" + clientID }

// testUser is the user of every grant of the fixture, with every
// standard claim set.
var testUser = &oauth.User{
	UserID: userID, Email: "user1@example.com", EmailVerified: true, Name: "User One", Nickname: "one",
	GivenName: "User", FamilyName: "One", Picture: "https://example.com/one.png",
	CreatedAt: startTime.Add(-time.Hour), UpdatedAt: startTime.Add(-time.Minute),
}

func (f *fixture) seed() {
	ctx := context.Background()
	if err := f.store.CreateUser(ctx, testUser.Clone()); err != nil {
		f.t.Fatal(err)
	}
	// All three allow skipping consent: MRRT reaches only such APIs.
	apis := []*oauth.ResourceServer{
		{Identifier: apiData, Name: "Data", TokenLifetime: 3600, AllowOfflineAccess: true, SkipConsentForVerifiableFirstPartyClients: true,
			Scopes: []oauth.Scope{{Value: "read:data"}, {Value: "write:data"}}},
		{Identifier: apiBilling, Name: "Billing", TokenLifetime: 600, AllowOfflineAccess: true, SkipConsentForVerifiableFirstPartyClients: true,
			Scopes: []oauth.Scope{{Value: "read:billing"}, {Value: "write:billing"}}},
		{Identifier: apiReports, Name: "Reports", SigningAlg: oauth.AlgES256, AllowOfflineAccess: false, SkipConsentForVerifiableFirstPartyClients: true,
			Scopes: []oauth.Scope{{Value: "read:reports"}}},
	}
	for _, a := range apis {
		if err := f.store.CreateResourceServer(ctx, a); err != nil {
			f.t.Fatal(err)
		}
	}
	mrrt := []oauth.Policy{
		{Audience: apiBilling, Scope: []string{"read:billing", "write:billing", "delete:billing"}},
		{Audience: apiData, Scope: []string{"write:data"}},
		{Audience: apiGone, Scope: []string{"read:gone"}},
	}
	userGrants := []string{oauth.GrantTypeAuthorizationCode, oauth.GrantTypeRefreshToken}
	clients := []*oauth.Client{
		{ClientID: spaID, AppType: oauth.AppTypeSPA, IsFirstParty: true, Callbacks: []string{callback},
			GrantTypes: userGrants, TokenEndpointAuthMethod: oauth.AuthMethodNone,
			RefreshToken: oauth.RefreshTokenConfig{RotationType: oauth.RotationRotating, ExpirationType: oauth.ExpirationExpiring,
				TokenLifetime: 86400, IdleTokenLifetime: 3600, Policies: mrrt}},
		{ClientID: webID, AppType: oauth.AppTypeRegularWeb, IsFirstParty: true, Callbacks: []string{callback},
			GrantTypes: userGrants, TokenEndpointAuthMethod: oauth.AuthMethodClientSecretBasic,
			RefreshToken: oauth.RefreshTokenConfig{RotationType: oauth.RotationNonRotating, ExpirationType: oauth.ExpirationExpiring,
				Policies: mrrt}},
		{ClientID: postID, AppType: oauth.AppTypeRegularWeb, IsFirstParty: true, Callbacks: []string{callback},
			GrantTypes: userGrants, TokenEndpointAuthMethod: oauth.AuthMethodClientSecretPost,
			RefreshToken: oauth.RefreshTokenConfig{RotationType: oauth.RotationRotating, ExpirationType: oauth.ExpirationExpiring}},
		{ClientID: m2mID, AppType: oauth.AppTypeNonInteractive, IsFirstParty: true,
			GrantTypes: []string{oauth.GrantTypeClientCredentials}, TokenEndpointAuthMethod: oauth.AuthMethodClientSecretPost},
		{ClientID: thirdID, AppType: oauth.AppTypeSPA, IsFirstParty: false, Callbacks: []string{callback},
			GrantTypes: userGrants, TokenEndpointAuthMethod: oauth.AuthMethodNone,
			RefreshToken: oauth.RefreshTokenConfig{RotationType: oauth.RotationRotating, ExpirationType: oauth.ExpirationExpiring,
				Policies: mrrt}},
	}
	for _, c := range clients {
		if !c.IsPublic() {
			c.SecretHash = oauth.HashToken(secretOf(c.ClientID))
		}
		f.methods[c.ClientID] = c.TokenEndpointAuthMethod
		if err := f.store.CreateClient(ctx, c); err != nil {
			f.t.Fatal(err)
		}
	}
	if err := f.store.CreateClientGrant(ctx, &oauth.ClientGrant{ID: "cg1", ClientID: m2mID, Audience: apiData,
		Scope: []string{"read:data", "write:data", "retired:scope"}}); err != nil {
		f.t.Fatal(err)
	}
}

// updateClient applies change to a stored client.
func (f *fixture) updateClient(id string, change func(*oauth.Client)) {
	f.t.Helper()
	ctx := context.Background()
	c, err := f.store.Client(ctx, id)
	if err != nil {
		f.t.Fatal(err)
	}
	change(c)
	if err := f.store.UpdateClient(ctx, c); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) updateAPI(id string, change func(*oauth.ResourceServer)) {
	f.t.Helper()
	ctx := context.Background()
	a, err := f.store.ResourceServer(ctx, id)
	if err != nil {
		f.t.Fatal(err)
	}
	change(a)
	if err := f.store.UpdateResourceServer(ctx, a); err != nil {
		f.t.Fatal(err)
	}
}

// auth adds the credentials of clientID the way it is registered.
func (f *fixture) auth(clientID string) func(*http.Request, url.Values) {
	return func(r *http.Request, form url.Values) {
		// Not read from the store: that would consume injected faults.
		switch f.methods[clientID] {
		case oauth.AuthMethodClientSecretBasic:
			r.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secretOf(clientID)))
		case oauth.AuthMethodClientSecretPost:
			form.Set("client_id", clientID)
			form.Set("client_secret", secretOf(clientID))
		default:
			form.Set("client_id", clientID)
		}
	}
}

// result is a decoded token-endpoint response.
type result struct {
	Status       int
	Header       http.Header
	AccessToken  string  `json:"access_token"`
	TokenType    string  `json:"token_type"`
	ExpiresIn    int     `json:"expires_in"`
	Scope        *string `json:"scope"`
	RefreshToken string  `json:"refresh_token"`
	IDToken      string  `json:"id_token"`
	Error        string  `json:"error"`
	Description  string  `json:"error_description"`
}

func (r result) String() string {
	return fmt.Sprintf("%d %s %s", r.Status, r.Error, r.Description)
}

// post sends form to path with the credentials of clientID ("" for none)
// and checks the headers every token response must carry.
func (f *fixture) post(path, clientID string, form url.Values) result {
	f.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	r := httptest.NewRequest(http.MethodPost, path, nil)
	if clientID != "" {
		f.auth(clientID)(r, form)
	}
	return f.do(r, form.Encode())
}

func (f *fixture) do(r *http.Request, body string) result {
	f.t.Helper()
	r.Body = ioNopCloser(body)
	r.ContentLength = int64(len(body))
	if r.Header.Get("Content-Type") == "" {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	w := httptest.NewRecorder()
	f.handler.ServeHTTP(w, r)
	res := result{Status: w.Code, Header: w.Header()}
	if got := w.Header().Get("Cache-Control"); got != "no-store" {
		f.t.Errorf("%s: Cache-Control = %q, want no-store", r.URL.Path, got)
	}
	if w.Body.Len() > 0 {
		if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil {
			f.t.Fatalf("%s: response %q: %v", r.URL.Path, w.Body.String(), err)
		}
	}
	if res.Status == http.StatusOK && r.URL.Path == "/oauth/token" && res.Scope == nil {
		f.t.Errorf("token response without scope")
	}
	return res
}

func ioNopCloser(s string) *nopCloser { return &nopCloser{strings.NewReader(s)} }

type nopCloser struct{ *strings.Reader }

func (nopCloser) Close() error { return nil }

func (f *fixture) token(clientID string, form url.Values) result {
	f.t.Helper()
	return f.post("/oauth/token", clientID, form)
}

func scopeOf(r result) string {
	if r.Scope == nil {
		return "<absent>"
	}
	return *r.Scope
}

// wantOK fails unless r is a 200.
func wantOK(t testing.TB, r result) {
	t.Helper()
	if r.Status != http.StatusOK {
		t.Fatalf("got %v, want 200", r)
	}
}

// wantError fails unless r is the OAuth error code with status.
func wantError(t testing.TB, r result, status int, code oauth.ErrorCode) {
	t.Helper()
	if r.Status != status || r.Error != string(code) {
		t.Fatalf("got %v, want %d %s", r, status, code)
	}
}

// code is an authorization code created through the store, as the
// authorize handler would.
// deps are the handler's dependencies: another handler built from them is
// another instance on the same store.
func (f *fixture) deps(iss string) Deps {
	return Deps{
		Clients:      f.store,
		APIs:         f.store,
		ClientGrants: f.store,
		Codes:        f.store,
		Families:     f.store,
		Users:        f.store,
		Replay:       f.store,
		Permissions:  f.roles,
		Signer:       f.signer,
		Issuer:       iss,
		RefreshKey: func(context.Context) ([]byte, error) {
			f.keyMu.Lock()
			defer f.keyMu.Unlock()
			if f.keyErr != nil {
				err := f.keyErr
				f.keyErr = nil
				return nil, err
			}
			return f.key, nil
		},
		PreviousRefreshKeys: func(context.Context) ([][]byte, error) {
			f.keyMu.Lock()
			defer f.keyMu.Unlock()
			return f.previous, nil
		},
		Now:    f.clock.Now,
		Rand:   rand.Reader,
		Logger: slog.New(slog.NewTextHandler(f.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
}

type code struct {
	raw, verifier string
}

type codeSpec struct {
	client, audience, scope, nonce, redirectURI string
	dpopJKT                                     string
}

func (f *fixture) newCode(s codeSpec) code {
	f.t.Helper()
	if s.client == "" {
		s.client = spaID
	}
	if s.audience == "" {
		s.audience = apiData
	}
	if s.scope == "" {
		s.scope = "openid profile offline_access read:data"
	}
	if s.redirectURI == "" {
		s.redirectURI = callback
	}
	raw, err := oauth.NewOpaque(rand.Reader)
	if err != nil {
		f.t.Fatal(err)
	}
	verifier, err := oauth.NewOpaque(rand.Reader)
	if err != nil {
		f.t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(verifier))
	now := f.clock.Now()
	err = f.store.CreateCode(context.Background(), &oauth.AuthCode{
		Hash:                oauth.HashToken(raw),
		ClientID:            s.client,
		RedirectURI:         s.redirectURI,
		CodeChallenge:       base64.RawURLEncoding.EncodeToString(sum[:]),
		CodeChallengeMethod: oauth.CodeChallengeS256,
		Audience:            s.audience,
		Scopes:              strings.Fields(s.scope),
		Nonce:               s.nonce,
		UserID:              userID,
		AuthTime:            now.Add(-time.Minute),
		ExpiresAt:           now.Add(oauth.CodeLifetime),
		DPoPJKT:             s.dpopJKT,
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return code{raw: raw, verifier: verifier}
}

func (f *fixture) redeem(clientID string, c code) result {
	f.t.Helper()
	return f.token(clientID, url.Values{
		"grant_type":    {oauth.GrantTypeAuthorizationCode},
		"code":          {c.raw},
		"code_verifier": {c.verifier},
		"redirect_uri":  {callback},
	})
}

// login redeems a fresh code and returns the first refresh token.
func (f *fixture) login(s codeSpec) string {
	f.t.Helper()
	if s.client == "" {
		s.client = spaID
	}
	r := f.redeem(s.client, f.newCode(s))
	wantOK(f.t, r)
	if r.RefreshToken == "" {
		f.t.Fatalf("login gave no refresh token")
	}
	return r.RefreshToken
}

// refresh exchanges rt; extra holds audience, resource, scope.
func (f *fixture) refresh(clientID, rt string, extra ...string) result {
	f.t.Helper()
	form := url.Values{"grant_type": {oauth.GrantTypeRefreshToken}, "refresh_token": {rt}}
	for i := 0; i+1 < len(extra); i += 2 {
		form.Set(extra[i], extra[i+1])
	}
	return f.token(clientID, form)
}

// family returns the stored family of rt.
func (f *fixture) family(rt string) *oauth.Family {
	f.t.Helper()
	d, err := decodeRefreshToken(rt, f.key)
	for _, k := range f.previous {
		if err == nil {
			break
		}
		d, err = decodeRefreshToken(rt, k)
	}
	if err != nil {
		f.t.Fatalf("decode refresh token: %v", err)
	}
	fam, err := f.store.Family(context.Background(), d.familyID())
	if err != nil {
		f.t.Fatal(err)
	}
	return fam
}

// versionOne starts a family as servers before sealed refresh tokens did:
// a version-1 first token (family id, generation, secret, MAC), with the
// facts of rt's family. It returns the raw token.
func (f *fixture) versionOne(rt string) string {
	f.t.Helper()
	fam := f.family(rt).Clone()
	id, err := oauth.NewID(rand.Reader)
	if err != nil {
		f.t.Fatal(err)
	}
	first, err := newRefreshToken(id, rand.Reader)
	if err != nil {
		f.t.Fatal(err)
	}
	raw := newCodec(f.key).encode(&first)
	fam.ID, fam.HeadHash, fam.Generation, fam.PrevHash, fam.RotatedAt = id, oauth.HashToken(raw), 0, "", time.Time{}
	if err := f.store.CreateFamily(context.Background(), fam); err != nil {
		f.t.Fatal(err)
	}
	return raw
}

// jwks fetches the published JWKS and parses it with go-jose, an
// independent implementation.
func (f *fixture) jwks() []oauth.PublicKey {
	f.t.Helper()
	w := httptest.NewRecorder()
	f.handler.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/.well-known/jwks.json", nil))
	if w.Code != http.StatusOK {
		f.t.Fatalf("jwks: %d %s", w.Code, w.Body)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(w.Body.Bytes(), &set); err != nil {
		f.t.Fatal(err)
	}
	keys := make([]oauth.PublicKey, 0, len(set.Keys))
	for _, k := range set.Keys {
		if !k.IsPublic() || k.Use != "sig" || k.KeyID == "" {
			f.t.Fatalf("jwks key %q: public=%v use=%q", k.KeyID, k.IsPublic(), k.Use)
		}
		keys = append(keys, oauth.PublicKey{KeyID: k.KeyID, Alg: k.Algorithm, Key: k.Key})
	}
	return keys
}

// verify checks a JWT's signature against the published JWKS and returns
// its header and claims.
func (f *fixture) verify(token string) (jws.Header, map[string]any) {
	f.t.Helper()
	h, payload, err := jws.Verify(token, f.jwks())
	if err != nil {
		f.t.Fatalf("verify %q: %v", token, err)
	}
	var claims map[string]any
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(&claims); err != nil {
		f.t.Fatal(err)
	}
	return h, claims
}

func claimInt(t testing.TB, claims map[string]any, name string) int64 {
	t.Helper()
	n, ok := claims[name].(json.Number)
	if !ok {
		t.Fatalf("claim %s = %#v, want a number", name, claims[name])
	}
	v, err := n.Int64()
	if err != nil {
		t.Fatal(err)
	}
	return v
}
