package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mrrt-auth/mrrt/shared/adapters/memstore"
	"github.com/mrrt-auth/mrrt/shared/runtime/seed"
	"github.com/mrrt-auth/mrrt/shared/testkit/localserver"
)

// inProcessServer serves local.Routes with the default seed, as `make run`
// does, on an httptest server.
func inProcessServer(t *testing.T) (*httptest.Server, *memstore.Store) {
	t.Helper()
	s := localserver.Start(t, localserver.Options{})
	return s.Server, s.Store
}

func TestRunAgainstInProcessServer(t *testing.T) {
	t.Run("refresh chains with the audience switch rotate their own tokens without errors", func(t *testing.T) {
		srv, store := inProcessServer(t)
		cfg := config{chains: 2, duration: time.Second, maxRequests: 1_000_000, grant: grantRefresh,
			alg: "RS256", url: srv.URL, audienceSwitch: true, scope: "offline_access read:data"}
		rep, err := run(context.Background(), cfg, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		checkReport(t, rep)
		// Each chain signed in once (its own family) and every exchange
		// rotated that family once: the generations add up to the
		// exchanges plus the one warm-up exchange of the first chain. A
		// driver that re-presented an old token would have revoked a family.
		fams, err := store.FamiliesByUser(context.Background(), "auth0|demo")
		if err != nil {
			t.Fatal(err)
		}
		if len(fams) != cfg.chains {
			t.Fatalf("%d families, want one per chain (%d)", len(fams), cfg.chains)
		}
		total := 0
		for _, f := range fams {
			if f.Revoked {
				t.Errorf("family %s revoked: %s", f.ID, f.RevokeReason)
			}
			if f.Generation == 0 {
				t.Errorf("family %s was never exchanged", f.ID)
			}
			total += f.Generation
		}
		if want := int(rep.Exchanges) + 1; total != want {
			t.Errorf("families rotated %d times, want exchanges+warm-up = %d", total, want)
		}
	})

	t.Run("client credentials run without errors", func(t *testing.T) {
		srv, _ := inProcessServer(t)
		cfg := config{chains: 2, duration: time.Second, maxRequests: 1_000_000, grant: grantClient, alg: "RS256", url: srv.URL}
		rep, err := run(context.Background(), cfg, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		checkReport(t, rep)
	})

	t.Run("max-requests caps the measured requests exactly", func(t *testing.T) {
		srv, _ := inProcessServer(t)
		cfg := config{chains: 3, duration: 30 * time.Second, maxRequests: 25, grant: grantClient, alg: "RS256", url: srv.URL}
		start := time.Now()
		rep, err := run(context.Background(), cfg, io.Discard)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Exchanges != 25 || rep.errorCount() != 0 {
			t.Errorf("exchanges %d, errors %v; want 25 and none", rep.Exchanges, rep.Errors)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("took %v: the cap did not end the run", d)
		}
	})
}

func checkReport(t *testing.T, rep *report) {
	t.Helper()
	if n := rep.errorCount(); n != 0 {
		t.Errorf("errors: %v", rep.Errors)
	}
	if rep.Exchanges <= 0 || rep.ExchangesPerS <= 0 {
		t.Errorf("exchanges %d, rate %v: want positive", rep.Exchanges, rep.ExchangesPerS)
	}
	if !(0 < rep.P50ms && rep.P50ms <= rep.P90ms && rep.P90ms <= rep.P99ms) {
		t.Errorf("percentiles p50 %v p90 %v p99 %v: want 0 < p50 <= p90 <= p99", rep.P50ms, rep.P90ms, rep.P99ms)
	}
	if rep.DurationS < 0.9 || rep.DurationS > 5 {
		t.Errorf("duration %v s for a 1 s run", rep.DurationS)
	}
	if rep.Alg != "RS256" {
		t.Errorf("alg %q, want RS256 (the default seed)", rep.Alg)
	}
	if rep.ServerPeakRSSMB != nil || rep.ServerCores != nil {
		t.Error("server RSS and CPU reported for a server this run did not start")
	}
	// The JSON line has every field the README documents.
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	for _, k := range []string{"grant", "alg", "chains", "duration_s", "exchanges", "exchanges_per_s",
		"p50_ms", "p90_ms", "p99_ms", "errors", "server_peak_rss_mb"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON line lacks %q: %s", k, b)
		}
	}
}

func TestCheckLoopbackURL(t *testing.T) {
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"http://127.0.0.1:8080", true},
		{"http://127.45.6.7:8080/", true},
		{"http://[::1]:8080", true},
		{"http://localhost:8080", true},
		{"https://LOCALHOST", true},
		{"http://10.0.0.1:8080", false},
		{"http://192.168.1.10", false},
		{"http://172.16.0.1", false},
		{"http://8.8.8.8", false},
		{"http://example.com", false},
		{"http://localhost.example.com", false},
		{"http://127.0.0.1.nip.io", false},
		{"http://0.0.0.0:8080", false},
		{"http://[::]:8080", false},
		{"http://[fe80::1%25lo]:8080", false},
		{"ftp://127.0.0.1", false},
		{"127.0.0.1:8080", false},
		{"http://user:pw@127.0.0.1", false},
	} {
		err := checkLoopbackURL(tc.url)
		if (err == nil) != tc.ok {
			t.Errorf("checkLoopbackURL(%q) = %v, want ok=%v", tc.url, err, tc.ok)
		}
	}
}

