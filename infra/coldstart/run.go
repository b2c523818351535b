package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/mrrt-auth/mrrt/shared/runtime/local"
	"github.com/mrrt-auth/mrrt/shared/testkit/awsstack"
	"github.com/mrrt-auth/mrrt/shared/testkit/awstest"
)

// report is the JSON line of one function.
type report struct {
	Function string `json:"function"`
	Event    string `json:"event"`  // the event file, relative to the repository
	Status   int    `json:"status"` // HTTP status of the function's first response
	Runs     int    `json:"runs"`
	Arch     string `json:"arch"` // of the measured bootstrap
	// Medians over the runs, in milliseconds.
	InitMS        float64 `json:"init_ms"`
	FirstInvokeMS float64 `json:"first_invoke_ms"`
	FirstRespMS   float64 `json:"first_response_ms"`
	WarmInvokeMS  float64 `json:"warm_invoke_ms"`
	// PeakRSSMB is the runtime process's peak resident set after the two
	// invocations, in MiB (median).
	PeakRSSMB float64 `json:"peak_rss_mb"`
	// Every run's init and first invoke, in order.
	InitRunsMS        []float64 `json:"init_runs_ms"`
	FirstInvokeRunsMS []float64 `json:"first_invoke_runs_ms"`
	// Bootstrap sizes in bytes: the measured one and linux/arm64 (deployed).
	SizeBytes      int64 `json:"size_bytes"`
	SizeArm64Bytes int64 `json:"size_arm64_bytes"`
	// ErrorLog is the first ERROR line the function logged in any run.
	ErrorLog string `json:"error_log,omitempty"`
}

func (r *report) human() string {
	mib := func(n int64) float64 { return float64(n) / (1 << 20) }
	s := fmt.Sprintf("%-12s init %6.1f ms, first invoke %6.1f ms (first response %6.1f ms), warm invoke %5.1f ms; peak RSS %.1f MiB; bootstrap %.2f MiB (%s), %.2f MiB (arm64); %d runs, event %s -> %d",
		r.Function, r.InitMS, r.FirstInvokeMS, r.FirstRespMS, r.WarmInvokeMS, r.PeakRSSMB,
		mib(r.SizeBytes), r.Arch, mib(r.SizeArm64Bytes), r.Runs, r.Event, r.Status)
	if r.ErrorLog != "" {
		s += "\n  the function logged an error: " + r.ErrorLog
	}
	return s
}

