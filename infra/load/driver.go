package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The clients, APIs and user of the default seed (shared/runtime/seed/default.json).
const (
	spaClientID  = "demo-spa"
	spaCallback  = "https://app.example.com/callback"
	m2mClientID  = "demo-m2m"
	m2mSecret    = "demo-m2m-secret-change-me"
	apiAudience  = "https://api.example.com"
	billAudience = "https://billing.example.com"
	demoUser     = "demo@example.com"
	demoPassword = "demo-password"
)

// requestTimeout bounds one HTTP request; a slower answer is an error.
const requestTimeout = 10 * time.Second

// driver holds what the chains share.
type driver struct {
	base   string // the server's base URL, no trailing slash
	cfg    config
	client *http.Client // token requests: keep-alive, no cookies
	// browser signs in once and keeps the session cookie, so later
	// /authorize requests return a code without the login form.
	browser *http.Client
	loginMu sync.Mutex
}

// newTransport is tuned for many small requests to one host: keep-alive
// with an idle connection per chain, no compression, loopback only.
func newTransport(chains int) *http.Transport {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second, Control: loopbackOnly}
	return &http.Transport{
		Proxy:               nil, // never through a proxy: the target is local
		DialContext:         dialer.DialContext,
		MaxIdleConns:        chains + 4,
		MaxIdleConnsPerHost: chains + 4,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
}

func newDriver(base string, cfg config) (*driver, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	tr := newTransport(cfg.chains)
	noRedirect := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &driver{
		base:    strings.TrimSuffix(base, "/"),
		cfg:     cfg,
		client:  &http.Client{Transport: tr, Timeout: requestTimeout, CheckRedirect: noRedirect},
		browser: &http.Client{Transport: tr, Timeout: requestTimeout, CheckRedirect: noRedirect, Jar: jar},
	}, nil
}

// tokenResponse is the part of a token response the driver reads.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	Error        string `json:"error"`
}

// post sends one token request. code is "" on success, else the OAuth
// error code, "transport" or "http_NNN"; err describes a failure.
func (d *driver) post(ctx context.Context, body string) (tokenResponse, string, error) {
	var tr tokenResponse
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.base+"/oauth/token", strings.NewReader(body))
	if err != nil {
		return tr, "transport", err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := d.client.Do(req)
	if err != nil {
		return tr, "transport", err
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		return tr, "transport", err
	}
	jsonErr := decodeTokenResponse(b, &tr)
	switch {
	case resp.StatusCode != http.StatusOK && jsonErr == nil && tr.Error != "":
		return tr, tr.Error, fmt.Errorf("token endpoint: %d %s", resp.StatusCode, b)
	case resp.StatusCode != http.StatusOK:
		return tr, "http_" + strconv.Itoa(resp.StatusCode), fmt.Errorf("token endpoint: %d %.200s", resp.StatusCode, b)
	case jsonErr != nil || tr.AccessToken == "":
		return tr, "bad_response", fmt.Errorf("token endpoint: 200 without an access token: %.200s", b)
	}
	return tr, "", nil
}

// decodeTokenResponse reads the members the driver needs. The common
// shape, compact JSON with unescaped string values (the server's tokens are
// base64url), is scanned directly: encoding/json was the largest item of
// the driver's own CPU profile, and that CPU is taken from the server on a
// shared machine. Anything else goes through encoding/json.
func decodeTokenResponse(b []byte, tr *tokenResponse) error {
	at, foundAT, okAT := stringMember(b, `"access_token":"`)
	rt, _, okRT := stringMember(b, `"refresh_token":"`)
	e, foundE, okE := stringMember(b, `"error":"`)
	if (foundAT || foundE) && okAT && okRT && okE && bytes.HasPrefix(b, []byte("{")) {
		*tr = tokenResponse{AccessToken: at, RefreshToken: rt, Error: e}
		return nil
	}
	*tr = tokenResponse{}
	return json.Unmarshal(b, tr)
}

