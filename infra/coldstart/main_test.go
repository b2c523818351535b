package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// rieLog is the output of aws-lambda-rie for one cold start and one warm
// invocation of a function (abridged: timestamps and ids as it prints them).
var rieLog = strings.Split(`26 Nov 2026 11:07:36,543 [INFO] (rapid) exec '/tmp/x/token/bootstrap' (cwd=/tmp/x, handler=)
START RequestId: cb722b3c-b2d4-430c-a88a-19a99d464955 Version: $LATEST
26 Nov 2026 11:07:37,048 [INFO] (rapid) INIT START(type: on-demand, phase: init)
26 Nov 2026 11:07:37,048 [INFO] (rapid) The extension's directory "/opt/extensions" does not exist, assuming no extensions to be loaded.
{"time":"2026-11-26T11:07:37.187996598Z","level":"ERROR","msg":"kmssigner: keys not loaded"}
26 Nov 2026 11:07:37,189 [INFO] (rapid) INIT RTDONE(status: success)
26 Nov 2026 11:07:37,189 [INFO] (rapid) INIT REPORT(durationMs: 140.629000)
26 Nov 2026 11:07:37,189 [INFO] (rapid) INVOKE START(requestId: cb722b3c-b2d4-430c-a88a-19a99d464955)
{"time":"2026-11-26T11:07:37.189937533Z","level":"INFO","msg":"request","status":200}
26 Nov 2026 11:07:37,190 [INFO] (rapid) INVOKE RTDONE(status: success, produced bytes: 0, duration: 1.303000ms)
END RequestId: cb722b3c-b2d4-430c-a88a-19a99d464955
REPORT RequestId: cb722b3c-b2d4-430c-a88a-19a99d464955	Init Duration: 0.63 ms	Duration: 142.21 ms	Billed Duration: 143 ms	Memory Size: 3008 MB	Max Memory Used: 3008 MB	
START RequestId: ebe41d86-b1c7-4e7b-bd05-ab8e53192364 Version: $LATEST
26 Nov 2026 11:07:37,200 [INFO] (rapid) INVOKE START(requestId: ebe41d86-b1c7-4e7b-bd05-ab8e53192364)
26 Nov 2026 11:07:37,201 [INFO] (rapid) INVOKE RTDONE(status: success, produced bytes: 0, duration: 0.812000ms)
END RequestId: ebe41d86-b1c7-4e7b-bd05-ab8e53192364
REPORT RequestId: ebe41d86-b1c7-4e7b-bd05-ab8e53192364	Duration: 1.01 ms	Billed Duration: 2 ms	Memory Size: 3008 MB	Max Memory Used: 3008 MB	`, "\n")

func TestParseLog(t *testing.T) {
	t.Run("init comes from rapid's INIT REPORT, not the REPORT line's asynchronous Init Duration", func(t *testing.T) {
		var s sample
		if err := parseLog(&s, rieLog); err != nil {
			t.Fatal(err)
		}
		want := sample{initMS: 140.629, firstInvokeMS: 1.303, warmInvokeMS: 0.812,
			errorLog: `{"time":"2026-11-26T11:07:37.187996598Z","level":"ERROR","msg":"kmssigner: keys not loaded"}`}
		if diff := cmp.Diff(want, s, cmp.AllowUnexported(sample{})); diff != "" {
			t.Errorf("(-want +got):\n%s", diff)
		}
	})
	t.Run("a failed invocation is an error", func(t *testing.T) {
		lines := append([]string(nil), rieLog...)
		for i, l := range lines {
			lines[i] = strings.Replace(l, "RTDONE(status: success, produced", "RTDONE(status: error, produced", 1)
		}
		var s sample
		if err := parseLog(&s, lines); err == nil {
			t.Error("no error for an invocation with status error")
		}
	})
	t.Run("a log without the init report is an error", func(t *testing.T) {
		var lines []string
		for _, l := range rieLog {
			if !strings.Contains(l, "INIT REPORT") {
				lines = append(lines, l)
			}
		}
		var s sample
		if err := parseLog(&s, lines); err == nil {
			t.Error("no error without INIT REPORT")
		}
	})
}

func TestEventFor(t *testing.T) {
	for _, tc := range []struct {
		name, fn string
		want     bool
	}{
		{"token-client-credentials.json", "token", true},
		{"token_refresh_switch.json", "token", true},
		{"token-bad-request.json", "token", false},
		{"token-invalid-grant.json", "token", false},
		{"tokens.json", "token", false},
		{"policy-admin-list-clients.json", "policy-admin", true},
		{"policy-admin-unauthorized.json", "policy-admin", false},
		{"policy-admin-list.json", "token", false},
		{"authorize-login-page.json", "authorize", true},
		{"authorize.json", "authorize", true},
	} {
		if got := eventFor(tc.name, tc.fn); got != tc.want {
			t.Errorf("eventFor(%q, %q) = %v, want %v", tc.name, tc.fn, got, tc.want)
		}
	}
}

