package local_test

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// peakRSSLimit is the stated bound on how much 200 concurrent sign-ins
// with unknown usernames may add to the server's resident memory: argon2id
// takes 19 MiB per check, and only GOMAXPROCS checks run at once (without
// the bound, 200 checks took 3.8 GB). The race detector's shadow memory is
// included.
const peakRSSLimit = 256 << 20

// jwksLatencyLimit is how slow the JWKS may answer during the burst.
const jwksLatencyLimit = time.Second

// rss reads this process's resident set size.
func rss(t *testing.T) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Skipf("no /proc/self/status: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Skip("no VmRSS")
	return 0
}

// 200 concurrent sign-ins with unknown usernames neither exhaust memory nor
// starve the other endpoints: the password checks are bounded, the rest
// answer 503 at once (SECURITY.md LD-04: burst without timeouts).
func TestLoginBurstKeepsMemoryBoundedAndJWKSAnswering(t *testing.T) {
	const callback = "https://shop.example.com/callback"
	srv := azServer(t, callback)
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	q := url.Values{"response_type": {"code"}, "client_id": {"spa"}, "redirect_uri": {callback}, "audience": {azOrders},
		"scope": {"openid read:orders"}, "code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"}}
	resp, err := browser.Get(srv.URL + "/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fields := url.Values{}
	for _, m := range azHidden.FindAllStringSubmatch(string(page), -1) {
		fields.Set(m[1], html.UnescapeString(m[2]))
	}
	if fields.Get("csrf") == "" {
		t.Fatalf("no login form: %d %s\n%s", resp.StatusCode, resp.Header.Get("Location"), page)
	}

	base := rss(t)
	var peak atomic.Int64
	peak.Store(base)
	stop := make(chan struct{})
	var sampler sync.WaitGroup
	sampler.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			if r := rss(t); r > peak.Load() {
				peak.Store(r)
			}
		}
	})
	var slowest atomic.Int64
	var jwksFailures atomic.Int64
	sampler.Go(func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			begin := time.Now()
			resp, err := srv.Client().Get(srv.URL + "/.well-known/jwks.json")
			if err != nil || resp.StatusCode != http.StatusOK {
				jwksFailures.Add(1)
			}
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			if d := int64(time.Since(begin)); d > slowest.Load() {
				slowest.Store(d)
			}
		}
	})

	var mu sync.Mutex
	statuses := map[int]int{}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Go(func() {
			f := url.Values{"csrf": {fields.Get("csrf")}, "request": {fields.Get("request")},
				"username": {fmt.Sprintf("nobody%d@example.com", i)}, "password": {"guess"}}
			<-start
			resp, err := browser.PostForm(srv.URL+"/authorize/login", f)
			if err != nil {
				t.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			mu.Lock()
			statuses[resp.StatusCode]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	time.Sleep(50 * time.Millisecond)
	close(stop)
	sampler.Wait()

	grew := peak.Load() - base
	t.Logf("200 concurrent sign-ins: statuses %v, peak RSS +%d MiB (limit %d MiB), slowest JWKS %v",
		statuses, grew>>20, peakRSSLimit>>20, time.Duration(slowest.Load()))
	if grew > peakRSSLimit {
		t.Errorf("peak RSS grew by %d MiB, over %d MiB", grew>>20, peakRSSLimit>>20)
	}
	if statuses[http.StatusServiceUnavailable] == 0 {
		t.Errorf("no sign-in answered 503: %v", statuses)
	}
	if jwksFailures.Load() != 0 || time.Duration(slowest.Load()) > jwksLatencyLimit {
		t.Errorf("JWKS during the burst: %d failures, slowest %v (limit %v)", jwksFailures.Load(), time.Duration(slowest.Load()), jwksLatencyLimit)
	}
}
