package awstest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/mrrt-auth/mrrt/shared/testkit/childproc"
)

// InvocationPath is where the emulator takes invocations.
const InvocationPath = "/2015-03-31/functions/function/invocations"

// Function is one bootstrap running under the emulator: one Lambda
// execution environment. The emulator initialises the runtime on the
// first invocation (a cold start) and handles one invocation at a time;
// Invoke serialises callers.
type Function struct {
	// URL is the emulator's invocation endpoint.
	URL string

	proc   *childproc.Process
	out    *lines
	client *http.Client
	mu     sync.Mutex // one invocation at a time, as in one execution environment
}

// FunctionError is a failed invocation: the function returned an error or
// crashed, and the emulator answered with Lambda's error document.
type FunctionError struct {
	Type    string `json:"errorType"`
	Message string `json:"errorMessage"`
	Body    string `json:"-"` // the emulator's whole answer
}

func (e *FunctionError) Error() string {
	return fmt.Sprintf("awstest: function error %s: %s", e.Type, e.Message)
}

// StartFunction runs bootstrap under the emulator binary with exactly env as its
// environment (the emulator hands its environment to the function), both
// of the emulator's addresses on loopback (its defaults listen on all
// interfaces), and waits until it takes invocations.
func StartFunction(ctx context.Context, emulator, bootstrap string, env []string) (*Function, error) {
	var lastErr error
	// A free port can be taken by someone else before the emulator binds
	// it; that shows as an early exit, so try a few.
	for range 3 {
		invokeAddr, err := childproc.FreeAddr()
		if err != nil {
			return nil, err
		}
		runtimeAddr, err := childproc.FreeAddr()
		if err != nil {
			return nil, err
		}
		f := &Function{
			URL:    "http://" + invokeAddr + InvocationPath,
			out:    newLines(),
			client: &http.Client{Timeout: 2 * time.Minute},
		}
		cmd := exec.Command(emulator,
			"--runtime-interface-emulator-address", invokeAddr,
			"--runtime-api-address", runtimeAddr,
			"--log-level", "info", // InitDuration reads an info line
			bootstrap)
		cmd.Env = env
		cmd.Stdout, cmd.Stderr = f.out, f.out
		if f.proc, err = childproc.Start(cmd); err != nil {
			return nil, fmt.Errorf("awstest: start %s: %w", emulator, err)
		}
		if lastErr = f.waitListening(ctx, invokeAddr); lastErr == nil {
			return f, nil
		}
		f.Stop()
	}
	return nil, lastErr
}

func (f *Function) waitListening(ctx context.Context, addr string) error {
	switch err := f.proc.WaitListening(ctx, addr, startTimeout); {
	case errors.Is(err, childproc.ErrExited):
		return fmt.Errorf("awstest: emulator exited at start:\n%s", f.Log())
	case errors.Is(err, childproc.ErrTimeout):
		return fmt.Errorf("awstest: emulator not listening on %s after %v:\n%s", addr, startTimeout, f.Log())
	default:
		return err
	}
}

// Invocation is one invocation's result.
type Invocation struct {
	Response events.APIGatewayV2HTTPResponse
	Raw      []byte        // the emulator's answer
	Elapsed  time.Duration // as the caller sees it; includes init on a cold start
}

// Invoke sends event (an API Gateway v2 payload) and decodes the answer.
// A function error comes back from the emulator as HTTP 200 with an
// errorType in the body: Invoke returns it as *FunctionError.
func (f *Function) Invoke(ctx context.Context, event []byte) (*Invocation, error) {
	inv, err := f.InvokeRaw(ctx, event)
	if err != nil {
		return inv, err
	}
	if err := json.Unmarshal(inv.Raw, &inv.Response); err != nil {
		return inv, fmt.Errorf("awstest: answer is not an API Gateway v2 response: %v: %s", err, inv.Raw)
	}
	if inv.Response.StatusCode == 0 {
		return inv, fmt.Errorf("awstest: answer without statusCode: %s", inv.Raw)
	}
	return inv, nil
}

// InvokeRaw is Invoke for any event, such as an authorizer's: the answer
// is left in Raw, undecoded.
func (f *Function) InvokeRaw(ctx context.Context, event []byte) (*Invocation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.URL, bytes.NewReader(event))
	if err != nil {
		return nil, err
	}
	start := time.Now()
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("awstest: invoke: %w\n%s", err, f.Log())
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	inv := &Invocation{Raw: raw, Elapsed: time.Since(start)}
	if err != nil {
		return inv, fmt.Errorf("awstest: read invocation answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return inv, fmt.Errorf("awstest: emulator answered %d: %s\n%s", resp.StatusCode, raw, f.Log())
	}
	var fe FunctionError
	if json.Unmarshal(raw, &fe) == nil && fe.Type != "" {
		fe.Body = string(raw)
		return inv, &fe
	}
	return inv, nil
}