func TestChooseEvents(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "events")
	os.Mkdir(dir, 0o755)
	for _, n := range []string{"token-bad-request.json", "token-admin-client-credentials.json", "token-client-credentials.json",
		"authorize-login-page.json", "policy-admin-list.json", "README.md"} {
		os.WriteFile(filepath.Join(dir, n), []byte("{}"), 0o644)
	}
	got, err := chooseEvents(root, config{eventsDir: "events", events: map[string]string{"authorize": "mine.json"}})
	if err != nil {
		t.Fatal(err)
	}
	// token: the preferred event although another sorts first;
	// policy-admin: no preferred event, so the first success case.
	want := map[string]string{
		"authorize":    "mine.json",
		"token":        filepath.Join("events", "token-client-credentials.json"),
		"policy-admin": filepath.Join("events", "policy-admin-list.json"),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	os.Remove(filepath.Join(dir, "policy-admin-list.json"))
	if _, err := chooseEvents(root, config{eventsDir: "events"}); err == nil || !strings.Contains(err.Error(), "policy-admin") {
		t.Errorf("no event for policy-admin: err = %v", err)
	}
}

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		xs   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{3}, 3},
		{[]float64{9, 1, 5}, 5},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{1.2, 1.3}, 1.25},
		{[]float64{1.004, 1.006, 1.001}, 1},
	} {
		if got := median(tc.xs); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.xs, got, tc.want)
		}
	}
}

func TestWithBearerReplacesAnyAuthorizationHeader(t *testing.T) {
	ev := []byte(`{"version":"2.0","headers":{"Authorization":"Bearer old","host":"h"},"body":"x"}`)
	out, err := withBearer(ev, "new")
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	json.Unmarshal(out, &got)
	want := map[string]any{"version": "2.0", "headers": map[string]any{"authorization": "Bearer new", "host": "h"}, "body": "x"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestParseFlags(t *testing.T) {
	cfg, err := parseFlags([]string{"-runs", "7", "-event-token", "t.json"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.runs != 7 || cfg.events["token"] != "t.json" || !cfg.adminToken || cfg.eventsDir != "events" {
		t.Errorf("parsed %+v", cfg)
	}
	for _, args := range [][]string{{"-runs", "0"}, {"-runs", "51"}, {"extra"}} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("parseFlags(%q): no error", args)
		}
	}
}

// TestColdStartUnderTheEmulator runs the whole measurement once per
// function: builds, moto_server, local-kms, aws-lambda-rie.
func TestColdStartUnderTheEmulator(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the functions and starts the emulators")
	}
	if _, err := exec.LookPath("moto_server"); err != nil {
		if os.Getenv("MRRT_SKIP_AWS") == "1" {
			t.Skip("SKIPPING AWS EMULATOR TEST (MRRT_SKIP_AWS=1): moto_server is not on PATH")
		}
		t.Fatal("moto_server is not on PATH (set MRRT_SKIP_AWS=1 to skip the AWS emulator tests instead)")
	}
	abs := func(n string) string {
		p, err := filepath.Abs(filepath.Join("testdata", n))
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	cfg := config{runs: 1, adminToken: true, events: map[string]string{
		"authorize":    abs("authorize-login-page.json"),
		"token":        abs("token-client-credentials.json"),
		"policy-admin": abs("policy-admin-list.json"),
	}}
	reps, err := run(context.Background(), cfg, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if len(reps) != len(functions) {
		t.Fatalf("%d reports, want %d", len(reps), len(functions))
	}
	for _, r := range reps {
		// The login page, a client-credentials token, and the client list
		// with the minted admin token: all succeed.
		if r.Status != 200 {
			t.Errorf("%s answered %d, want 200", r.Function, r.Status)
		}
		if r.InitMS <= 0 || r.FirstInvokeMS <= 0 || r.WarmInvokeMS <= 0 || r.FirstRespMS < r.InitMS {
			t.Errorf("%s: implausible timings %+v", r.Function, r)
		}
		if r.PeakRSSMB < 1 || r.PeakRSSMB > 1024 {
			t.Errorf("%s: runtime peak RSS %v MiB", r.Function, r.PeakRSSMB)
		}
		if r.SizeBytes < 1<<20 || r.SizeArm64Bytes < 1<<20 {
			t.Errorf("%s: sizes %d / %d bytes", r.Function, r.SizeBytes, r.SizeArm64Bytes)
		}
	}
}

func TestCheckStatus(t *testing.T) {
	for _, tc := range []struct {
		name         string
		before, now  int
		wantErrorMsg string
	}{
		{"a first 200 is accepted", 0, 200, ""},
		{"a redirect is accepted", 0, 302, ""},
		{"the same status again is accepted", 200, 200, ""},
		{"a 400 measures a refusal and is refused", 0, 400, "answered 400"},
		{"a 401 is refused", 0, 401, "answered 401"},
		{"a status that changes between runs is refused", 200, 302, "earlier 200"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &report{Function: "token", Event: "e.json", Status: tc.before}
			err := r.checkStatus(tc.now)
			if tc.wantErrorMsg == "" && err != nil || tc.wantErrorMsg != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErrorMsg)) {
				t.Errorf("checkStatus(%d) after %d = %v, want error containing %q", tc.now, tc.before, err, tc.wantErrorMsg)
			}
		})
	}
}
