package local_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/runtime/local"
	"github.com/mrrt-auth/mrrt/shared/runtime/seed"
)

// Auth0's own SPA SDK, unmodified (@auth0/auth0-spa-js from the npm
// registry, pinned in testdata/auth0-spa/package.json; .ci/run installs it
// with npm ci), in headless Chromium, on its own origin, against this
// server. The SDK forces https:// for its domain, so both the server and
// the application are served over TLS with a certificate this test makes
// (Chromium runs with --ignore-certificate-errors: the certificate is
// self-signed, and the test is about the protocol, not the PKI).

const (
	spaSDKDir    = "testdata/auth0-spa"
	spaClientID  = "sdk-spa"
	spaDataAPI   = "https://data.example.com"
	spaBillAPI   = "https://billing.example.com"
	spaOtherAPI  = "https://reports.example.com" // outside the MRRT policy
	spaUser      = "sdk-user@example.com"
	spaPassword  = "sdk-user-password"
	spaUserEmail = spaUser
)

// spaSeed is the application as an Auth0 tenant would hold it: an SPA with
// refresh-token rotation, an MRRT policy for the billing API, its origin and
// logout URL registered.
func spaSeed(appOrigin string) string {
	return `{
  "resource_servers": [
    {"identifier": "` + spaDataAPI + `", "name": "Data", "scopes": [{"value": "read:data"}], "allow_offline_access": true, "skip_consent_for_verifiable_first_party_clients": true},
    {"identifier": "` + spaBillAPI + `", "name": "Billing", "scopes": [{"value": "read:billing"}], "allow_offline_access": true, "skip_consent_for_verifiable_first_party_clients": true},
    {"identifier": "` + spaOtherAPI + `", "name": "Reports", "scopes": [{"value": "read:reports"}], "allow_offline_access": true, "skip_consent_for_verifiable_first_party_clients": true}
  ],
  "clients": [{
    "client_id": "` + spaClientID + `", "name": "SDK SPA", "app_type": "spa", "is_first_party": true,
    "token_endpoint_auth_method": "none", "grant_types": ["authorization_code", "refresh_token"],
    "callbacks": ["` + appOrigin + `/", "` + appOrigin + `/check"],
    "web_origins": ["` + appOrigin + `"], "allowed_logout_urls": ["` + appOrigin + `/bye"],
    "refresh_token": {"rotation_type": "rotating", "expiration_type": "expiring", "leeway": 0,
      "token_lifetime": 86400, "idle_token_lifetime": 3600,
      "policies": [{"audience": "` + spaBillAPI + `", "scope": ["read:billing"]}]}
  }],
  "users": [{"email": "` + spaUser + `", "email_verified": true, "name": "SDK User", "password": "` + spaPassword + `"}]
}`
}

// spaPage is the application: the unmodified SDK bundle and a script that
// runs the flow and reports each step in window.__steps.
func spaPage(domain string, useDpop bool) string {
	return `<!doctype html><meta charset="utf-8"><title>SPA</title>
<script src="/sdk.js"></script>
<p id="status">loading</p>
<script>
window.__steps = {};
const step = (k, v) => { window.__steps[k] = v; };
const claims = (jwt) => JSON.parse(atob(jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
(async () => {
  try {
    const client = await auth0.createAuth0Client({
      domain: '` + domain + `', clientId: '` + spaClientID + `',
      useRefreshTokens: true, useMrrt: true, useDpop: ` + fmt.Sprint(useDpop) + `,
      // The defaults hold only the OpenID scopes: the SDK adds them to every
      // request, and with MRRT each audience gets only its own API scopes.
      authorizationParams: { redirect_uri: location.origin + '/', audience: '` + spaDataAPI + `',
                             scope: 'openid profile email offline_access' },
    });
    const q = new URLSearchParams(location.search);
    if (!q.has('code')) { await client.loginWithRedirect({ authorizationParams: { scope: 'read:data' } }); return; }
    await client.handleRedirectCallback();
    history.replaceState({}, '', '/');
    const data = await client.getTokenSilently();
    step('data', claims(data));
    const billing = await client.getTokenSilently({ authorizationParams: { audience: '` + spaBillAPI + `', scope: 'read:billing' } });
    step('billing', claims(billing));
    try {
      await client.getTokenSilently({ authorizationParams: { audience: '` + spaOtherAPI + `' } });
      step('other', { error: 'none' });
    } catch (e) {
      step('other', { error: e.error || String(e), description: e.error_description || '' });
    }
    const user = await client.getUser();
    step('user', user);
    step('ready', true);
    window.__logout = () => client.logout({ logoutParams: { returnTo: location.origin + '/bye' } });
  } catch (e) {
    step('failed', { error: e.error || '', description: e.error_description || '', message: String(e && e.message || e) });
  }
})();
</script>`
}