func run(ctx context.Context, cfg config, logw io.Writer) ([]*report, error) {
	root, err := awstest.ModuleRoot(ctx)
	if err != nil {
		return nil, err
	}
	events, err := chooseEvents(root, cfg)
	if err != nil {
		return nil, err
	}
	eventData := map[string][]byte{}
	for fn, path := range events {
		if !filepath.IsAbs(path) {
			path = filepath.Join(root, path)
		}
		if eventData[fn], err = os.ReadFile(path); err != nil {
			return nil, err
		}
	}
	dir, err := os.MkdirTemp("", "mrrt-coldstart-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)

	fmt.Fprintf(logw, "coldstart: building the bootstraps (linux/%s and linux/arm64)...\n", hostArch())
	bootstraps, err := awstest.BuildBootstraps(ctx, root, dir, hostArch(), local.Functions)
	if err != nil {
		return nil, err
	}
	arm64 := bootstraps
	if hostArch() != "arm64" {
		if arm64, err = awstest.BuildBootstraps(ctx, root, dir, "arm64", local.Functions); err != nil {
			return nil, err
		}
	}
	reps := make([]*report, len(functions))
	for i, fn := range functions {
		r := &report{Function: fn, Event: events[fn], Runs: cfg.runs, Arch: hostArch()}
		if r.SizeBytes, err = fileSize(bootstraps[local.Function(fn)]); err != nil {
			return nil, err
		}
		if r.SizeArm64Bytes, err = fileSize(arm64[local.Function(fn)]); err != nil {
			return nil, err
		}
		reps[i] = r
	}
	emulator := cfg.rie
	if emulator == "" {
		if emulator, err = awstest.InstallEmulator(ctx, dir); err != nil {
			return nil, err
		}
	}

	fmt.Fprintln(logw, "coldstart: starting moto_server and local-kms...")
	defer awstest.RemoveBuilt()
	st, err := awsstack.Start(ctx, dir)
	if err != nil {
		return nil, err
	}
	defer st.Stop()
	if cfg.adminToken {
		tok, err := mintAdminToken(ctx, emulator, bootstraps[local.Token], st.FunctionEnv(dir, string(local.Token)))
		if err != nil {
			return nil, err
		}
		if eventData["policy-admin"], err = withBearer(eventData["policy-admin"], tok); err != nil {
			return nil, err
		}
	}

	for _, r := range reps {
		event := eventData[r.Function]
		var inits, firsts, resps, warms, rss []float64
		for i := range cfg.runs {
			fn := local.Function(r.Function)
			s, err := coldStart(ctx, emulator, bootstraps[fn], st.FunctionEnv(dir, r.Function), event)
			if err != nil {
				return nil, fmt.Errorf("%s, run %d: %w", r.Function, i+1, err)
			}
			if err := r.checkStatus(s.status); err != nil {
				return nil, err
			}
			r.Status = s.status
			inits, firsts = append(inits, s.initMS), append(firsts, s.firstInvokeMS)
			resps, warms = append(resps, s.firstRespMS), append(warms, s.warmInvokeMS)
			rss = append(rss, float64(s.peakRSSKB)/1024)
			if r.ErrorLog == "" {
				r.ErrorLog = s.errorLog
			}
		}
		r.InitRunsMS, r.FirstInvokeRunsMS = inits, firsts
		r.InitMS, r.FirstInvokeMS = median(inits), median(firsts)
		r.FirstRespMS, r.WarmInvokeMS = median(resps), median(warms)
		r.PeakRSSMB = median(rss)
		fmt.Fprintf(logw, "coldstart: %s done\n", r.Function)
	}
	return reps, nil
}

func fileSize(path string) (int64, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// hostArch is the architecture the bootstraps are run on here.
func hostArch() string { return runtime.GOARCH }

// checkStatus refuses an error response (the event then measures a
// refusal, not the path it is meant to) and a status that differs from
// the earlier runs'.
func (r *report) checkStatus(status int) error {
	if status >= 400 {
		return fmt.Errorf("%s: event %s answered %d: not the path to measure (name another with -event-%s)",
			r.Function, r.Event, status, r.Function)
	}
	if r.Status != 0 && status != r.Status {
		return fmt.Errorf("%s: event %s answered %d, earlier %d", r.Function, r.Event, status, r.Status)
	}
	return nil
}

// preferredEvents are the events measured by default: the login page, a
// client-credentials token and the list of applications (with a fresh
// admin token, see mintAdminToken).
var preferredEvents = map[string]string{
	"authorize":    "authorize-login-page.json",
	"token":        "token-client-credentials.json",
	"policy-admin": "policy-admin-list-clients.json",
}

// chooseEvents picks each function's event: the -event-<fn> flag, else its
// preferred event, else the first file (by name) in the events directory
// that starts with the function's name and does not look like a failure
// case.
func chooseEvents(root string, cfg config) (map[string]string, error) {
	out := map[string]string{}
	var names []string
	if entries, err := os.ReadDir(filepath.Join(root, cfg.eventsDir)); err == nil {
		for _, e := range entries {
			if !e.IsDir() && strings.HasSuffix(e.Name(), ".json") {
				names = append(names, e.Name())
			}
		}
	}
	slices.Sort(names)
	for _, fn := range functions {
		if f, ok := cfg.events[fn]; ok {
			out[fn] = f
			continue
		}
		if slices.Contains(names, preferredEvents[fn]) {
			out[fn] = filepath.Join(cfg.eventsDir, preferredEvents[fn])
			continue
		}
		for _, n := range names {
			if eventFor(n, fn) {
				out[fn] = filepath.Join(cfg.eventsDir, n)
				break
			}
		}
		if out[fn] == "" {
			return nil, fmt.Errorf("no event for %s in %s (name one with -event-%s)", fn, cfg.eventsDir, fn)
		}
	}
	return out, nil
}

// eventFor reports whether the event file name is a success case of fn.
func eventFor(name, fn string) bool {
	rest, ok := strings.CutPrefix(name, fn)
	if !ok || rest == "" || (rest[0] != '-' && rest[0] != '_' && rest[0] != '.') {
		return false // "token" must not match "token-policy..." of another function's name; "policy-admin" not "policy"
	}
	for _, bad := range []string{"bad", "invalid", "error", "fail", "unauthorized", "denied"} {
		if strings.Contains(rest, bad) {
			return false
		}
	}
	return true
}

// median of xs (the mean of the middle two for an even count), rounded
// to 0.01.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	m := s[len(s)/2]
	if len(s)%2 == 0 {
		m = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return math.Round(m*100) / 100
}
