package awsdeps_test

import (
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
	"sync/atomic"
	"testing"
	"time"

	kmsTypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/google/go-cmp/cmp"

	"github.com/mrrt-auth/mrrt/shared/adapters/emf"
	"github.com/mrrt-auth/mrrt/shared/adapters/kmssigner"
	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/protocol/token"
	"github.com/mrrt-auth/mrrt/shared/runtime/lambdahttp"
	"github.com/mrrt-auth/mrrt/shared/testkit/awstest"
	"github.com/mrrt-auth/mrrt/shared/testkit/oauthtest"
)

// The token endpoint wired to DynamoDB and KMS exactly as the token Lambda
// is, against moto and local-kms.

const (
	issuer     = "https://auth.example.com"
	api        = "https://api.example.com"
	billing    = "https://billing.example.com" // in the strict client's MRRT policy
	rbacAPI    = "https://rbac.example.com"    // enforces RBAC; in the strict client's MRRT policy
	callback   = "https://app.example.com/callback"
	strictID   = "spa"        // public, rotating, leeway 0
	leewayID   = "spa-leeway" // public, rotating, leeway 30 s
	m2mID      = "m2m"        // confidential, client_credentials
	m2mSecret  = "m2m-secret-0123456789abcdefghijklmnopqrstuvwxyz"
	verifier   = "verifier-0123456789abcdefghijklmnopqrstuvwxyz-0123456789"
	userID     = "auth0|user-1"
	racers     = 50
	raceRounds = 8
)

// endpoint is the token handler on the AWS stack with observed clients.
type endpoint struct {
	stack   *stack
	deps    *fullDeps
	handler http.Handler
	counter *awstest.Counter
	faults  *awstest.Faults
	codes   atomic.Int64
	secrets sync.Map // every raw secret handed out, for the item audit
}

func newEndpoint(t testing.TB) *endpoint {
	t.Helper()
	e := &endpoint{stack: startStack(t), counter: awstest.NewCounter(), faults: &awstest.Faults{}}
	e.deps = e.stack.deps(t, e.counter.Install, e.faults.Install)
	e.handler = e.tokenHandler(e.deps.Signer)
	ctx := t.Context()
	public := func(id string, leeway int) *oauth.Client {
		return &oauth.Client{
			ClientID: id, Name: id, AppType: oauth.AppTypeSPA, IsFirstParty: true, Callbacks: []string{callback},
			GrantTypes:              []string{oauth.GrantTypeAuthorizationCode, oauth.GrantTypeRefreshToken},
			TokenEndpointAuthMethod: oauth.AuthMethodNone,
			RefreshToken: oauth.RefreshTokenConfig{
				RotationType: oauth.RotationRotating, ExpirationType: oauth.ExpirationExpiring, Leeway: leeway,
				TokenLifetime: 86400, IdleTokenLifetime: 3600,
			},
		}
	}
	strict := public(strictID, 0)
	strict.RefreshToken.Policies = []oauth.Policy{{Audience: billing, Scope: []string{"read:billing"}}, {Audience: rbacAPI, Scope: []string{"read:rbac", "write:rbac"}}}
	for _, c := range []*oauth.Client{strict, public(leewayID, 30), {
		ClientID: m2mID, Name: m2mID, AppType: oauth.AppTypeNonInteractive, GrantTypes: []string{oauth.GrantTypeClientCredentials},
		TokenEndpointAuthMethod: oauth.AuthMethodClientSecretPost, SecretHash: oauth.HashToken(m2mSecret),
	}} {
		mustDo(t, "CreateClient", e.deps.Store.CreateClient(ctx, c))
	}
	mustDo(t, "CreateResourceServer", e.deps.Store.CreateResourceServer(ctx, &oauth.ResourceServer{
		Identifier: api, Name: "API", Scopes: []oauth.Scope{{Value: "read"}}, TokenLifetime: 600,
		AllowOfflineAccess: true, SigningAlg: oauth.AlgRS256,
	}))
	mustDo(t, "CreateResourceServer", e.deps.Store.CreateResourceServer(ctx, &oauth.ResourceServer{
		Identifier: billing, Name: "Billing", Scopes: []oauth.Scope{{Value: "read:billing"}}, TokenLifetime: 600,
		SkipConsentForVerifiableFirstPartyClients: true, SigningAlg: oauth.AlgRS256,
	}))
	mustDo(t, "CreateResourceServer", e.deps.Store.CreateResourceServer(ctx, &oauth.ResourceServer{
		Identifier: rbacAPI, Name: "RBAC", Scopes: []oauth.Scope{{Value: "read:rbac"}, {Value: "write:rbac"}}, TokenLifetime: 600,
		SkipConsentForVerifiableFirstPartyClients: true, SigningAlg: oauth.AlgRS256, EnforcePolicies: true,
	}))
	mustDo(t, "AddUserPermissions", e.deps.Roles.AddUserPermissions(ctx, userID, []oauth.Permission{{ResourceServerIdentifier: rbacAPI, PermissionName: "read:rbac"}}))
	mustDo(t, "CreateClientGrant", e.deps.Store.CreateClientGrant(ctx, &oauth.ClientGrant{ID: "cg-1", ClientID: m2mID, Audience: api, Scope: []string{"read"}}))
	e.secrets.Store(m2mSecret, true)
	return e
}

