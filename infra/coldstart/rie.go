package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/mrrt-auth/mrrt/shared/testkit/awsstack"
	"github.com/mrrt-auth/mrrt/shared/testkit/awstest"
)

// The emulator's log lines a run reads (aws-lambda-rie, internal/lambda).
// Its REPORT line's "Init Duration" only times handing the init to the
// sandbox, which is asynchronous; the real init (runtime process started
// until it asks for its first event) is rapid's INIT REPORT line.
var (
	initReport  = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`)
	invokeDone  = regexp.MustCompile(`INVOKE RTDONE\(status: ([a-z]+),.* duration: ([0-9.]+)ms\)`)
	endReport   = regexp.MustCompile(`^REPORT RequestId: `)
	functionErr = regexp.MustCompile(`"level":"ERROR"`)
)

// sample is one cold start.
type sample struct {
	initMS        float64 // runtime process start until its first /next
	firstInvokeMS float64 // first invocation inside the runtime
	firstRespMS   float64 // first invocation as the caller sees it, init included
	warmInvokeMS  float64 // second invocation inside the runtime
	peakRSSKB     int64   // the runtime process's VmHWM after both invocations
	status        int     // HTTP status in the function's first response
	errorLog      string  // the first ERROR line the function logged, if any
}

// coldStart starts the emulator with bootstrap, sends event twice and
// reads the timings from the emulator's log.
func coldStart(ctx context.Context, emulator, bootstrap string, env []string, event []byte) (sample, error) {
	var s sample
	f, err := awstest.StartFunction(ctx, emulator, bootstrap, env)
	if err != nil {
		return s, err
	}
	defer f.Stop()

	// The emulator starts the runtime on the first invocation.
	first, err := f.Invoke(ctx, event)
	if err != nil {
		return s, fmt.Errorf("first invocation: %w", err)
	}
	s.firstRespMS = float64(first.Elapsed.Microseconds()) / 1000
	s.status = first.Response.StatusCode
	if _, err := f.WaitLines(ctx, endReport, 1); err != nil {
		return s, err
	}
	if _, err := f.Invoke(ctx, event); err != nil {
		return s, fmt.Errorf("second invocation: %w", err)
	}
	lines, err := f.WaitLines(ctx, endReport, 2)
	if err != nil {
		return s, err
	}
	if s.peakRSSKB, err = runtimePeakRSS(f, bootstrap); err != nil {
		return s, err
	}
	if err := parseLog(&s, lines); err != nil {
		return s, fmt.Errorf("%w:\n%s", err, f.Log())
	}
	return s, nil
}

// parseLog reads a run's init and invocation durations, and the first
// ERROR line the function logged, from the emulator's output.
func parseLog(s *sample, lines []string) error {
	var initSeen bool
	var durations []float64
	for _, l := range lines {
		if m := initReport.FindStringSubmatch(l); m != nil {
			s.initMS, _ = strconv.ParseFloat(m[1], 64)
			initSeen = true
		}
		if m := invokeDone.FindStringSubmatch(l); m != nil {
			if m[1] != "success" {
				return fmt.Errorf("invocation status %s", m[1])
			}
			d, _ := strconv.ParseFloat(m[2], 64)
			durations = append(durations, d)
		}
		if s.errorLog == "" && functionErr.MatchString(l) {
			s.errorLog = l
		}
	}
	if !initSeen || len(durations) != 2 {
		return fmt.Errorf("emulator log without INIT REPORT and two INVOKE RTDONE lines")
	}
	s.firstInvokeMS, s.warmInvokeMS = durations[0], durations[1]
	return nil
}

// runtimePeakRSS returns the peak resident set (VmHWM, kB) of the
// function's runtime process: the function's memory, which the emulator's
// own REPORT line does not measure (it repeats the configured size).
func runtimePeakRSS(f *awstest.Function, bootstrap string) (int64, error) {
	pid, err := f.RuntimePID(bootstrap)
	if err != nil {
		return 0, err
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
		}
	}
	return 0, fmt.Errorf("no VmHWM for process %d", pid)
}

// The seed's bootstrap admin client (shared/runtime/seed/default.json).
const (
	adminClientID     = "admin-cli"
	adminClientSecret = "admin-cli-secret-change-me"
)

func mintAdminToken(ctx context.Context, emulator, tokenBootstrap string, env []string) (string, error) {
	f, err := awstest.StartFunction(ctx, emulator, tokenBootstrap, env)
	if err != nil {
		return "", err
	}
	defer f.Stop()
	event, err := awstest.TokenEvent(url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {adminClientID},
		"client_secret": {adminClientSecret},
		"audience":      {awsstack.Issuer + "/api/v2/"},
	}, "coldstart-admin-token")
	if err != nil {
		return "", err
	}
	inv, err := f.Invoke(ctx, event)
	if err != nil {
		return "", fmt.Errorf("admin token: %w", err)
	}
	status, body := inv.Response.StatusCode, inv.Response.Body
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal([]byte(body), &tok); status != http.StatusOK || err != nil || tok.AccessToken == "" {
		return "", fmt.Errorf("admin token: token function answered %d: %.300s", status, body)
	}
	return tok.AccessToken, nil
}

// withBearer returns event with its Authorization header (any case)
// replaced by a bearer token.
func withBearer(event []byte, token string) ([]byte, error) {
	var ev map[string]any
	if err := json.Unmarshal(event, &ev); err != nil {
		return nil, fmt.Errorf("event: %w", err)
	}
	headers, _ := ev["headers"].(map[string]any)
	if headers == nil {
		headers = map[string]any{}
	}
	for k := range headers {
		if strings.EqualFold(k, "authorization") {
			delete(headers, k)
		}
	}
	headers["authorization"] = "Bearer " + token
	ev["headers"] = headers
	return json.Marshal(ev)
}
