package authorize

import (
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// redirectMutations are near misses of the registered URIs spaCB and
// spaQueryCB; each must be refused wherever a registered URL is matched.
var redirectMutations = []struct{ name, uri string }{
	{"trailing slash", "https://app.example.com/callback/"},
	{"upper-case host", "https://APP.example.com/callback"},
	{"upper-case path", "https://app.example.com/Callback"},
	{"upper-case scheme", "HTTPS://app.example.com/callback"},
	{"explicit default port 443", "https://app.example.com:443/callback"},
	{"other port", "https://app.example.com:8443/callback"},
	{"empty port", "https://app.example.com:/callback"},
	{"extra query", "https://app.example.com/callback?x=1"},
	{"empty query", "https://app.example.com/callback?"},
	{"fragment", "https://app.example.com/callback#x"},
	{"empty fragment", "https://app.example.com/callback#"},
	{"userinfo", "https://user@app.example.com/callback"},
	{"userinfo hiding another host", "https://app.example.com@evil.example/callback"},
	{"backslash hiding another host", `https://evil.example\@app.example.com/callback`},
	{"percent-encoded path letter", "https://app.example.com/%63allback"},
	{"percent-encoded slash", "https://app.example.com%2Fcallback"},
	{"encoded slash appended", "https://app.example.com/callback%2F"},
	{"dot-dot segment", "https://app.example.com/x/../callback"},
	{"encoded dot-dot segment", "https://app.example.com/x/%2e%2e/callback"},
	{"dot segment", "https://app.example.com/./callback"},
	{"double slash", "https://app.example.com//callback"},
	{"path suffix", "https://app.example.com/callbackx"},
	{"path continued", "https://app.example.com/callback/evil"},
	{"Cyrillic a look-alike host", "https://\u0430pp.example.com/callback"},
	{"fullwidth letter host", "https://\uff41pp.example.com/callback"},
	{"punycode of the look-alike host", "https://xn--pp-8cd.example.com/callback"},
	{"http instead of https", "http://app.example.com/callback"},
	{"scheme-relative", "//app.example.com/callback"},
	{"registered domain as a prefix of another", "https://app.example.com.evil.example/callback"},
	{"registered domain as a suffix of another", "https://evilapp.example.com/callback"},
	{"registered URI as a path of another host", "https://evil.example/app.example.com/callback"},
	{"trailing dot host", "https://app.example.com./callback"},
	{"NUL byte", "https://app.example.com/callback\x00"},
	{"leading space", " https://app.example.com/callback"},
	{"trailing space", "https://app.example.com/callback "},
	{"trailing tab", "https://app.example.com/callback\t"},
	{"trailing newline", "https://app.example.com/callback\n"},
	{"registered query dropped", "https://app.example.com/cb"},
	{"registered query changed", "https://app.example.com/cb?tenant=b"},
	{"registered query extended", "https://app.example.com/cb?tenant=a&x=1"},
	{"registered query reordered", "https://app.example.com/cb?x=1&tenant=a"},
	{"registered query with an ampersand appended", "https://app.example.com/cb?tenant=a&"},
}

// Every mutation of a registered redirect URI is refused with an error page,
// never a redirect (RFC 9700 §4.1.3).
func TestRedirectURIMutationsAreRefusedWithoutARedirect(t *testing.T) {
	e := newEnv(t)
	for _, m := range redirectMutations {
		t.Run(m.name+" is refused", func(t *testing.T) {
			q := query()
			q.Set("redirect_uri", m.uri)
			r := e.browser(t).authorize(q.Encode())
			wantErrorPage(t, r, http.StatusBadRequest)
			// prompt=none would redirect at once if the URI were accepted.
			q.Set("prompt", "none")
			wantErrorPage(t, e.browser(t).authorize(q.Encode()), http.StatusBadRequest)
		})
	}
}

func TestLoopbackRedirects(t *testing.T) {
	tests := []struct {
		name   string
		client string
		uri    string
		ok     bool
	}{
		{"native client, IPv4 loopback on any port, is accepted", "native", "http://127.0.0.1:51234/callback", true},
		{"native client, IPv4 loopback without a port, is accepted", "native", "http://127.0.0.1/callback", true},
		{"native client, lowest port, is accepted", "native", "http://127.0.0.1:1/callback", true},
		{"native client, highest port, is accepted", "native", "http://127.0.0.1:65535/callback", true},
		{"native client, IPv6 loopback on any port, is accepted", "native", "http://[::1]:8080/callback", true},
		{"native client, loopback with a query, is refused", "native", "http://127.0.0.1:51234/callback?x=1", false},
		{"native client, private-use scheme exactly as registered, is accepted", "native", "com.example.app:/oauth", true},
		{"native client, localhost, is refused", "native", "http://localhost:51234/callback", false},
		{"native client, other path, is refused", "native", "http://127.0.0.1:51234/other", false},
		{"native client, port 0, is refused", "native", "http://127.0.0.1:0/callback", false},
		{"native client, port 65536, is refused", "native", "http://127.0.0.1:65536/callback", false},
		{"native client, port with a leading zero, is refused", "native", "http://127.0.0.1:08080/callback", false},
		{"native client, six-digit port, is refused", "native", "http://127.0.0.1:123456/callback", false},
		{"native client, empty port, is refused", "native", "http://127.0.0.1:/callback", false},
		{"native client, userinfo trick, is refused", "native", "http://127.0.0.1:51234@evil.example/callback", false},
		{"native client, longer IP, is refused", "native", "http://127.0.0.10:51234/callback", false},
		{"native client, other loopback address, is refused", "native", "http://127.0.0.2:51234/callback", false},
		{"native client, https loopback, is refused", "native", "https://127.0.0.1:51234/callback", false},
		{"native client, fragment, is refused", "native", "http://127.0.0.1:51234/callback#x", false},
		{"native client, private-use scheme with another path, is refused", "native", "com.example.app:/other", false},
		{"web client, its registered loopback URI, is accepted", "web-loopback", "http://127.0.0.1:3000/cb", true},
		{"web client, loopback on another port, is refused", "web-loopback", "http://127.0.0.1:4000/cb", false},
		{"web client, loopback without a port, is refused", "web-loopback", "http://127.0.0.1/cb", false},
	}
	e := newEnv(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := query()
			q.Set("client_id", tc.client)
			q.Set("redirect_uri", tc.uri)
			q.Set("prompt", "none")
			r := e.browser(t).authorize(q.Encode())
			if !tc.ok {
				wantErrorPage(t, r, http.StatusBadRequest)
				return
			}
			// Accepted: prompt=none without a session goes back to exactly
			// this URI with login_required.
			if r.status != http.StatusFound || !strings.HasPrefix(r.header.Get("Location"), tc.uri+"?") {
				t.Fatalf("status %d, Location %q; want a redirect to %q", r.status, r.header.Get("Location"), tc.uri)
			}
			e.wantError(t, r, tc.uri, "st-123", oauth.LoginRequired)
		})
	}
}