// tokenHandler is the token function's handler on e's stack with signer.
func (e *endpoint) tokenHandler(signer oauth.Signer) http.Handler {
	return token.NewHandler(token.Deps{
		Clients: e.deps.Store, APIs: e.deps.Store, ClientGrants: e.deps.Store, Codes: e.deps.Store, Families: e.deps.Store,
		Signer: signer, Issuer: e.deps.Issuer, RefreshKey: e.deps.RefreshKey,
		// As the token function emits them: the request counts below show
		// that events cost no AWS request.
		Events:      lambdahttp.EventLogger(slog.New(slog.DiscardHandler), "token"),
		Permissions: e.deps.Roles,
	})
}

func mustDo(t testing.TB, op string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
}

type response struct {
	status int
	header http.Header
	body   map[string]any
	counts map[string]int // AWS requests, when measured
}

func (r response) str(k string) string { s, _ := r.body[k].(string); return s }

func (e *endpoint) post(t testing.TB, form url.Values) response {
	t.Helper()
	return e.postProof(t, form, "")
}

// postProof posts form with a DPoP proof ("" for none).
func (e *endpoint) postProof(t testing.TB, form url.Values, proof string) response {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if proof != "" {
		req.Header.Set("DPoP", proof)
	}
	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, req)
	r := response{status: rec.Code, header: rec.Header()}
	if err := json.Unmarshal(rec.Body.Bytes(), &r.body); err != nil {
		t.Fatalf("response %d is not JSON: %q", rec.Code, rec.Body.String())
	}
	for _, k := range []string{"access_token", "refresh_token", "id_token"} {
		if v := r.str(k); v != "" {
			e.secrets.Store(v, true)
		}
	}
	return r
}

// newCode stores an authorization code as the authorize Lambda would.
func (e *endpoint) newCode(t testing.TB, clientID string) string {
	t.Helper()
	return e.newCodeIn(t, e.deps.Store, clientID)
}

func (e *endpoint) newCodeIn(t testing.TB, s oauth.CodeStore, clientID string) string {
	t.Helper()
	return e.newCodeOf(t, s, clientID, userID)
}

// newCodeOf is a code of user.
func (e *endpoint) newCodeOf(t testing.TB, s oauth.CodeStore, clientID, user string) string {
	t.Helper()
	return e.newCodeScoped(t, s, clientID, user, []string{"read", oauth.ScopeOfflineAccess})
}

// newCodeScoped is a code of user for scopes.
func (e *endpoint) newCodeScoped(t testing.TB, s oauth.CodeStore, clientID, user string, scopes []string) string {
	t.Helper()
	raw := fmt.Sprintf("code-%d-%s", e.codes.Add(1), strings.Repeat("x", 32))
	sum := sha256.Sum256([]byte(verifier))
	now := time.Now()
	mustDo(t, "CreateCode", s.CreateCode(t.Context(), &oauth.AuthCode{
		Hash: oauth.HashToken(raw), ClientID: clientID, RedirectURI: callback,
		CodeChallenge: base64.RawURLEncoding.EncodeToString(sum[:]), CodeChallengeMethod: oauth.CodeChallengeS256,
		Audience: api, Scopes: scopes, UserID: user,
		AuthTime: now, ExpiresAt: now.Add(oauth.CodeLifetime),
	}))
	e.secrets.Store(raw, true)
	return raw
}

func (e *endpoint) redeem(t testing.TB, clientID, code string) response {
	t.Helper()
	return e.post(t, url.Values{
		"grant_type": {oauth.GrantTypeAuthorizationCode}, "client_id": {clientID}, "code": {code},
		"redirect_uri": {callback}, "code_verifier": {verifier},
	})
}

// openIDRefreshToken is refreshToken for a sign-in that asked for openid:
// every exchange of it also signs an ID token.
func (e *endpoint) openIDRefreshToken(t testing.TB, clientID string) string {
	t.Helper()
	r := e.redeem(t, clientID, e.newCodeScoped(t, e.deps.Store, clientID, userID, []string{oauth.ScopeOpenID, "read", oauth.ScopeOfflineAccess}))
	if r.status != http.StatusOK || r.str("refresh_token") == "" || r.str("id_token") == "" {
		t.Fatalf("code exchange with openid: %d %v", r.status, r.body)
	}
	return r.str("refresh_token")
}

