// Package awstest starts AWS-compatible servers on loopback for tests
// (moto for DynamoDB, our infra/localkms wrapper for KMS) and provides SDK
// middleware that counts requests and injects faults. Import it from
// _test.go files only.
package awstest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mrrt-auth/mrrt/shared/testkit/childproc"
)

// ExternalEndpoint names an environment variable: when set (e.g. to
// LocalStack's http://localhost:4566 in CI), StartMoto and StartKMS return
// it instead of starting emulators, so the same tests run against it.
const ExternalEndpoint = "MRRT_AWS_ENDPOINT"

// MotoInstall is how to get moto_server when it is missing.
const MotoInstall = "pip install 'moto[server]==5.2.1'"

// startTimeout bounds how long a server may take to accept requests; moto
// is a Python program and starts in about a second on an idle machine.
const startTimeout = 30 * time.Second

// Main runs the tests of a package that uses StartKMS and then removes the
// emulator binary it built. Use it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }
func Main(m *testing.M) int {
	code := m.Run()
	build.mu.Lock()
	defer build.mu.Unlock()
	if build.dir != "" {
		os.RemoveAll(build.dir)
	}
	return code
}

// missing fails the test because a server program is not installed, or
// skips it, loudly, when MRRT_SKIP_AWS=1: a silent skip in CI would hide
// that the AWS adapters were never tested.
func missing(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("MRRT_SKIP_AWS") == "1" {
		t.Skipf("SKIPPING AWS EMULATOR TEST (MRRT_SKIP_AWS=1): %s", msg)
	}
	t.Fatalf("%s (set MRRT_SKIP_AWS=1 to skip the AWS emulator tests instead)", msg)
}

// StartMoto runs moto_server on a free 127.0.0.1 port until the test ends
// and returns the endpoint to use ("http://127.0.0.1:PORT"). moto serves
// every service on one port; the tests use it for DynamoDB.
//
// The endpoint is a loopback proxy that passes one request at a time:
// moto handles requests on threads and its conditional writes are not
// atomic across them (two concurrent conditional UpdateItems of one item
// can both succeed), whereas DynamoDB applies every single-item write and
// every transaction atomically. Serialized, moto keeps that guarantee;
// concurrent callers still interleave request by request.
func StartMoto(t testing.TB) string {
	t.Helper()
	if ep := os.Getenv(ExternalEndpoint); ep != "" {
		return ep
	}
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		missing(t, "moto_server is not on PATH; install it with: "+MotoInstall)
		return ""
	}
	// -p 0: moto binds a free port itself and announces it, so two test
	// binaries starting servers at once can never share a port (picking a
	// port first and passing it races, and the loser's ready check would
	// reach the winner's server).
	p, err := startProcess(t, "moto_server", bin, "-H", "127.0.0.1", "-p", "0")
	if err != nil {
		t.Fatalf("awstest: start moto_server: %v", err)
	}
	var endpoint string
	select {
	case endpoint = <-p.announced:
	case <-p.proc.Exited():
		t.Fatalf("awstest: moto_server exited at start:\n%s", p.log.String())
	case <-time.After(startTimeout):
		p.stop()
		t.Fatalf("awstest: moto_server did not start within %v:\n%s", startTimeout, p.log.String())
	}
	if err := p.waitReady(endpoint + "/moto-api/"); err != nil {
		p.stop()
		t.Fatalf("awstest: moto_server: %v", err)
	}
	t.Cleanup(p.stopAndReport(t))
	return serialize(t, endpoint)
}