// Any single-byte change, insertion or deletion of a registered URI is
// refused (as a property).
func TestEveryByteChangeOfARegisteredURIIsRefused(t *testing.T) {
	for _, c := range []*oauth.Client{
		{AppType: oauth.AppTypeSPA, Callbacks: []string{spaCB}},
		{AppType: oauth.AppTypeNative, Callbacks: []string{"http://127.0.0.1/callback"}},
	} {
		reg := c.Callbacks[0]
		check := func(uri string) {
			if uri == reg {
				return
			}
			if c.AppType == oauth.AppTypeNative {
				if _, rest, ok := splitLoopback(uri); ok && rest == "/callback" && strings.HasPrefix(uri, "http://127.0.0.1") {
					return // the loopback port exception
				}
			}
			if redirectAllowed(c, uri) {
				t.Errorf("%s client: mutation %q of %q accepted", c.AppType, uri, reg)
			}
		}
		for i := 0; i <= len(reg); i++ {
			if i < len(reg) {
				check(reg[:i] + reg[i+1:]) // deletion
			}
			for b := 0; b < 256; b++ {
				check(reg[:i] + string([]byte{byte(b)}) + reg[i:]) // insertion
				if i < len(reg) {
					check(reg[:i] + string([]byte{byte(b)}) + reg[i+1:]) // substitution
				}
			}
		}
	}
}

