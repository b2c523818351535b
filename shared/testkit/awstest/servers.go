// Package awstest is the local-AWS kit: it starts AWS-compatible servers
// on loopback (moto for DynamoDB, the infra/localkms wrapper for KMS), runs
// the Lambda functions under the Runtime Interface Emulator (version and
// build flags pinned here, once), and provides SDK middleware that counts
// requests and injects faults. Tests and the infra/ commands import it.
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
	RemoveBuilt()
	return code
}

// RemoveBuilt removes what RunKMS built (commands that use RunKMS call it
// before they exit; tests get it from Main).
func RemoveBuilt() {
	build.mu.Lock()
	defer build.mu.Unlock()
	if build.dir != "" {
		os.RemoveAll(build.dir)
	}
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

// ErrMotoMissing is RunMoto's error when moto_server is not installed.
var ErrMotoMissing = errors.New("moto_server is not on PATH; install it with: " + MotoInstall)

// Server is an emulator started by RunMoto or RunKMS.
type Server struct {
	URL string // its endpoint, "http://127.0.0.1:PORT"
	p   *process
}

// Stop ends the server: SIGINT first (both servers exit cleanly on it),
// then SIGKILL if it lingers.
func (s *Server) Stop() { s.p.stop() }

// Log is the server's last output.
func (s *Server) Log() string { return s.p.log.String() }

// RunMoto runs moto_server on a free 127.0.0.1 port until Stop. moto
// serves every service on one port; the project uses it for DynamoDB.
func RunMoto(ctx context.Context) (*Server, error) {
	bin, err := exec.LookPath("moto_server")
	if err != nil {
		return nil, ErrMotoMissing
	}
	// -p 0: moto binds a free port itself and announces it, so two test
	// binaries starting servers at once can never share a port (picking a
	// port first and passing it races, and the loser's ready check would
	// reach the winner's server).
	p, err := startProcess("moto_server", bin, "-H", "127.0.0.1", "-p", "0")
	if err != nil {
		return nil, fmt.Errorf("awstest: start moto_server: %w", err)
	}
	s, err := p.waitAnnounced(ctx)
	if err == nil {
		err = p.waitReady(ctx, s.URL+"/moto-api/")
	}
	if err != nil {
		p.stop()
		return nil, err
	}
	return s, nil
}

// RunKMS runs the loopback-only local-kms wrapper (infra/localkms) on a
// free 127.0.0.1 port with its key database in dataDir, until Stop. The
// wrapper is built once per process with the go command, unless
// LOCAL_KMS_BIN names a prebuilt one.
func RunKMS(ctx context.Context, dataDir string) (*Server, error) {
	bin := os.Getenv("LOCAL_KMS_BIN")
	if bin == "" {
		var err error
		if bin, err = buildLocalKMS(); err != nil {
			return nil, fmt.Errorf("awstest: %w", err)
		}
	}
	p, err := startProcess("localkms", bin, "-addr", "127.0.0.1:0", "-data", dataDir)
	if err != nil {
		return nil, fmt.Errorf("awstest: start localkms: %w", err)
	}
	s, err := p.waitAnnounced(ctx)
	if err != nil {
		p.stop()
		return nil, err
	}
	return s, nil
}

// StartMoto runs moto_server (RunMoto) until the test ends and returns the
// endpoint to use.
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
	s, err := RunMoto(context.Background())
	switch {
	case errors.Is(err, ErrMotoMissing):
		missing(t, err.Error())
		return ""
	case err != nil:
		t.Fatal(err)
	}
	t.Cleanup(s.stopAndReport(t))
	return serialize(t, s.URL)
}

// StartKMS runs local-kms (RunKMS) with its key database in a temporary
// directory, until the test ends, and returns its endpoint.
func StartKMS(t testing.TB) string {
	t.Helper()
	if ep := os.Getenv(ExternalEndpoint); ep != "" {
		return ep
	}
	s, err := RunKMS(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.stopAndReport(t))
	return s.URL
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

// process is a server this package started.
type process struct {
	name      string
	proc      *childproc.Process
	log       *childproc.Tail
	announced chan string // the endpoint from a "listening on URL" line
}

func startProcess(name, bin string, args ...string) (*process, error) {
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

// waitAnnounced waits for the line that names the server's endpoint.
func (p *process) waitAnnounced(ctx context.Context) (*Server, error) {
	select {
	case url := <-p.announced:
		return &Server{URL: url, p: p}, nil
	case <-p.proc.Exited():
		return nil, fmt.Errorf("awstest: %s exited at start:\n%s", p.name, p.log.String())
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(startTimeout):
		return nil, fmt.Errorf("awstest: %s did not start within %v:\n%s", p.name, startTimeout, p.log.String())
	}
}

// waitReady polls url until the server answers or gives up.
func (p *process) waitReady(ctx context.Context, url string) error {
	client := &http.Client{Timeout: time.Second}
	err := p.proc.Poll(ctx, startTimeout, 50*time.Millisecond, childproc.Answers(client, url, 0))
	switch {
	case errors.Is(err, childproc.ErrExited):
		return fmt.Errorf("awstest: %s exited at start:\n%s", p.name, p.log.String())
	case err != nil:
		return fmt.Errorf("awstest: %s did not answer within %v:\n%s", p.name, startTimeout, p.log.String())
	}
	return nil
}

func (p *process) stop() { p.proc.Stop(syscall.SIGINT, 5*time.Second) }

func (s *Server) stopAndReport(t testing.TB) func() {
	return func() {
		s.Stop()
		if t.Failed() {
			t.Logf("awstest: last output of %s:\n%s", s.p.name, s.Log())
		}
	}
}