// stringMember looks for key, a member name with its colon and the value's
// opening quote, and returns the string value. ok is false when the value
// has an escape or no closing quote (then only a real decoder can tell).
// Inside a JSON string a quote is always escaped, so an unescaped match of
// key can only be a member.
func stringMember(b []byte, key string) (value string, found, ok bool) {
	i := bytes.Index(b, []byte(key))
	if i < 0 {
		return "", false, true
	}
	rest := b[i+len(key):]
	end := bytes.IndexByte(rest, '"')
	if end < 0 || bytes.IndexByte(rest[:end], '\\') >= 0 {
		return "", true, false
	}
	return string(rest[:end]), true, true
}

// hiddenInput finds the login form's hidden fields (shared/authorize pages.go).
var hiddenInput = regexp.MustCompile(`<input type="hidden" name="(csrf|request)" value="([^"]*)">`)

// signIn runs the authorization-code flow with PKCE for the SPA and returns
// a fresh refresh token (a new family). The first call fills in the login
// form; later ones ride on the session cookie.
func (d *driver) signIn(ctx context.Context) (string, error) {
	d.loginMu.Lock()
	defer d.loginMu.Unlock()
	verifier, state := randomString(), randomString()
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {spaClientID},
		"redirect_uri":          {spaCallback},
		"audience":              {apiAudience},
		"scope":                 {d.cfg.scope},
		"state":                 {state},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"},
	}
	resp, body, err := d.browse(ctx, http.MethodGet, d.base+"/authorize?"+q.Encode(), nil)
	if err != nil {
		return "", err
	}
	if resp.StatusCode == http.StatusOK {
		form := url.Values{"username": {demoUser}, "password": {demoPassword}}
		for _, m := range hiddenInput.FindAllStringSubmatch(body, -1) {
			form.Set(m[1], html.UnescapeString(m[2]))
		}
		if form.Get("csrf") == "" || form.Get("request") == "" {
			return "", fmt.Errorf("sign-in: GET /authorize answered 200 without the login form: %.300s", body)
		}
		if resp, body, err = d.browse(ctx, http.MethodPost, d.base+"/authorize/login", form); err != nil {
			return "", err
		}
	}
	if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
		return "", fmt.Errorf("sign-in: %s %s: status %d, want a redirect with a code: %.300s",
			resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, body)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		return "", fmt.Errorf("sign-in: redirect: %w", err)
	}
	lq := loc.Query()
	if lq.Get("state") != state || lq.Get("code") == "" {
		return "", fmt.Errorf("sign-in: redirected without a code for our state: error=%q %q", lq.Get("error"), lq.Get("error_description"))
	}
	tr, _, err := d.post(ctx, url.Values{
		"grant_type":    {"authorization_code"},
		"client_id":     {spaClientID},
		"code":          {lq.Get("code")},
		"redirect_uri":  {spaCallback},
		"code_verifier": {verifier},
	}.Encode())
	if err != nil {
		return "", fmt.Errorf("sign-in: code exchange: %w", err)
	}
	if tr.RefreshToken == "" {
		return "", errors.New("sign-in: code exchange returned no refresh token (does the scope include offline_access?)")
	}
	return tr.RefreshToken, nil
}