// initReport is the emulator's line once the runtime has initialised (the
// process started and asked for its first event). Its REPORT line's "Init
// Duration" only times handing the init over, so this one is read.
var initReport = regexp.MustCompile(`INIT REPORT\(durationMs: ([0-9.]+)\)`)

// InitDuration waits for the emulator's report of the cold start's init
// (after the first invocation has begun) and returns it.
func (f *Function) InitDuration(ctx context.Context) (time.Duration, error) {
	m, err := f.WaitLog(ctx, initReport)
	if err != nil {
		return 0, err
	}
	ms, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, err
	}
	return time.Duration(ms * float64(time.Millisecond)), nil
}

// WaitLog waits until a line of the emulator's output (which includes the
// function's) matches re and returns the submatches.
func (f *Function) WaitLog(ctx context.Context, re *regexp.Regexp) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for {
		// Take the notification channel before reading the lines: a line
		// written in between closes this channel, so it is never missed.
		changed := f.out.changed()
		for _, l := range f.Lines() {
			if m := re.FindStringSubmatch(l); m != nil {
				return m, nil
			}
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("awstest: no log line matches %s:\n%s", re, f.Log())
		case <-changed:
		}
	}
}

// WaitLines waits until n lines of the emulator's output match re (say,
// one REPORT line per finished invocation) and returns all lines so far.
func (f *Function) WaitLines(ctx context.Context, re *regexp.Regexp, n int) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	for {
		changed := f.out.changed()
		all := f.Lines()
		seen := 0
		for _, l := range all {
			if re.MatchString(l) {
				seen++
			}
		}
		if seen >= n {
			return all, nil
		}
		select {
		case <-ctx.Done():
			return all, fmt.Errorf("awstest: %d of %d log lines match %s:\n%s", seen, n, re, f.Log())
		case <-f.Exited():
			return all, fmt.Errorf("awstest: emulator exited:\n%s", f.Log())
		case <-changed:
		}
	}
}

// RuntimePID returns the process id of the emulator's child running
// bootstrap: the function's own process, whose CPU time and memory the
// emulator's REPORT lines do not measure.
func (f *Function) RuntimePID(bootstrap string) (int, error) {
	tasks, err := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", f.PID()))
	if err != nil {
		return 0, err
	}
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		for _, pid := range strings.Fields(string(b)) {
			if exe, err := os.Readlink("/proc/" + pid + "/exe"); err == nil && exe == bootstrap {
				return strconv.Atoi(pid)
			}
		}
	}
	return 0, fmt.Errorf("awstest: no runtime process %s under the emulator (pid %d)", bootstrap, f.PID())
}

// PID is the emulator's process id (the function's runtime is its child).
func (f *Function) PID() int { return f.proc.Cmd.Process.Pid }

// Lines returns the output lines so far: the emulator's and the function's.
func (f *Function) Lines() []string { return f.out.all() }

// JSONLines returns the function's JSON log lines so far, decoded.
func (f *Function) JSONLines() []map[string]any {
	var out []map[string]any
	for _, l := range f.Lines() {
		if !strings.HasPrefix(l, "{") {
			continue
		}
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil {
			out = append(out, m)
		}
	}
	return out
}

// Log is the output so far, as one string.
func (f *Function) Log() string { return strings.Join(f.Lines(), "\n") }

// Stop ends the emulator and its runtime process: SIGINT, then SIGKILL if
// it lingers.
func (f *Function) Stop() { f.proc.Stop(syscall.SIGINT, 5*time.Second) }

// Exited is closed when the emulator has exited.
func (f *Function) Exited() <-chan struct{} { return f.proc.Exited() }

// lines collects written output line by line (bounded), and signals each
// new line.
type lines struct {
	mu      sync.Mutex
	partial []byte
	done    []string
	notify  chan struct{}
}

const maxLines = 20000

func newLines() *lines { return &lines{notify: make(chan struct{})} }

func (l *lines) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, b...)
	consumed := 0
	for {
		i := bytes.IndexByte(l.partial[consumed:], '\n')
		if i < 0 {
			break
		}
		l.done = append(l.done, string(l.partial[consumed:consumed+i]))
		consumed += i + 1
	}
	if consumed > 0 {
		l.partial = append(l.partial[:0], l.partial[consumed:]...)
		if over := len(l.done) - maxLines; over > 0 {
			l.done = append(l.done[:0], l.done[over:]...)
		}
		close(l.notify)
		l.notify = make(chan struct{})
	}
	return len(b), nil
}

func (l *lines) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.done...)
}

func (l *lines) changed() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.notify
}
