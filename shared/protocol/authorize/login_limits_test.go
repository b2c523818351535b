package authorize

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/google/go-cmp/cmp"

	"github.com/mrrt-auth/mrrt/shared/adapters/dynamostore"
	"github.com/mrrt-auth/mrrt/shared/adapters/memstore"
	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/testkit/awstest"
)

// Brute-force limits under concurrency and per client address
// (SECURITY.md T9; Auth0 brute-force protection and suspicious-IP
// throttling).

// missingRetryAfter counts, in concurrentSignIns' result, 503 answers
// without Retry-After.
const missingRetryAfter = 0

// concurrentSignIns posts n login forms built from page at once with
// username(i) and password pw, and returns how many got each status.
func concurrentSignIns(t *testing.T, b *browser, page *response, n int, username func(i int) string, pw string) map[int]int {
	t.Helper()
	fields := formFields(t, page)
	var mu sync.Mutex
	statuses := map[int]int{}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			f := url.Values{"csrf": {fields.Get("csrf")}, "request": {fields.Get("request")}, "username": {username(i)}, "password": {pw}}
			req, err := http.NewRequest(http.MethodPost, b.e.srv.URL+"/authorize/login", strings.NewReader(f.Encode()))
			if err != nil {
				t.Error(err)
				return
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if b.ip != "" {
				req.Header.Set(testClientIP, b.ip)
			}
			<-start
			resp, err := b.c.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			mu.Lock()
			statuses[resp.StatusCode]++
			if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "" {
				statuses[missingRetryAfter]++
			}
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	return statuses
}

// The reservation is one conditional write per attempt, so the limit holds
// however the posts interleave: on the memory store and on the DynamoDB
// store (moto, which the harness serialises request by request as
// DynamoDB's per-item atomicity would).
func TestLockoutHoldsUnderConcurrency(t *testing.T) {
	for _, tc := range []struct {
		name  string
		store func(t *testing.T) oauth.Store
	}{
		{"on the memory store", func(*testing.T) oauth.Store { return memstore.New() }},
		{"on the DynamoDB store", func(t *testing.T) oauth.Store {
			api := dynamodb.NewFromConfig(awstest.Config(awstest.StartMoto(t)))
			if err := dynamostore.CreateTable(t.Context(), api, "lockout"); err != nil {
				t.Fatal(err)
			}
			return dynamostore.New(api, "lockout")
		}},
	} {
		t.Run("100 concurrent wrong passwords lock the user after 5 "+tc.name, func(t *testing.T) {
			// Enough password-check slots that only the throttle limits.
			e := newEnvOn(t, tc.store(t), func(d *Deps) { d.Login.Concurrency = 100 })
			b := e.browser(t)
			page := b.authorize(query().Encode())
			got := concurrentSignIns(t, b, page, 100, func(int) string { return alice }, "wrong")
			want := map[int]int{http.StatusUnauthorized: maxFailures, http.StatusTooManyRequests: 100 - maxFailures}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("100 concurrent wrong passwords, statuses (-want +got):\n%s", d)
			}
			if r := b.loginAs(query(), alice, alicePW); r.status != http.StatusTooManyRequests {
				t.Errorf("the right password after the burst: status %d, want 429", r.status)
			}
		})
	}
}

func TestThrottlePerUsernameAndIP(t *testing.T) {
	t.Run("the owner signs in from another address while an attacker's address is locked", func(t *testing.T) {
		e := newEnv(t)
		attacker := e.browser(t)
		attacker.ip = "198.51.100.7"
		for range maxFailures {
			attacker.loginAs(query(), alice, "wrong")
		}
		if r := attacker.loginAs(query(), alice, alicePW); r.status != http.StatusTooManyRequests {
			t.Fatalf("attacker's address: status %d, want 429", r.status)
		}
		owner := e.browser(t)
		owner.ip = "203.0.113.9"
		e.wantCode(t, owner.loginAs(query(), alice, alicePW), spaCB, "st-123", http.StatusSeeOther)
	})
	t.Run("one address spraying many usernames is throttled after the per-address limit", func(t *testing.T) {
		e := newEnv(t)
		b := e.browser(t)
		b.ip = "198.51.100.8"
		for i := range maxIPFailures {
			if r := b.loginAs(query(), fmt.Sprintf("user%d@example.com", i), "guess"); r.status != http.StatusUnauthorized {
				t.Fatalf("attempt %d: status %d, want 401", i+1, r.status)
			}
		}
		r := b.loginAs(query(), "another@example.com", "guess")
		if r.status != http.StatusTooManyRequests || pageMessage(r) != msgThrottled {
			t.Fatalf("attempt %d: status %d %q, want 429 %q", maxIPFailures+1, r.status, pageMessage(r), msgThrottled)
		}
		// Even the right password is not checked from that address...
		if r := b.loginAs(query(), alice, alicePW); r.status != http.StatusTooManyRequests {
			t.Errorf("right password from the throttled address: status %d, want 429", r.status)
		}
		// ...but another address is not affected, and the window ends.
		other := e.browser(t)
		other.ip = "203.0.113.10"
		e.wantCode(t, other.loginAs(query(), alice, alicePW), spaCB, "st-123", http.StatusSeeOther)
		e.clock.Advance(ipWindow)
		e.wantCode(t, b.loginAs(query(), alice, alicePW), spaCB, "st-123", http.StatusSeeOther)
	})
	t.Run("successful sign-ins do not use up the address's budget", func(t *testing.T) {
		e := newEnv(t)
		b := e.browser(t)
		b.ip = "198.51.100.9"
		for range maxIPFailures + 5 {
			e.wantCode(t, e.browserAt(t, b.ip).loginAs(query(), alice, alicePW), spaCB, "st-123", http.StatusSeeOther)
		}
		if r := b.loginAs(query(), "someone@example.com", "guess"); r.status != http.StatusUnauthorized {
			t.Errorf("a failure after many successes: status %d, want 401", r.status)
		}
	})
}

func (e *env) browserAt(t *testing.T, ip string) *browser {
	b := e.browser(t)
	b.ip = ip
	return b
}

func TestPasswordChecksAreBoundedAndTheRestAnswer503AtOnce(t *testing.T) {
	e := newEnv(t, func(d *Deps) { d.Login.Concurrency = 2 })
	b := e.browser(t)
	page := b.authorize(query().Encode())
	begin := time.Now()
	got := concurrentSignIns(t, b, page, 40, func(i int) string { return fmt.Sprintf("nobody%d@example.com", i) }, "guess")
	if got[http.StatusServiceUnavailable] == 0 || got[http.StatusUnauthorized] < 2 || got[http.StatusUnauthorized]+got[http.StatusServiceUnavailable] != 40 {
		t.Errorf("statuses %v: want at least 2 checked (401) and the rest 503", got)
	}
	if got[missingRetryAfter] != 0 {
		t.Errorf("%d 503 answers without Retry-After", got[missingRetryAfter])
	}
	t.Logf("40 concurrent sign-ins with 2 slots: %v in %v", got, time.Since(begin))
}
