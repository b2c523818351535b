package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mrrt-auth/mrrt/shared/runtime/seed"
	"github.com/mrrt-auth/mrrt/shared/testkit/childproc"
)

// startTimeout bounds how long the dev server may take to answer.
const startTimeout = 30 * time.Second

// devServer is the dev server this run built and started.
type devServer struct {
	url  string
	dir  string    // temporary: binary, seed, DATA_DIR
	cmd  *exec.Cmd // the running server (its pid is measured)
	proc *childproc.Process
	log  *childproc.Tail
}

// startDevServer builds ./infra/devserver and runs it as `make run` would,
// but on a free 127.0.0.1 port, with a copy of the default seed whose APIs
// all sign with alg and a fresh DATA_DIR.
func startDevServer(ctx context.Context, alg string) (*devServer, error) {
	root, err := childproc.ModuleRoot(ctx)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "mrrt-load-")
	if err != nil {
		return nil, err
	}
	s := &devServer{dir: dir, log: childproc.NewTail(16 << 10)}
	ok := false
	defer func() {
		if !ok {
			s.stop()
		}
	}()

	bin := filepath.Join(dir, "devserver")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./infra/devserver")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build ./infra/devserver: %v\n%s", err, out)
	}
	seedPath := filepath.Join(dir, "seed.json")
	if err := writeSeed(seed.DefaultJSON, seedPath, alg); err != nil {
		return nil, err
	}
	// A free port can be taken between picking and binding it; that shows
	// as an early exit, so try a few.
	for attempt := 1; ; attempt++ {
		err := s.start(ctx, root, bin, seedPath)
		if err == nil {
			break
		}
		if attempt == 3 || !errors.Is(err, errExited) {
			return nil, err
		}
		s.log = childproc.NewTail(16 << 10)
	}
	ok = true
	return s, nil
}

var errExited = errors.New("dev server exited at start")

// start runs the built server on a free port and waits until it answers.
func (s *devServer) start(ctx context.Context, root, bin, seedPath string) error {
	addr, err := childproc.FreeAddr()
	if err != nil {
		return err
	}
	s.url = "http://" + addr
	cmd := exec.Command(bin)
	cmd.Dir = root
	cmd.Env = append(os.Environ(),
		"ADDR="+addr,
		"ISSUER=", // the default, http://ADDR
		"SEED_FILE="+seedPath,
		"DATA_DIR="+filepath.Join(s.dir, "data"),
	)
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if s.proc, err = childproc.Start(cmd); err != nil {
		return err
	}
	s.cmd = cmd
	return s.waitReady(ctx)
}

// waitReady polls the discovery document until the server answers.
func (s *devServer) waitReady(ctx context.Context) error {
	client := &http.Client{Timeout: time.Second, Transport: newTransport(1)}
	err := s.proc.Poll(ctx, startTimeout, 20*time.Millisecond,
		childproc.Answers(client, s.url+"/.well-known/openid-configuration", http.StatusOK))
	switch {
	case errors.Is(err, childproc.ErrExited):
		return fmt.Errorf("%w:\n%s", errExited, s.log)
	case errors.Is(err, childproc.ErrTimeout):
		return fmt.Errorf("dev server did not answer within %v:\n%s", startTimeout, s.log)
	}
	return err
}

// peakRSSMB is the server's VmHWM (peak resident set) in MiB.
func (s *devServer) peakRSSMB() (float64, error) {
	kb, err := vmHWM(s.cmd.Process.Pid)
	if err != nil {
		return 0, err
	}
	return round(float64(kb)/1024, 1), nil
}

// vmHWM reads the peak resident set size, in kB, of process pid.
func vmHWM(pid int) (int64, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, fmt.Errorf("peak RSS: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			return strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
		}
	}
	return 0, errors.New("peak RSS: no VmHWM in /proc/PID/status")
}

// stop ends the server (SIGINT: it shuts down gracefully; SIGKILL if it
// lingers) and removes the temporary directory.
func (s *devServer) stop() {
	if s.proc != nil {
		s.proc.Stop(syscall.SIGINT, 5*time.Second)
	}
	os.RemoveAll(s.dir)
}

// writeSeed copies the seed file at from to to, with every API's
// signing_alg set to alg.
func writeSeed(b []byte, to, alg string) error {
	const from = seed.DefaultName
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("seed %s: %w", from, err)
	}
	apis, _ := doc["resource_servers"].([]any)
	if len(apis) == 0 {
		return fmt.Errorf("seed %s: no resource_servers", from)
	}
	for _, a := range apis {
		api, ok := a.(map[string]any)
		if !ok {
			return fmt.Errorf("seed %s: a resource server is not an object", from)
		}
		api["signing_alg"] = alg
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(to, out, 0o600)
}