// refreshToken runs the code flow and returns the first refresh token.
func (e *endpoint) refreshToken(t testing.TB, clientID string) string {
	t.Helper()
	r := e.redeem(t, clientID, e.newCode(t, clientID))
	if r.status != http.StatusOK || r.str("refresh_token") == "" {
		t.Fatalf("code exchange: %d %v", r.status, r.body)
	}
	return r.str("refresh_token")
}

func (e *endpoint) refresh(t testing.TB, clientID, rt string) response {
	t.Helper()
	return e.post(t, url.Values{"grant_type": {oauth.GrantTypeRefreshToken}, "client_id": {clientID}, "refresh_token": {rt}})
}

// refreshTo is an MRRT exchange for audience.
func (e *endpoint) refreshTo(t testing.TB, clientID, rt, audience string) response {
	t.Helper()
	return e.post(t, url.Values{"grant_type": {oauth.GrantTypeRefreshToken}, "client_id": {clientID}, "refresh_token": {rt}, "audience": {audience}})
}

func (e *endpoint) clientCredentials(t testing.TB) response {
	t.Helper()
	return e.post(t, url.Values{
		"grant_type": {oauth.GrantTypeClientCredentials}, "client_id": {m2mID}, "client_secret": {m2mSecret}, "audience": {api},
	})
}

// counted runs f with a fresh count and returns what it sent.
func (e *endpoint) counted(f func()) map[string]int {
	e.counter.Reset()
	f()
	return e.counter.Counts()
}

// settledLater waits until an instance's later settle (token/settle.go)
// reached DynamoDB, one UpdateItem after the count before, so that no
// settle outlives its test.
func (e *endpoint) settledLater(t *testing.T, before int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); e.counter.Count("UpdateItem") <= before; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no later settle reached DynamoDB within 5 s")
		}
	}
}

func wantStatus(t testing.TB, what string, r response, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status %d %v, want %d", what, r.status, r.body, status)
	}
}