// StartKMS runs the loopback-only local-kms wrapper (infra/localkms) on a
// free 127.0.0.1 port with its key database in a temporary directory, until
// the test ends, and returns its endpoint. The wrapper is built once per
// test binary with the go command, unless LOCAL_KMS_BIN names a prebuilt
// one.
func StartKMS(t testing.TB) string {
	t.Helper()
	if ep := os.Getenv(ExternalEndpoint); ep != "" {
		return ep
	}
	bin := os.Getenv("LOCAL_KMS_BIN")
	if bin == "" {
		var err error
		if bin, err = buildLocalKMS(); err != nil {
			t.Fatalf("awstest: %v", err)
		}
	}
	p, err := startProcess(t, "localkms", bin, "-addr", "127.0.0.1:0", "-data", t.TempDir())
	if err != nil {
		t.Fatalf("awstest: start localkms: %v", err)
	}
	select {
	case endpoint := <-p.announced:
		t.Cleanup(p.stopAndReport(t))
		return endpoint
	case <-p.proc.Exited():
		t.Fatalf("awstest: localkms exited at start:\n%s", p.log.String())
	case <-time.After(startTimeout):
		p.stop()
		t.Fatalf("awstest: localkms did not start within %v:\n%s", startTimeout, p.log.String())
	}
	return ""
}

// serialize starts a loopback reverse proxy to backend that handles one
// request at a time, until the test ends, and returns its URL.
func serialize(t testing.TB, backend string) string {
	target, err := url.Parse(backend)
	if err != nil {
		t.Fatalf("awstest: %v", err)
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.Host = r.In.Host
		},
	}
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// localKMSPackage is the wrapper StartKMS builds.
const localKMSPackage = "github.com/mrrt-auth/mrrt/infra/localkms"

var build struct {
	mu   sync.Mutex
	dir  string
	bin  string
	err  error
	done bool
}

func buildLocalKMS() (string, error) {
	build.mu.Lock()
	defer build.mu.Unlock()
	if build.done {
		return build.bin, build.err
	}
	build.done = true
	dir, err := os.MkdirTemp("", "awstest-localkms-")
	if err != nil {
		build.err = err
		return "", err
	}
	build.dir = dir
	bin := filepath.Join(dir, "localkms")
	out, err := exec.Command(childproc.GoCommand(), "build", "-o", bin, localKMSPackage).CombinedOutput()
	if err != nil {
		build.err = fmt.Errorf("go build %s: %v\n%s", localKMSPackage, err, out)
		return "", build.err
	}
	build.bin = bin
	return bin, nil
}

// process is a server started for one test.
type process struct {
	name      string
	proc      *childproc.Process
	log       *childproc.Tail
	announced chan string // the endpoint from a "listening on URL" line
}

func startProcess(t testing.TB, name, bin string, args ...string) (*process, error) {
	p := &process{
		name:      name,
		log:       childproc.NewTail(4 << 10),
		announced: make(chan string, 1),
	}
	cmd := exec.Command(bin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if p.proc, err = childproc.Start(cmd); err != nil {
		return nil, err
	}
	go p.scan(stdout)
	go p.scan(stderr)
	return p, nil
}

// scan copies the server's output to its log and reports the endpoint it
// announces: "listening on URL" (infra/localkms) or "* Running on URL"
// (moto_server, which picks a free port itself when given -p 0).
func (p *process) scan(r io.Reader) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		trimmed := strings.TrimSpace(line)
		for _, prefix := range []string{"listening on ", "* Running on "} {
			if url, ok := strings.CutPrefix(trimmed, prefix); ok {
				select {
				case p.announced <- url:
				default:
				}
			}
		}
		fmt.Fprintln(p.log, line)
	}
	io.Copy(io.Discard, r)
}

// waitReady polls url until the server answers or gives up.
func (p *process) waitReady(url string) error {
	client := &http.Client{Timeout: time.Second}
	err := p.proc.Poll(context.Background(), startTimeout, 50*time.Millisecond, childproc.Answers(client, url, 0))
	switch {
	case errors.Is(err, childproc.ErrExited):
		return fmt.Errorf("%s exited at start:\n%s", p.name, p.log.String())
	case err != nil:
		return fmt.Errorf("%s did not answer within %v:\n%s", p.name, startTimeout, p.log.String())
	}
	return nil
}

// stop ends the server: SIGINT first (both servers exit cleanly on it),
// then SIGKILL if it lingers.
func (p *process) stop() { p.proc.Stop(syscall.SIGINT, 5*time.Second) }

func (p *process) stopAndReport(t testing.TB) func() {
	return func() {
		p.stop()
		if t.Failed() {
			t.Logf("awstest: last output of %s:\n%s", p.name, p.log.String())
		}
	}
}
