package local_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/oauth2"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// findChromium returns the Chromium binary, or "" if there is none.
func findChromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// startBrowser starts headless Chromium for one test, quiet (no
// background networking, no QUIC) and with a profile of its own, plus
// extra options; it ends with ctx or the test.
func startBrowser(t *testing.T, ctx context.Context, chromium string, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	opts := append([]chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
	}, extra...)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
	})
	return bctx
}

// TestBrowserSignIn drives headless Chromium through the real pages: the
// login form, the CSP (form-action must let the 303 after the POST reach
// the app's origin), the cookies, and single sign-on.
func TestBrowserSignIn(t *testing.T) {
	chromium := findChromium()
	if chromium == "" {
		const msg = "BROWSER TEST SKIPPED: chromium not found (apt-get install chromium)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		fmt.Fprintln(os.Stderr, msg)
		t.Skip(msg)
	}

	// The application: a loopback server whose callback reports what it got.
	got := make(chan url.Values, 4)
	appSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/callback" {
			http.NotFound(w, r)
			return
		}
		got <- r.URL.Query()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><title>App</title><p id="done">signed in</p>`)
	}))
	t.Cleanup(appSrv.Close)
	callback := appSrv.URL + "/callback"
	srv := azServer(t, callback)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	bctx := startBrowser(t, ctx, chromium)

	verifier := oauth2.GenerateVerifier()
	sum := sha256.Sum256([]byte(verifier))
	authURL := srv.URL + "/authorize?" + url.Values{
		"response_type": {"code"}, "client_id": {"spa"}, "redirect_uri": {callback},
		"scope": {"openid offline_access read:orders"}, "audience": {azOrders}, "state": {"browser-state"},
		"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
	}.Encode()

	// wait returns the next callback query. A step gets 20 s, so that on
	// failure the browser is still alive to say where it is stuck.
	wait := func(step string) url.Values {
		t.Helper()
		select {
		case q := <-got:
			return q
		case <-time.After(20 * time.Second):
		case <-ctx.Done():
		}
		loc, _ := chromedp.Run(bctx, chromedp.Location())
		text, _ := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("body")))
		t.Fatalf("%s: the browser never reached the callback; it is at %q showing %q", step, loc, text)
		return nil
	}

	if err := chromedp.Do(bctx,
		chromedp.Navigate(authURL),
		chromedp.WaitVisible(chromedp.CSS(`input[name="username"]`)),
	); err != nil {
		t.Fatalf("sign-in page: %v", err)
	}
	if title, err := chromedp.Run(bctx, chromedp.Title()); err != nil || title != "Sign in" {
		t.Errorf("page title %q, %v; want the sign-in page", title, err)
	}
	if err := chromedp.Do(bctx,
		chromedp.SendKeys(chromedp.CSS(`input[name="username"]`), azUser),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), azPassword),
		chromedp.Click(chromedp.CSS(`button[type="submit"]`)),
	); err != nil {
		t.Fatalf("sign-in form: %v", err)
	}
	q := wait("sign-in")
	if q.Get("state") != "browser-state" || q.Get("iss") != srv.URL || q.Get("code") == "" {
		t.Fatalf("callback query %v", q)
	}
	if err := chromedp.Do(bctx, chromedp.WaitVisible(chromedp.ID("done"))); err != nil {
		t.Fatal(err)
	}
	loc, err := chromedp.Run(bctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(loc, callback+"?") {
		t.Errorf("browser is at %q, want the callback", loc)
	}

	// The code is real: the token endpoint exchanges it.
	exchange := func(code string) {
		t.Helper()
		resp, err := srv.Client().PostForm(srv.URL+"/oauth/token", url.Values{
			"grant_type": {"authorization_code"}, "client_id": {"spa"}, "code": {code},
			"redirect_uri": {callback}, "code_verifier": {verifier},
		})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var tr oauth.TokenResponse
		if err := json.NewDecoder(resp.Body).Decode(&tr); err != nil || resp.StatusCode != http.StatusOK || tr.AccessToken == "" || tr.RefreshToken == "" {
			t.Fatalf("code exchange: status %d, %v, %+v", resp.StatusCode, err, tr)
		}
	}
	exchange(q.Get("code"))

	// Single sign-on: the session cookie takes the browser straight back.
	if err := chromedp.Do(bctx, chromedp.Navigate(authURL)); err != nil {
		t.Fatal(err)
	}
	q = wait("single sign-on")
	if q.Get("code") == "" {
		t.Fatalf("single sign-on callback query %v", q)
	}
	exchange(q.Get("code"))
}
