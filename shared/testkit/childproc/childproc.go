// Package childproc starts and stops the helper programs that tests and
// measuring tools run beside them (emulators, servers): a bounded log of
// their output, free loopback ports, a process handle that knows when the
// program has exited and stops it with a signal and then SIGKILL, waits
// for readiness, and the location of the module. Unix only (process
// groups).
package childproc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"time"
)

// Tail keeps the last bytes written to it, up to a bound: a program's
// output, shown when it fails. It is safe for concurrent use.
type Tail struct {
	mu  sync.Mutex
	max int
	buf []byte
}

// NewTail returns a Tail that keeps the last max bytes.
func NewTail(max int) *Tail { return &Tail{max: max} }

func (w *Tail) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, b...)
	if over := len(w.buf) - w.max; over > 0 {
		w.buf = append(w.buf[:0], w.buf[over:]...)
	}
	return len(b), nil
}

// String returns the kept bytes.
func (w *Tail) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return string(w.buf)
}

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
// Another process can take it before the caller binds it; callers that
// start a server on it should retry when the server exits at start.
func FreePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	_, port, err := net.SplitHostPort(ln.Addr().String())
	return port, err
}

// FreeAddr is FreePort as "127.0.0.1:PORT".
func FreeAddr() (string, error) {
	port, err := FreePort()
	if err != nil {
		return "", err
	}
	return "127.0.0.1:" + port, nil
}

// Process is a started program whose exit is awaited in the background.
type Process struct {
	Cmd    *exec.Cmd
	group  bool
	exited chan struct{}
}

// Start starts cmd and waits for it in the background; Exited reports its
// end. Stop signals the program itself.
func Start(cmd *exec.Cmd) (*Process, error) { return start(cmd, false) }

// StartGroup starts cmd in a process group of its own, so that Stop also
// ends the programs it starts (an emulator's runtime, say).
func StartGroup(cmd *exec.Cmd) (*Process, error) {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Setpgid = true
	return start(cmd, true)
}

func start(cmd *exec.Cmd, group bool) (*Process, error) {
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Process{Cmd: cmd, group: group, exited: make(chan struct{})}
	go func() {
		cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// Exited is closed once the program has exited and its output has been
// copied.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Stop sends sig (to the whole group for StartGroup) and, if the program
// is still running after grace, SIGKILL; it returns once the program has
// exited. For a group, a last SIGKILL makes sure nothing of the group
// outlives the program. A program that has already exited is left alone.
func (p *Process) Stop(sig syscall.Signal, grace time.Duration) {
	select {
	case <-p.exited:
		return
	default:
	}
	p.signal(sig)
	select {
	case <-p.exited:
	case <-time.After(grace):
		p.signal(syscall.SIGKILL)
		<-p.exited
	}
	if p.group {
		p.signal(syscall.SIGKILL)
	}
}

func (p *Process) signal(sig syscall.Signal) {
	if p.group {
		syscall.Kill(-p.Cmd.Process.Pid, sig)
		return
	}
	p.Cmd.Process.Signal(sig)
}

// Errors of Poll and WaitListening.
var (
	ErrExited  = errors.New("exited at start")
	ErrTimeout = errors.New("not ready in time")
)

// Poll calls ready every interval until it reports true (nil), the
// program exits (ErrExited), ctx ends (its error) or timeout passes
// (ErrTimeout).
func (p *Process) Poll(ctx context.Context, timeout, interval time.Duration, ready func() bool) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			return ErrExited
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		if ready() {
			return nil
		}
		time.Sleep(interval)
	}
	return ErrTimeout
}

// WaitListening waits until addr accepts TCP connections (see Poll for the
// errors).
func (p *Process) WaitListening(ctx context.Context, addr string, timeout time.Duration) error {
	return p.Poll(ctx, timeout, 10*time.Millisecond, func() bool {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return false
		}
		c.Close()
		return true
	})
}

// Answers is a ready check for Poll: a GET of url with client gets a
// response, with status want (0: any status).
func Answers(client *http.Client, url string, want int) func() bool {
	return func() bool {
		resp, err := client.Get(url)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return want == 0 || resp.StatusCode == want
	}
}

// GoCommand is the go command on PATH, else the one of this binary's
// toolchain.
func GoCommand() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// ModuleRoot is the directory of the go.mod of the main module of the
// working directory.
func ModuleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, GoCommand(), "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := string(bytes.TrimSpace(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("not inside the module: run from the repository")
	}
	return filepath.Dir(mod), nil
}