func TestDialerRefusesNonLoopbackAddresses(t *testing.T) {
	for _, tc := range []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:80", true},
		{"[::1]:80", true},
		{"10.1.2.3:80", false},
		{"[2001:db8::1]:443", false},
		{"93.184.216.34:80", false},
	} {
		err := loopbackOnly("tcp", tc.addr, nil)
		if (err == nil) != tc.ok {
			t.Errorf("loopbackOnly(%q) = %v, want ok=%v", tc.addr, err, tc.ok)
		}
	}
	// And through the transport: a connection to a non-loopback address is
	// refused before any packet is sent.
	tr := newTransport(1)
	_, err := (&http.Client{Transport: tr}).Get("http://192.0.2.1:9/")
	if err == nil || !strings.Contains(err.Error(), "non-loopback") {
		t.Errorf("GET to 192.0.2.1: %v, want a non-loopback refusal", err)
	}
}

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	for _, tc := range []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"no values give zero", nil, 50, 0},
		{"one value is every percentile", ms(7), 99, 7 * time.Millisecond},
		{"median of an odd count is the middle value", ms(1, 2, 3, 4, 5), 50, 3 * time.Millisecond},
		{"median of an even count is the lower middle value", ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"p90 of 1..100 is 90", ms(hundred...), 90, 90 * time.Millisecond},
		{"p99 of 1..100 is 99", ms(hundred...), 99, 99 * time.Millisecond},
		{"p99 of ten values is the largest", ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 99, 10 * time.Millisecond},
		{"p100 is the largest", ms(1, 2, 3), 100, 3 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := percentile(tc.sorted, tc.p); got != tc.want {
				t.Errorf("percentile(%v, %v) = %v, want %v", tc.sorted, tc.p, got, tc.want)
			}
		})
	}
}

func TestParseFlags(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr string
	}{
		{"defaults are valid", nil, ""},
		{"a duration over five minutes is refused", []string{"-duration", "6m"}, "at most 5m"},
		{"zero chains are refused", []string{"-chains", "0"}, "-chains"},
		{"an unknown grant is refused", []string{"-grant", "password"}, "-grant"},
		{"an unknown alg is refused", []string{"-alg", "HS256"}, "-alg"},
		{"the audience switch needs the refresh grant", []string{"-grant", "client_credentials", "-audience-switch"}, "refresh_token grant only"},
		{"a non-loopback target is refused", []string{"-url", "http://10.0.0.5:8080"}, "only loopback"},
		{"a zero request cap is refused", []string{"-max-requests", "0"}, "-max-requests"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseFlags(tc.args, io.Discard)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("parseFlags(%q): %v", tc.args, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("parseFlags(%q) = %v, want an error containing %q", tc.args, err, tc.wantErr)
			}
		})
	}
	cfg, _ := parseFlags(nil, io.Discard)
	want := config{chains: 8, duration: 10 * time.Second, maxRequests: 1_000_000, grant: grantRefresh, alg: "RS256", scope: "offline_access read:data"}
	if diff := cmp.Diff(want, cfg, cmp.AllowUnexported(config{})); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
}