func TestTokenEndpointOnAWS(t *testing.T) {
	e := newEndpoint(t)
	// Warm the instance: configuration cache, KMS public keys, MAC key.
	warm := e.refreshToken(t, strictID)
	wantStatus(t, "warm-up refresh", e.refresh(t, strictID, warm), http.StatusOK)
	wantStatus(t, "warm-up client credentials", e.clientCredentials(t), http.StatusOK)

	t.Run("request counts", func(t *testing.T) {
		tests := []struct {
			name string
			call func(t *testing.T) response
			want map[string]int
		}{
			{"a refresh exchange costs one TransactWriteItems and one Sign: the sealed token carries what the family read gave", func(t *testing.T) response {
				rt := e.refreshToken(t, strictID)
				var r response
				got := e.counted(func() { r = e.refresh(t, strictID, rt) })
				t.Logf("refresh_token grant: %v", got)
				return withCounts(r, got)
			}, map[string]int{"TransactWriteItems": 1, "Sign": 1}},
			{"a refresh exchange for another audience costs the same on a warm instance", func(t *testing.T) response {
				first := e.refreshTo(t, strictID, e.refreshToken(t, strictID), billing) // warms the billing API's cache entry
				wantStatus(t, "first exchange for billing", first, http.StatusOK)
				var r response
				got := e.counted(func() { r = e.refreshTo(t, strictID, first.str("refresh_token"), billing) })
				t.Logf("refresh_token grant, other audience: %v", got)
				if r.str("scope") != "offline_access read:billing" {
					t.Errorf("scope %q, want the grant's offline_access and the policy's read:billing", r.str("scope"))
				}
				return withCounts(r, got)
			}, map[string]int{"TransactWriteItems": 1, "Sign": 1}},
			{"a refresh exchange of an openid sign-in for its own audience costs one Sign more: the ID token", func(t *testing.T) response {
				rt := e.openIDRefreshToken(t, strictID)
				var r response
				got := e.counted(func() { r = e.refresh(t, strictID, rt) })
				t.Logf("refresh_token grant with openid: %v", got)
				if r.str("id_token") == "" {
					t.Error("no ID token")
				}
				return withCounts(r, got)
			}, map[string]int{"TransactWriteItems": 1, "Sign": 2}},
			{"a refresh exchange of an openid sign-in for another audience costs the same", func(t *testing.T) response {
				rt := e.openIDRefreshToken(t, strictID)
				var r response
				got := e.counted(func() { r = e.refreshTo(t, strictID, rt, billing) })
				t.Logf("refresh_token grant with openid, other audience: %v", got)
				if r.str("id_token") == "" {
					t.Error("no ID token")
				}
				return withCounts(r, got)
			}, map[string]int{"TransactWriteItems": 1, "Sign": 2}},
			{"a refresh exchange to an RBAC API costs one GetItem more: the user's permissions", func(t *testing.T) response {
				first := e.refreshTo(t, strictID, e.refreshToken(t, strictID), rbacAPI) // warms the API's cache entry
				wantStatus(t, "first exchange for the RBAC API", first, http.StatusOK)
				var r response
				got := e.counted(func() { r = e.refreshTo(t, strictID, first.str("refresh_token"), rbacAPI) })
				t.Logf("refresh_token grant, RBAC API: %v", got)
				if r.str("scope") != "offline_access read:rbac" {
					t.Errorf("scope %q, want the held read:rbac only (the policy allows write:rbac too)", r.str("scope"))
				}
				return withCounts(r, got)
			}, map[string]int{"GetItem": 1, "TransactWriteItems": 1, "Sign": 1}},
			{"a code exchange costs one GetItem, one TransactWriteItems and one Sign", func(t *testing.T) response {
				code := e.newCode(t, strictID)
				var r response
				got := e.counted(func() { r = e.redeem(t, strictID, code) })
				t.Logf("authorization_code grant: %v", got)
				return withCounts(r, got)
			}, map[string]int{"GetItem": 1, "TransactWriteItems": 1, "Sign": 1}},
			{"a DPoP-bound refresh exchange costs the same: the nonce and the key check need no AWS request", func(t *testing.T) response {
				k := oauthtest.NewDPoPKey(t)
				proof := func(nonce string) string {
					return k.Proof(t, http.MethodPost, issuer+"/oauth/token", time.Now(), nonce, "")
				}
				code := url.Values{
					"grant_type": {oauth.GrantTypeAuthorizationCode}, "client_id": {strictID}, "code": {e.newCode(t, strictID)},
					"redirect_uri": {callback}, "code_verifier": {verifier},
				}
				ask := e.postProof(t, code, proof(""))
				nonce := ask.header.Get("DPoP-Nonce")
				if ask.str("error") != string(oauth.UseDPoPNonce) || nonce == "" {
					t.Fatalf("first proof: %d %v, want use_dpop_nonce with a nonce", ask.status, ask.body)
				}
				first := e.postProof(t, code, proof(nonce))
				wantStatus(t, "DPoP code exchange", first, http.StatusOK)
				var r response
				got := e.counted(func() {
					r = e.postProof(t, url.Values{"grant_type": {oauth.GrantTypeRefreshToken}, "client_id": {strictID},
						"refresh_token": {first.str("refresh_token")}}, proof(nonce))
				})
				t.Logf("refresh_token grant with DPoP: %v", got)
				if r.str("token_type") != "DPoP" {
					t.Errorf("token_type %q, want DPoP", r.str("token_type"))
				}
				return withCounts(r, got)
			}, map[string]int{"TransactWriteItems": 1, "Sign": 1}},
			{"client credentials cost one Sign and no DynamoDB request", func(t *testing.T) response {
				var r response
				got := e.counted(func() { r = e.clientCredentials(t) })
				t.Logf("client_credentials grant: %v", got)
				return withCounts(r, got)
			}, map[string]int{"Sign": 1}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := tt.call(t)
				wantStatus(t, "exchange", r, http.StatusOK)
				if d := cmp.Diff(tt.want, r.counts); d != "" {
					t.Errorf("AWS requests (-want +got):\n%s", d)
				}
			})
		}
	})

	t.Run("a throttled and a failed attempt are each one EMF record of AWSThrottles or AWSFaults by service", func(t *testing.T) {
		var buf oauthtest.SyncBuffer
		defer slog.SetDefault(slog.Default())
		slog.SetDefault(slog.New(slog.NewJSONHandler(&buf, nil)))
		code := e.newCode(t, strictID) // a code exchange reads the code, then signs
		e.faults.Add(awstest.Fault{Op: "GetItem", Nth: 1, Err: awstest.APIError("ProvisionedThroughputExceededException", 400)})
		e.faults.Add(awstest.Fault{Op: "Sign", Nth: 1, Err: awstest.APIError("KMSInternalException", 500)})
		e.faults.Add(awstest.Fault{Op: "Sign", Nth: 2, Err: awstest.APIError("ValidationException", 400)}) // an answer, not a fault
		e.redeem(t, strictID, code)                                                                        // its answer is beside the point here
		e.faults.Clear()
		got := map[string]int{}
		for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			var rec map[string]any
			if json.Unmarshal([]byte(line), &rec) != nil || rec["msg"] != "aws request failed" {
				continue
			}
			if err := emf.Validate([]byte(line)); err != nil {
				t.Errorf("%v: %s", err, line)
			}
			for _, m := range []string{"AWSThrottles", "AWSFaults"} {
				if rec[m] == float64(1) {
					got[m+" "+rec["Service"].(string)]++
				}
			}
		}
		if diff := cmp.Diff(map[string]int{"AWSThrottles DynamoDB": 1, "AWSFaults KMS": 1}, got); diff != "" {
			t.Errorf("records (-want +got):\n%s\n%s", diff, buf.String())
		}
	})

	t.Run("KMS throttling on every attempt is a 503 and the same refresh token works after recovery", func(t *testing.T) {
		rt := e.refreshToken(t, strictID)
		e.faults.Add(awstest.Fault{Op: "Sign", Err: awstest.APIError("ThrottlingException", 400)})
		var r response
		got := e.counted(func() { r = e.refresh(t, strictID, rt) })
		attempts := e.faults.Fired("Sign")
		e.faults.Clear()
		wantStatus(t, "throttled refresh", r, http.StatusServiceUnavailable)
		if attempts != 3 {
			t.Errorf("%d Sign attempts, want 3", attempts)
		}
		if r.str("error") != string(oauth.TemporarilyUnavailable) || r.header.Get("Retry-After") == "" {
			t.Errorf("body %v, Retry-After %q; want temporarily_unavailable with Retry-After", r.body, r.header.Get("Retry-After"))
		}
		if got["UpdateItem"] != 0 || got["TransactWriteItems"] != 0 {
			t.Errorf("DynamoDB writes during the failed exchange: %v", got)
		}
		wantStatus(t, "the same token after recovery", e.refresh(t, strictID, rt), http.StatusOK)
	})

	t.Run("a DynamoDB write whose response is lost neither loses nor revokes the family", func(t *testing.T) {
		rt := e.refreshToken(t, strictID)
		e.faults.Add(awstest.Fault{Op: "TransactWriteItems", Nth: 1, Err: awstest.ErrResponseLost, AfterSend: true})
		r := e.refresh(t, strictID, rt)
		fired := e.faults.Fired("TransactWriteItems")
		e.faults.Clear()
		if fired != 1 {
			t.Fatalf("fault fired %d times", fired)
		}
		wantStatus(t, "refresh with a lost write response", r, http.StatusOK)
		wantStatus(t, "the rotated token", e.refresh(t, strictID, r.str("refresh_token")), http.StatusOK)
	})

	t.Run("a rotation whose every write attempt loses its answer after the first applied is answered 200 from its settle", func(t *testing.T) {
		rt := e.refreshToken(t, strictID)
		e.faults.Add(awstest.Fault{Op: "TransactWriteItems", Nth: 0, Err: awstest.ErrResponseLost, AfterSend: true})
		r := e.refresh(t, strictID, rt)
		fired := e.faults.Fired("TransactWriteItems")
		e.faults.Clear()
		if fired < 2 {
			t.Fatalf("fault fired %d times, want every attempt", fired)
		}
		// Before: 503 "retry later", and the client's retry was taken for
		// reuse (invalid_grant, family revoked).
		wantStatus(t, "refresh whose every write answer was lost", r, http.StatusOK)
		wantStatus(t, "the rotated token", e.refresh(t, strictID, r.str("refresh_token")), http.StatusOK)
	})

	t.Run("a code redemption whose every write attempt loses its answer after the first applied is answered 200 from its settle", func(t *testing.T) {
		code := e.newCode(t, strictID)
		e.faults.Add(awstest.Fault{Op: "TransactWriteItems", Nth: 0, Err: awstest.ErrResponseLost, AfterSend: true})
		r := e.redeem(t, strictID, code)
		fired := e.faults.Fired("TransactWriteItems")
		e.faults.Clear()
		if fired < 2 {
			t.Fatalf("fault fired %d times, want every attempt", fired)
		}
		wantStatus(t, "code exchange whose every write answer was lost", r, http.StatusOK)
		wantStatus(t, "its refresh token", e.refresh(t, strictID, r.str("refresh_token")), http.StatusOK)
	})

	// The settle is one conditional UpdateItem (token/settle.go). Every
	// answer of DynamoDB lost: the client gets a 503, but the settle's
	// request arrived and marked the doubt, so its retry succeeds on any
	// instance. The settle's request lost too: the instance that answered
	// 503 writes it later (a retry reaching another instance before that
	// is reuse: TestAmbiguousRotation in shared/protocol/token).
	loseEverything := func(sent bool) {
		e.faults.Add(awstest.Fault{Op: "TransactWriteItems", Nth: 0, Err: awstest.ErrResponseLost, AfterSend: true})
		e.faults.Add(awstest.Fault{Op: "UpdateItem", Nth: 0, Err: awstest.ErrResponseLost, AfterSend: sent})
	}
	onAnotherInstance := func(f func()) {
		mine := e.handler
		e.handler = e.tokenHandler(e.deps.Signer)
		defer func() { e.handler = mine }()
		f()
	}

	// lostRefresh refreshes a fresh token with every answer lost (the
	// settle's request too, unless settleArrives), wants a 503 and returns
	// the token and the UpdateItem count once the faults are gone.
	lostRefresh := func(t *testing.T, settleArrives bool) (string, int) {
		t.Helper()
		rt := e.refreshToken(t, strictID)
		loseEverything(settleArrives)
		r := e.refresh(t, strictID, rt)
		e.faults.Clear()
		wantStatus(t, "refresh with every answer lost", r, http.StatusServiceUnavailable)
		if r.header.Get("Retry-After") == "" {
			t.Error("503 without Retry-After")
		}
		return rt, e.counter.Count("UpdateItem")
	}
	// served wants r to be a 200 whose refresh token works.
	served := func(t *testing.T, what string, r response) {
		t.Helper()
		wantStatus(t, what, r, http.StatusOK)
		wantStatus(t, what+": its refresh token", e.refresh(t, strictID, r.str("refresh_token")), http.StatusOK)
	}

	t.Run("a rotation whose write and settle answers are all lost is 503, and the retry on another instance gets the successor", func(t *testing.T) {
		rt, updates := lostRefresh(t, true)
		onAnotherInstance(func() { served(t, "the retry with the same token", e.refresh(t, strictID, rt)) })
		e.settledLater(t, updates) // the instance cannot know its settle arrived
	})

	t.Run("a rotation whose settle never reaches DynamoDB is 503; the instance settles it later, and then the retry on another instance gets the successor", func(t *testing.T) {
		rt, updates := lostRefresh(t, false)
		e.settledLater(t, updates)
		onAnotherInstance(func() { served(t, "the retry on another instance", e.refresh(t, strictID, rt)) })
	})

	t.Run("a code redemption whose write and settle answers are all lost is 503, and the retry on another instance gets working tokens", func(t *testing.T) {
		code := e.newCode(t, strictID)
		loseEverything(true)
		r := e.redeem(t, strictID, code)
		e.faults.Clear()
		updates := e.counter.Count("UpdateItem")
		wantStatus(t, "code exchange with every answer lost", r, http.StatusServiceUnavailable)
		onAnotherInstance(func() { served(t, "the retry with the same code", e.redeem(t, strictID, code)) })
		e.settledLater(t, updates)
	})

	t.Run("a blocked user's refresh tokens and pending codes get invalid_grant, and the same token works again once the marker is unblocked", func(t *testing.T) {
		// SECURITY.md RT-11: the user revocation marker is checked inside the
		// DynamoDB transaction of every family advance and creation.
		rt := e.refreshToken(t, strictID)
		code := e.newCode(t, strictID)
		mustDo(t, "SetUserBlocked", e.deps.Store.SetUserBlocked(t.Context(), userID, true))
		r := e.refresh(t, strictID, rt)
		wantStatus(t, "refresh of a blocked user", r, http.StatusBadRequest)
		if r.str("error") != string(oauth.InvalidGrant) {
			t.Errorf("error %v, want invalid_grant", r.body)
		}
		wantStatus(t, "code exchange of a blocked user", e.redeem(t, strictID, code), http.StatusBadRequest)
		mustDo(t, "SetUserBlocked false", e.deps.Store.SetUserBlocked(t.Context(), userID, false))
		wantStatus(t, "the same refresh token after unblocking", e.refresh(t, strictID, rt), http.StatusOK)
	})

	t.Run("a block racing code exchanges and refreshes leaves no family of the user answering 200", func(t *testing.T) {
		// SECURITY.md RT-11: the block is what the admin API writes (the
		// user's revocation marker), while exchanges run.
		const user, n = "auth0|raced", 10
		var rts, codes []string
		for range n {
			r := e.redeem(t, strictID, e.newCodeOf(t, e.deps.Store, strictID, user))
			wantStatus(t, "code exchange before the block", r, http.StatusOK)
			rts = append(rts, r.str("refresh_token"))
			codes = append(codes, e.newCodeOf(t, e.deps.Store, strictID, user))
		}
		var mu sync.Mutex
		issued := append([]string(nil), rts...)
		keep := func(r response) {
			if r.status == http.StatusOK {
				mu.Lock()
				issued = append(issued, r.str("refresh_token"))
				mu.Unlock()
			}
		}
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { <-start; keep(e.redeem(t, strictID, codes[i])) })
			wg.Go(func() { <-start; keep(e.refresh(t, strictID, rts[i])) })
		}
		wg.Go(func() {
			<-start
			if err := e.deps.Store.SetUserBlocked(t.Context(), user, true); err != nil {
				t.Errorf("SetUserBlocked: %v", err)
			}
		})
		close(start)
		wg.Wait()
		alive := 0
		for _, rt := range issued {
			if e.refresh(t, strictID, rt).status == http.StatusOK {
				alive++
			}
		}
		if alive != 0 {
			t.Errorf("%d of %d refresh tokens still answer 200 after the block", alive, len(issued))
		}
	})

	t.Run("50 concurrent exchanges of one token with leeway 0: exactly one succeeds", func(t *testing.T) {
		rt := e.refreshToken(t, strictID)
		fam := e.familyOf(t, rt)
		statuses := map[string]int{}
		for _, r := range e.race(t, strictID, rt) {
			statuses[fmt.Sprint(r.status, " ", r.str("error"))]++
		}
		if d := cmp.Diff(map[string]int{"200 ": 1, "400 invalid_grant": racers - 1}, statuses); d != "" {
			t.Errorf("statuses (-want +got):\n%s", d)
		}
		// The losers presented a retired token: reuse, so the family is
		// revoked (a leeway avoids this).
		f, err := e.deps.Store.Family(t.Context(), fam)
		mustDo(t, "Family", err)
		if f.Generation != 1 || !f.Revoked {
			t.Errorf("family at generation %d, revoked %v; want one rotation, then revoked", f.Generation, f.Revoked)
		}
	})

	t.Run("50 concurrent exchanges of one token with a leeway all get the same successor from one rotation", func(t *testing.T) {
		rt := e.refreshToken(t, leewayID)
		fam := e.familyOf(t, rt)
		rs := e.race(t, leewayID, rt)
		statuses, successors := map[int]int{}, map[string]int{}
		for _, r := range rs {
			statuses[r.status]++
			successors[r.str("refresh_token")]++
		}
		if statuses[http.StatusOK] != racers || len(successors) != 1 {
			t.Fatalf("statuses %v, %d distinct successors; want %d × 200 with one successor", statuses, len(successors), racers)
		}
		f, err := e.deps.Store.Family(t.Context(), fam)
		mustDo(t, "Family", err)
		if f.Generation != 1 || f.Revoked {
			t.Errorf("family at generation %d, revoked %v; want one rotation and active", f.Generation, f.Revoked)
		}
		for next := range successors {
			wantStatus(t, "the successor", e.refresh(t, leewayID, next), http.StatusOK)
		}
	})

	t.Run("a refresh racing a revocation leaves no working token", func(t *testing.T) {
		for round := range raceRounds {
			rt := e.refreshToken(t, strictID)
			fam := e.familyOf(t, rt)
			var r response
			var revokeErr error
			var wg sync.WaitGroup
			wg.Go(func() { r = e.refresh(t, strictID, rt) })
			wg.Go(func() { revokeErr = e.deps.Store.RevokeFamily(t.Context(), fam, "logout", time.Now()) })
			wg.Wait()
			mustDo(t, "RevokeFamily", revokeErr)
			for _, tok := range []string{rt, r.str("refresh_token")} {
				if tok == "" {
					continue
				}
				if again := e.refresh(t, strictID, tok); again.status != http.StatusBadRequest || again.str("error") != string(oauth.InvalidGrant) {
					t.Errorf("round %d: a token of the revoked family still answers %d %v", round, again.status, again.body)
				}
			}
		}
	})

	t.Run("no raw code, token or secret is stored in DynamoDB", func(t *testing.T) {
		out, err := e.stack.db.Scan(t.Context(), &dynamodb.ScanInput{TableName: &e.stack.table})
		mustDo(t, "Scan", err)
		dump, err := json.Marshal(out.Items)
		mustDo(t, "Marshal", err)
		n := 0
		e.secrets.Range(func(k, _ any) bool {
			n++
			if strings.Contains(string(dump), k.(string)) {
				t.Errorf("a raw secret is stored: %.20s…", k)
			}
			return true
		})
		if n < 10 || len(out.Items) < 10 || out.LastEvaluatedKey != nil {
			t.Errorf("audited %d secrets against %d items; the test saw too little", n, len(out.Items))
		}
	})
}