func FuzzRedirectURIMatch(f *testing.F) {
	for _, s := range []string{
		spaCB, "http://127.0.0.1:1234/callback", "http://[::1]:80/callback", "http://127.0.0.1:80@x/callback",
		"http://127.0.0.1/callback?", "http://127.0.0.1:65535/callback#", "com.example.app:/oauth", "http://127.0.0.1",
	} {
		f.Add(s)
	}
	web := &oauth.Client{AppType: oauth.AppTypeRegularWeb, Callbacks: []string{spaCB, "http://127.0.0.1/callback"}}
	native := &oauth.Client{AppType: oauth.AppTypeNative, Callbacks: []string{spaCB, "http://127.0.0.1/callback", "http://[::1]/callback", "com.example.app:/oauth"}}
	f.Fuzz(func(t *testing.T, uri string) {
		if got, want := redirectAllowed(web, uri), slices.Contains(web.Callbacks, uri); got != want {
			t.Fatalf("web client: redirectAllowed(%q) = %v, want exact match %v", uri, got, want)
		}
		if !redirectAllowed(native, uri) || slices.Contains(native.Callbacks, uri) {
			return
		}
		// Accepted without an exact match: must be a loopback IP literal
		// over http, no userinfo or fragment, same path as registered.
		u, err := url.Parse(uri)
		if err != nil {
			t.Fatalf("accepted unparsable %q: %v", uri, err)
		}
		ip := net.ParseIP(u.Hostname())
		if u.Scheme != "http" || u.User != nil || u.Fragment != "" || strings.Contains(uri, "#") || ip == nil || !ip.IsLoopback() {
			t.Fatalf("accepted %q as a loopback redirect", uri)
		}
		if u.RawQuery != "" || u.Path != "/callback" {
			t.Fatalf("accepted %q with another path or query", uri)
		}
		if p := u.Port(); p != "" && (p[0] == '0' || len(p) > 5 || atoi(p) > 65535) {
			t.Fatalf("accepted %q with port %q", uri, p)
		}
	})
}

func TestAppendQueryKeepsTheRegisteredQuery(t *testing.T) {
	tests := []struct{ uri, want string }{
		{"https://a.example/cb", "https://a.example/cb?code=c&state=a+b%26"},
		{"https://a.example/cb?x=1", "https://a.example/cb?x=1&code=c&state=a+b%26"},
		{"https://a.example/cb?", "https://a.example/cb?code=c&state=a+b%26"},
		{"https://a.example/cb?x=1&", "https://a.example/cb?x=1&code=c&state=a+b%26"},
		{"com.example.app:/oauth", "com.example.app:/oauth?code=c&state=a+b%26"},
	}
	for _, tc := range tests {
		if got := appendQuery(tc.uri, "code", "c", "state", "a b&"); got != tc.want {
			t.Errorf("appendQuery(%q) = %q, want %q", tc.uri, got, tc.want)
		}
	}
}

func TestRegisteredURIWithAFragmentIsNeverUsed(t *testing.T) {
	// RFC 6749 §3.1.2: a redirection endpoint must not have a fragment; a
	// bad registration must not turn into a redirect.
	c := &oauth.Client{AppType: oauth.AppTypeSPA, Callbacks: []string{"https://app.example.com/cb#frag"}}
	if redirectAllowed(c, "https://app.example.com/cb#frag") {
		t.Error("redirect URI with a fragment accepted")
	}
}