func TestWriteSeedSetsEveryAPIsAlg(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "seed.json")
	if err := writeSeed(seed.DefaultJSON, out, "ES256"); err != nil {
		t.Fatal(err)
	}
	doc, err := seed.ParseFile(out, "http://127.0.0.1:1")
	if err != nil {
		t.Fatalf("the rewritten seed does not parse: %v", err)
	}
	origDoc, err := seed.Default("http://127.0.0.1:1")
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.ResourceServers) != len(origDoc.ResourceServers) || len(doc.Clients) != len(origDoc.Clients) {
		t.Fatalf("APIs %d clients %d, want the original's %d and %d", len(doc.ResourceServers), len(doc.Clients),
			len(origDoc.ResourceServers), len(origDoc.Clients))
	}
	for i, api := range doc.ResourceServers {
		if api.SigningAlg != "ES256" {
			t.Errorf("API %s signs with %q, want ES256", api.Identifier, api.SigningAlg)
		}
		api.SigningAlg = origDoc.ResourceServers[i].SigningAlg
		if diff := cmp.Diff(origDoc.ResourceServers[i], api); diff != "" {
			t.Errorf("API %s changed beyond its alg (-orig +new):\n%s", api.Identifier, diff)
		}
	}
}

func TestPeakRSSOfThisProcess(t *testing.T) {
	kb, err := vmHWM(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if kb < 1024 {
		t.Errorf("VmHWM %d kB: a Go test binary peaks above 1 MiB", kb)
	}
}

func TestCPUTicksOfThisProcessGrow(t *testing.T) {
	a, err := sampleCPU(0)
	if err != nil {
		t.Fatal(err)
	}
	x := 0
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); {
		for i := range 1_000_000 {
			x ^= i
		}
		b, err := sampleCPU(0)
		if err != nil {
			t.Fatal(err)
		}
		if b.machine < a.machine || b.driver < a.driver {
			t.Fatalf("ticks went back: %+v then %+v", a, b)
		}
		if b.driver > a.driver && b.machine > a.machine {
			return
		}
	}
	t.Errorf("this process's CPU ticks did not grow while it spun for 3 s (x=%d)", x)
}

func TestRunStartsItsOwnDevServer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts the dev server")
	}
	cfg := config{chains: 2, duration: time.Second, maxRequests: 1_000_000, grant: grantRefresh,
		alg: "ES256", scope: "offline_access read:data"}
	rep, err := run(context.Background(), cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if n := rep.errorCount(); n != 0 || rep.Exchanges <= 0 {
		t.Errorf("exchanges %d, errors %v", rep.Exchanges, rep.Errors)
	}
	if rep.Alg != "ES256" {
		t.Errorf("alg %q: the started server's seed was not rewritten to ES256", rep.Alg)
	}
	if rep.ServerPeakRSSMB == nil || *rep.ServerPeakRSSMB < 1 {
		t.Errorf("server peak RSS %v, want the started server's VmHWM", rep.ServerPeakRSSMB)
	}
	if rep.ServerCores == nil || *rep.ServerCores <= 0 {
		t.Errorf("server CPU %v, want the started server's share", rep.ServerCores)
	}
}

func TestDecodeTokenResponseAgreesWithEncodingJSON(t *testing.T) {
	for _, body := range []string{
		`{"access_token":"eyJ.a.b","token_type":"Bearer","expires_in":900,"scope":"read:data","refresh_token":"AbC-_9"}`,
		`{"access_token":"eyJ.a.b","token_type":"Bearer","expires_in":900}`,
		`{"error":"invalid_grant","error_description":"refresh token already used"}`,
		`{"error":"invalid_request","error_description":"say \"hi\""}`,
		`{ "access_token": "spaced", "refresh_token": "r" }`,
		`{"access_token":"esc\u0061ped","refresh_token":"r"}`,
		`{"error_description":"no code","x_access_token":"decoy"}`,
		`{"scope":"a","refresh_token":"r","access_token":"last"}`,
	} {
		var want tokenResponse
		wantErr := json.Unmarshal([]byte(body), &want)
		var got tokenResponse
		err := decodeTokenResponse([]byte(body), &got)
		if (err != nil) != (wantErr != nil) || got != want {
			t.Errorf("decode %s = %+v, %v; encoding/json gives %+v, %v", body, got, err, want, wantErr)
		}
	}
	for _, body := range []string{`{"access_token":"unterminated`, `not json`, ``} {
		var got tokenResponse
		if err := decodeTokenResponse([]byte(body), &got); err == nil {
			t.Errorf("decode %q = %+v, want an error", body, got)
		}
	}
}

func TestSignRate(t *testing.T) {
	for _, alg := range []string{"RS256", "ES256"} {
		rate, err := signRate(context.Background(), alg, 200*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if rate <= 0 {
			t.Errorf("%s: %v signs/s", alg, rate)
		}
	}
	if _, err := signRate(context.Background(), "HS256", time.Millisecond); err == nil {
		t.Error("no error for an algorithm without a signing benchmark")
	}
}