// race sends racers exchanges of rt at once.
func (e *endpoint) race(t *testing.T, clientID, rt string) []response {
	t.Helper()
	rs := make([]response, racers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range rs {
		wg.Go(func() {
			<-start
			rs[i] = e.refresh(t, clientID, rt)
		})
	}
	close(start)
	wg.Wait()
	return rs
}

// familyOf finds the family of a fresh refresh token through the store:
// the newest family of the test user whose head is the token.
func (e *endpoint) familyOf(t *testing.T, rt string) string {
	t.Helper()
	fams, err := e.deps.Store.FamiliesByUser(t.Context(), userID)
	mustDo(t, "FamiliesByUser", err)
	for _, f := range fams {
		if f.HeadHash == oauth.HashToken(rt) {
			return f.ID
		}
	}
	t.Fatal("no family has the token as its head")
	return ""
}

func withCounts(r response, counts map[string]int) response {
	r.counts = counts
	return r
}

// The envelope signing mode on the same stack: the key pair's private half
// is unwrapped once (one Query, one Decrypt), then no exchange calls KMS.
func TestEnvelopeModeRequestCounts(t *testing.T) {
	e := newEndpoint(t)
	ctx := t.Context()
	wrap, err := e.stack.kms.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: kmsTypes.KeySpecSymmetricDefault, KeyUsage: kmsTypes.KeyUsageTypeEncryptDecrypt})
	mustDo(t, "CreateKey", err)
	k, err := kmssigner.NewWrappedKey(ctx, e.stack.kms, *wrap.KeyMetadata.Arn, oauth.AlgRS256, time.Now())
	mustDo(t, "NewWrappedKey", err)
	k.Current = true
	mustDo(t, "PutWrappedKey", e.deps.WrappedKeys.PutWrappedKey(ctx, k))

	var signer oauth.Signer
	coldStart := e.counted(func() {
		signer, err = kmssigner.EnvelopeFromConfig(ctx, e.deps.Config, e.deps.WrappedKeys, oauth.AlgRS256)
	})
	mustDo(t, "EnvelopeFromConfig", err)
	if d := cmp.Diff(map[string]int{"Query": 1, "Decrypt": 1}, coldStart); d != "" {
		t.Errorf("cold start (-want +got):\n%s", d)
	}
	e.handler = e.tokenHandler(signer)
	warm := e.refreshToken(t, strictID)
	wantStatus(t, "warm-up refresh", e.refresh(t, strictID, warm), http.StatusOK)
	wantStatus(t, "warm-up client credentials", e.clientCredentials(t), http.StatusOK)
	for _, tc := range []struct {
		name string
		call func(t *testing.T) response
		want map[string]int
	}{
		{"a refresh exchange costs one TransactWriteItems and no KMS request", func(t *testing.T) response {
			rt := e.refreshToken(t, strictID)
			var r response
			got := e.counted(func() { r = e.refresh(t, strictID, rt) })
			t.Logf("envelope mode, refresh_token grant: %v", got)
			return withCounts(r, got)
		}, map[string]int{"TransactWriteItems": 1}},
		{"a refresh exchange for another audience costs the same", func(t *testing.T) response {
			first := e.refreshTo(t, strictID, e.refreshToken(t, strictID), billing)
			var r response
			got := e.counted(func() { r = e.refreshTo(t, strictID, first.str("refresh_token"), billing) })
			t.Logf("envelope mode, refresh_token grant, other audience: %v", got)
			return withCounts(r, got)
		}, map[string]int{"TransactWriteItems": 1}},
		{"a refresh exchange of an openid sign-in, ID token included, costs the same", func(t *testing.T) response {
			rt := e.openIDRefreshToken(t, strictID)
			var r response
			got := e.counted(func() { r = e.refresh(t, strictID, rt) })
			t.Logf("envelope mode, refresh_token grant with openid: %v", got)
			if r.str("id_token") == "" {
				t.Error("no ID token")
			}
			return withCounts(r, got)
		}, map[string]int{"TransactWriteItems": 1}},
		{"a refresh exchange of an openid sign-in for another audience costs the same", func(t *testing.T) response {
			rt := e.openIDRefreshToken(t, strictID)
			var r response
			got := e.counted(func() { r = e.refreshTo(t, strictID, rt, billing) })
			t.Logf("envelope mode, refresh_token grant with openid, other audience: %v", got)
			if r.str("id_token") == "" {
				t.Error("no ID token")
			}
			return withCounts(r, got)
		}, map[string]int{"TransactWriteItems": 1}},
		{"a code exchange costs one GetItem and one TransactWriteItems", func(t *testing.T) response {
			code := e.newCode(t, strictID)
			var r response
			got := e.counted(func() { r = e.redeem(t, strictID, code) })
			t.Logf("envelope mode, authorization_code grant: %v", got)
			return withCounts(r, got)
		}, map[string]int{"GetItem": 1, "TransactWriteItems": 1}},
		{"client credentials cost no AWS request", func(t *testing.T) response {
			var r response
			got := e.counted(func() { r = e.clientCredentials(t) })
			t.Logf("envelope mode, client_credentials grant: %v", got)
			return withCounts(r, got)
		}, map[string]int{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.call(t)
			wantStatus(t, "exchange", r, http.StatusOK)
			if d := cmp.Diff(tc.want, r.counts); d != "" {
				t.Errorf("AWS requests (-want +got):\n%s", d)
			}
		})
	}
}