// browse sends one browser request (cookies kept, redirects not followed)
// and returns the response with its body read.
func (d *driver) browse(ctx context.Context, method, target string, form url.Values) (*http.Response, string, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return nil, "", err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := d.browser.Do(req)
	if err != nil {
		return nil, "", fmt.Errorf("sign-in: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, "", fmt.Errorf("sign-in: %w", err)
	}
	return resp, string(b), nil
}

func randomString() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// chain is one client: its refresh token and its latencies.
type chain struct {
	token     string
	exchanges int64
	latencies []time.Duration
	errors    map[string]int
}

// load runs every chain until the duration is over or the request budget
// is spent, and returns the wall time of the measured phase.
func (d *driver) load(ctx context.Context, chains []*chain) time.Duration {
	var budget atomic.Int64
	budget.Store(d.cfg.maxRequests)
	start := time.Now()
	stopAt := start.Add(d.cfg.duration)
	var wg sync.WaitGroup
	for _, c := range chains {
		wg.Go(func() { d.drive(ctx, c, stopAt, &budget) })
	}
	wg.Wait()
	return time.Since(start)
}

// drive is one chain's loop. A refused refresh (invalid_grant) leaves the
// chain without a usable token, so it signs in again; any other failure
// retries with the same token, which the server leaves usable.
func (d *driver) drive(ctx context.Context, c *chain, stopAt time.Time, budget *atomic.Int64) {
	audiences := []string{"", ""}
	if d.cfg.audienceSwitch {
		audiences = []string{"&audience=" + url.QueryEscape(billAudience), "&audience=" + url.QueryEscape(apiAudience)}
	}
	ccBody := url.Values{
		"grant_type":    {grantClient},
		"client_id":     {m2mClientID},
		"client_secret": {m2mSecret},
		"audience":      {apiAudience},
	}.Encode()
	for i := 0; ctx.Err() == nil && time.Now().Before(stopAt) && budget.Add(-1) >= 0; i++ {
		body := ccBody
		if d.cfg.grant == grantRefresh {
			body = "grant_type=refresh_token&client_id=" + spaClientID + "&refresh_token=" + url.QueryEscape(c.token) + audiences[i%2]
		}
		t0 := time.Now()
		tr, code, _ := d.post(ctx, body)
		lat := time.Since(t0)
		if code == "" && d.cfg.grant == grantRefresh && tr.RefreshToken == "" {
			code = "no_refresh_token" // rotation is on for the SPA: every answer carries a successor
		}
		if code != "" {
			if ctx.Err() != nil {
				return // interrupted: not the server's error
			}
			c.errors[code]++
			if code == "invalid_grant" || code == "no_refresh_token" {
				rt, err := d.signIn(ctx)
				if err != nil {
					c.errors["sign_in"]++
					return
				}
				c.token = rt
			}
			continue
		}
		c.exchanges++
		c.latencies = append(c.latencies, lat)
		if d.cfg.grant == grantRefresh {
			c.token = tr.RefreshToken
		}
	}
}

// run drives one measurement: server (started here unless cfg.url), sign-in
// of every chain, the optional signing baseline, then the load.
func run(ctx context.Context, cfg config, logw io.Writer) (*report, error) {
	base := cfg.url
	var srv *devServer
	if base == "" {
		var err error
		fmt.Fprintf(logw, "load: building and starting the dev server (%s)...\n", cfg.alg)
		if srv, err = startDevServer(ctx, cfg.alg); err != nil {
			return nil, err
		}
		defer srv.stop()
		base = srv.url
	} else if err := checkLoopbackURL(base); err != nil {
		return nil, err
	}
	d, err := newDriver(base, cfg)
	if err != nil {
		return nil, err
	}
	chains, alg, err := d.prepare(ctx)
	if err != nil {
		return nil, err
	}
	if srv != nil && alg != cfg.alg {
		return nil, fmt.Errorf("the server signed with %s, not -alg %s", alg, cfg.alg)
	}
	rep := &report{Grant: cfg.grant, Alg: alg, Chains: cfg.chains, AudienceSwitch: cfg.audienceSwitch,
		Cores: runtime.NumCPU(), Errors: map[string]int{}}

	// The signing baseline runs before and after the load, with the server
	// idle; the higher rate counts, so a noisy neighbour during one of
	// them cannot flatter the ratio.
	var rates []float64
	measureBaseline := func() error {
		if !cfg.baseline {
			return nil
		}
		rate, err := signRate(ctx, alg, baselineDuration)
		rates = append(rates, rate)
		return err
	}
	if err := measureBaseline(); err != nil {
		return nil, err
	}
	serverPID := 0
	if srv != nil {
		serverPID = srv.cmd.Process.Pid
		rss, err := srv.peakRSSMB()
		if err != nil {
			return nil, err
		}
		rep.ServerPeakRSSBeforeMB = &rss
	}

	before, err := sampleCPU(serverPID)
	if err != nil {
		return nil, err
	}
	stopProfile, err := startCPUProfile(cfg.cpuProfile)
	if err != nil {
		return nil, err
	}
	elapsed := d.load(ctx, chains)
	if err := stopProfile(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	after, err := sampleCPU(serverPID)
	if err != nil {
		return nil, err
	}
	if srv != nil {
		rss, err := srv.peakRSSMB()
		if err != nil {
			return nil, err
		}
		rep.ServerPeakRSSMB = &rss
	}
	if err := measureBaseline(); err != nil {
		return nil, err
	}
	if len(rates) > 0 {
		best := slices.Max(rates)
		rep.RawSignsPerS = &best
	}
	rep.summarize(chains, elapsed, before, after, srv != nil)
	return rep, nil
}

// prepare gives every chain its own refresh token (a family of its own)
// before the clock starts, and returns the chains and the algorithm of
// the access tokens the server issues.
func (d *driver) prepare(ctx context.Context) ([]*chain, string, error) {
	chains := make([]*chain, d.cfg.chains)
	expect := min(d.cfg.maxRequests, int64(d.cfg.duration/time.Millisecond)*10) / int64(d.cfg.chains)
	for i := range chains {
		chains[i] = &chain{errors: map[string]int{}, latencies: make([]time.Duration, 0, expect+1)}
	}
	var probe string // an access token, to tell the algorithm
	if d.cfg.grant == grantRefresh {
		for _, c := range chains {
			var err error
			if c.token, err = d.signIn(ctx); err != nil {
				return nil, "", err
			}
		}
		tr, _, err := d.post(ctx, "grant_type=refresh_token&client_id="+spaClientID+"&refresh_token="+url.QueryEscape(chains[0].token))
		if err != nil {
			return nil, "", fmt.Errorf("warm-up refresh: %w", err)
		}
		chains[0].token, probe = tr.RefreshToken, tr.AccessToken
	} else {
		tr, _, err := d.post(ctx, url.Values{
			"grant_type": {grantClient}, "client_id": {m2mClientID}, "client_secret": {m2mSecret}, "audience": {apiAudience},
		}.Encode())
		if err != nil {
			return nil, "", fmt.Errorf("warm-up client credentials: %w", err)
		}
		probe = tr.AccessToken
	}
	alg, err := jwtAlg(probe)
	return chains, alg, err
}

// summarize fills in the rates, percentiles, errors, CPU shares and
// ratios of a finished load phase.
func (r *report) summarize(chains []*chain, elapsed time.Duration, before, after cpuSample, serverKnown bool) {
	var all []time.Duration
	for _, c := range chains {
		r.Exchanges += c.exchanges
		all = append(all, c.latencies...)
		for code, n := range c.errors {
			r.Errors[code] += n
		}
	}
	slices.Sort(all)
	secs := elapsed.Seconds()
	r.DurationS = round(secs, 3)
	r.ExchangesPerS = round(float64(r.Exchanges)/secs, 1)
	r.P50ms, r.P90ms, r.P99ms = ms(percentile(all, 50)), ms(percentile(all, 90)), ms(percentile(all, 99))

	r.DriverCores = cores(after.driver-before.driver, secs)
	other := after.machine - before.machine - (after.driver - before.driver)
	serverCPU := 0.0 // cores, unrounded
	if serverKnown {
		serverCPU = float64(after.server-before.server) / ticksPerSecond / secs
		sc := round(serverCPU, 2)
		r.ServerCores = &sc
		other -= after.server - before.server
	}
	r.OtherCores = cores(max(other, 0), secs)

	if r.RawSignsPerS != nil {
		ratio := round(r.ExchangesPerS / *r.RawSignsPerS, 3)
		r.Ratio = &ratio
		if serverCPU > 0 {
			sr := round(r.ExchangesPerS/(*r.RawSignsPerS*serverCPU/float64(r.Cores)), 3)
			r.ServerRatio = &sr
		}
	}
}

// jwtAlg returns the alg of a compact JWS's protected header.
func jwtAlg(jwt string) (string, error) {
	head, _, ok := strings.Cut(jwt, ".")
	if !ok {
		return "", errors.New("access token is not a JWS")
	}
	b, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return "", fmt.Errorf("access token header: %w", err)
	}
	var h struct {
		Alg string `json:"alg"`
	}
	if err := json.Unmarshal(b, &h); err != nil || h.Alg == "" {
		return "", fmt.Errorf("access token header without alg: %s", b)
	}
	return h.Alg, nil
}

// startCPUProfile profiles this process into path ("" profiles nothing)
// and returns the function that stops it.
func startCPUProfile(path string) (func() error, error) {
	if path == "" {
		return func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() error {
		pprof.StopCPUProfile()
		return f.Close()
	}, nil
}