// counter counts the requests the server gets, by kind.
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) add(k string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[k]++
}

func (c *counter) get(k string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[k]
}

// selfSignedTLS makes a certificate for localhost and 127.0.0.1.
func selfSignedTLS(t *testing.T) *tls.Config {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
}

func TestAuth0SPASDKInChromium(t *testing.T) {
	t.Run("bearer tokens", func(t *testing.T) { runAuth0SPA(t, false) })
	// The SDK's DPoP mode: it keeps a key pair in the browser, answers the
	// server's use_dpop_nonce, and every token is bound to its key.
	t.Run("DPoP mode (useDpop)", func(t *testing.T) { runAuth0SPA(t, true) })
}

func runAuth0SPA(t *testing.T, useDpop bool) {
	chromium := findChromium()
	sdk := filepath.Join(spaSDKDir, "node_modules", "@auth0", "auth0-spa-js", "dist", "auth0-spa-js.production.js")
	_, sdkErr := os.Stat(sdk)
	if chromium == "" || sdkErr != nil {
		msg := "AUTH0 SPA SDK BROWSER TEST SKIPPED: needs chromium (apt-get install chromium) and the SDK (npm ci --prefix shared/runtime/local/" + spaSDKDir + ")"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		fmt.Fprintln(os.Stderr, msg)
		t.Skip(msg)
	}
	tlsConf := selfSignedTLS(t)

	// The application's origin: 127.0.0.1; the server's: localhost (two
	// sites, so the SDK really works cross-origin).
	app := httptest.NewUnstartedServer(nil)
	app.TLS = tlsConf
	appOrigin := "https://" + app.Listener.Addr().String()
	srv := httptest.NewUnstartedServer(nil)
	srv.TLS = tlsConf
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	domain := "localhost:" + port
	issuer := "https://" + domain + "/" // the SDK's form of the issuer

	doc, err := seed.Parse(strings.NewReader(spaSeed(appOrigin)), issuer)
	if err != nil {
		t.Fatal(err)
	}
	deps, _, err := local.Memory{Issuer: issuer, Seed: doc, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}.Deps(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	routes := local.Routes(deps)
	requests := &counter{n: map[string]int{}}
	srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/authorize":
			requests.add("authorize")
		case r.URL.Path == "/oauth/token" && r.Method == http.MethodPost:
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			form, _ := url.ParseQuery(string(body))
			requests.add("token:" + form.Get("grant_type") + ":" + form.Get("audience"))
			if r.Header.Get("Auth0-Client") == "" {
				requests.add("token without Auth0-Client")
			}
		case r.URL.Path == "/v2/logout":
			requests.add("logout")
		}
		routes.ServeHTTP(w, r)
	})
	srv.StartTLS()
	t.Cleanup(srv.Close)

	sdkJS, err := os.ReadFile(sdk)
	if err != nil {
		t.Fatal(err)
	}
	var checkQuery url.Values
	var checkMu sync.Mutex
	app.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/sdk.js":
			w.Header().Set("Content-Type", "text/javascript")
			w.Write(sdkJS)
		case "/":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, spaPage(domain, useDpop))
		case "/bye":
			fmt.Fprint(w, `<!doctype html><title>Bye</title><p id="bye">signed out</p>`)
		case "/check":
			checkMu.Lock()
			checkQuery = r.URL.Query()
			checkMu.Unlock()
			fmt.Fprint(w, `<!doctype html><title>Check</title><p id="check">checked</p>`)
		default:
			http.NotFound(w, r)
		}
	})
	app.StartTLS()
	t.Cleanup(app.Close)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	// The certificate is self-signed: the test is about the protocol.
	bctx := startBrowser(t, ctx, chromium, chromedp.IgnoreCertErrors)

	where := func() string {
		loc, _ := chromedp.Run(bctx, chromedp.Location())
		text, _ := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("body")))
		steps, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`JSON.stringify(window.__steps || null)`))
		return fmt.Sprintf("at %q showing %q, steps %s", loc, text, steps)
	}
	// waitStep waits until the page reports key (or a failure) and decodes it.
	waitStep := func(key string, v any) {
		t.Helper()
		var raw string
		var err error
		for range 5 { // a poll started during a navigation ends with it: poll again
			raw, err = chromedp.Run(bctx, chromedp.Poll[string](
				`window.__steps && (window.__steps.failed || window.__steps['`+key+`'] !== undefined) && JSON.stringify(window.__steps)`,
				chromedp.WithPollingTimeout(30*time.Second)))
			if err == nil || !strings.Contains(err.Error(), "navigated or closed") {
				break
			}
		}
		if err != nil {
			t.Fatalf("waiting for %s: %v; %s", key, err, where())
		}
		var steps map[string]json.RawMessage
		if err := json.Unmarshal([]byte(raw), &steps); err != nil {
			t.Fatal(err)
		}
		if f, ok := steps["failed"]; ok {
			t.Fatalf("the SDK failed before %s: %s", key, f)
		}
		if err := json.Unmarshal(steps[key], v); err != nil {
			t.Fatalf("%s: %v", key, err)
		}
	}

	// loginWithRedirect: the SDK navigates to /authorize; the login page.
	if err := chromedp.Do(bctx,
		chromedp.Navigate(appOrigin+"/"),
		chromedp.WaitVisible(chromedp.CSS(`input[name="username"]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name="username"]`), spaUser),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), spaPassword),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
	); err != nil {
		t.Fatalf("sign-in: %v; %s", err, where())
	}

	// handleRedirectCallback, then getTokenSilently for the login audience.
	var data map[string]any
	waitStep("data", &data)
	if data["aud"] != spaDataAPI || data["iss"] != issuer {
		t.Errorf("login audience token: aud %v iss %v", data["aud"], data["iss"])
	}

	// getTokenSilently for another audience: one refresh with the same
	// refresh token (MRRT), no /authorize navigation.
	var billing map[string]any
	waitStep("billing", &billing)
	if billing["aud"] != spaBillAPI || !strings.Contains(fmt.Sprint(billing["scope"]), "read:billing") {
		t.Errorf("billing token: aud %v scope %v", billing["aud"], billing["scope"])
	}
	dataCnf, _ := data["cnf"].(map[string]any)
	billCnf, _ := billing["cnf"].(map[string]any)
	switch {
	case !useDpop && (dataCnf != nil || billCnf != nil):
		t.Errorf("bearer mode got DPoP-bound tokens: %v %v", dataCnf, billCnf)
	case useDpop && (dataCnf == nil || billCnf == nil || dataCnf["jkt"] != billCnf["jkt"]):
		t.Errorf("DPoP mode: cnf %v and %v, want both bound to the SDK's one key", dataCnf, billCnf)
	}
	if got := requests.get("token:refresh_token:" + spaBillAPI); got != 1 {
		t.Errorf("%d refresh_token requests for the billing token, want 1", got)
	}

	// An audience outside the policy fails with the server's invalid_target.
	var other map[string]string
	waitStep("other", &other)
	if other["error"] != string(oauth.InvalidTarget) {
		t.Errorf("audience outside the policy: %v, want invalid_target", other)
	}

	// getUser: the ID token's claims.
	var user map[string]any
	waitStep("user", &user)
	if user["email"] != spaUserEmail || user["email_verified"] != true || user["name"] != "SDK User" {
		t.Errorf("getUser() = %v", user)
	}
	// One /authorize navigation in all: the sign-in. Every other token came
	// from the refresh token (the data token from the code exchange's cache).
	if got := requests.get("authorize"); got != 1 {
		t.Errorf("%d /authorize requests before logout, want 1 (the sign-in)", got)
	}
	if got := requests.get("token:refresh_token:" + spaDataAPI); got != 0 {
		t.Errorf("%d refresh_token requests for the login audience, want 0 (cached)", got)
	}
	if n := requests.get("token without Auth0-Client"); n != 0 {
		t.Errorf("%d token requests without the Auth0-Client header: is the SDK sending it?", n)
	}

	// logout: ends the session at the server and comes back to /bye.
	if err := chromedp.Do(bctx,
		chromedp.Evaluate[chromedp.Void](`window.__logout()`),
		chromedp.WaitVisible(chromedp.ID("bye")),
	); err != nil {
		t.Fatalf("logout: %v; %s", err, where())
	}
	if requests.get("logout") != 1 {
		t.Errorf("%d /v2/logout requests, want 1", requests.get("logout"))
	}
	// A following /authorize?prompt=none answers login_required.
	verifier := strings.Repeat("v", 43)
	authURL := "https://" + domain + "/authorize?" + url.Values{
		"response_type": {"code"}, "client_id": {spaClientID}, "redirect_uri": {appOrigin + "/check"},
		"scope": {"openid"}, "audience": {spaDataAPI}, "prompt": {"none"}, "state": {"s"},
		"code_challenge": {pkceChallenge(verifier)}, "code_challenge_method": {"S256"},
	}.Encode()
	if err := chromedp.Do(bctx, chromedp.Navigate(authURL), chromedp.WaitVisible(chromedp.ID("check"))); err != nil {
		t.Fatalf("prompt=none: %v; %s", err, where())
	}
	checkMu.Lock()
	defer checkMu.Unlock()
	if checkQuery.Get("error") != string(oauth.LoginRequired) {
		t.Errorf("prompt=none after logout: %v, want error=login_required", checkQuery)
	}
}

func pkceChallenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
