package childproc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestTail(t *testing.T) {
	tests := []struct {
		name   string
		max    int
		writes []string
		want   string
	}{
		{"keeps everything under the bound", 10, []string{"abc", "def"}, "abcdef"},
		{"drops the oldest bytes past the bound", 5, []string{"abc", "def"}, "bcdef"},
		{"a single write longer than the bound keeps its end", 3, []string{"abcdefgh"}, "fgh"},
		{"nothing written is empty", 4, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := NewTail(tt.max)
			for _, s := range tt.writes {
				n, err := w.Write([]byte(s))
				if n != len(s) || err != nil {
					t.Fatalf("Write(%q) = %d, %v; want %d, nil", s, n, err, len(s))
				}
			}
			if got := w.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestTailConcurrentWritesStayBounded(t *testing.T) {
	w := NewTail(64)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				fmt.Fprintf(w, "writer %d\n", i)
			}
		}()
	}
	wg.Wait()
	if got := len(w.String()); got != 64 {
		t.Errorf("len(String()) = %d, want 64", got)
	}
}

func TestFreeAddrCanBeBound(t *testing.T) {
	addr, err := FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host != "127.0.0.1" {
		t.Fatalf("FreeAddr() = %q: want 127.0.0.1:PORT", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n == 0 {
		t.Fatalf("FreeAddr() port %q is not a port", port)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("listen on the free address: %v", err)
	}
	ln.Close()
}

func shell(t *testing.T, script string) *exec.Cmd {
	t.Helper()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	return exec.Command(sh, "-c", script)
}

func TestExitedClosesWhenTheProgramEnds(t *testing.T) {
	p, err := Start(shell(t, "exit 3"))
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.Exited():
	case <-time.After(10 * time.Second):
		t.Fatal("Exited not closed after the program ended")
	}
	if code := p.Cmd.ProcessState.ExitCode(); code != 3 {
		t.Errorf("exit code %d, want 3", code)
	}
}

func TestStop(t *testing.T) {
	tests := []struct {
		name     string
		script   string
		sig      syscall.Signal
		grace    time.Duration
		killedBy syscall.Signal
	}{
		{"a program that obeys the signal ends by it", "sleep 60", syscall.SIGTERM, 10 * time.Second, syscall.SIGTERM},
		{"a program that ignores the signal is killed after the grace period", "trap '' TERM; sleep 60", syscall.SIGTERM, 100 * time.Millisecond, syscall.SIGKILL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// exec: the shell becomes sleep, so the signal reaches it.
			script := tt.script
			if !strings.Contains(script, "trap") {
				script = "exec " + script
			}
			p, err := Start(shell(t, script))
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(50 * time.Millisecond) // let the shell set its trap
			start := time.Now()
			p.Stop(tt.sig, tt.grace)
			select {
			case <-p.Exited():
			default:
				t.Fatal("Stop returned before the program exited")
			}
			ws := p.Cmd.ProcessState.Sys().(syscall.WaitStatus)
			if !ws.Signaled() || ws.Signal() != tt.killedBy {
				t.Errorf("program ended with %v, want killed by %v", ws, tt.killedBy)
			}
			if el := time.Since(start); el > 5*time.Second {
				t.Errorf("Stop took %v", el)
			}
		})
	}
}

func TestStopOfAnExitedProgramReturnsAtOnce(t *testing.T) {
	p, err := Start(shell(t, "exit 0"))
	if err != nil {
		t.Fatal(err)
	}
	<-p.Exited()
	start := time.Now()
	p.Stop(syscall.SIGTERM, time.Minute)
	if el := time.Since(start); el > time.Second {
		t.Errorf("Stop took %v", el)
	}
}

func TestStopGroupEndsTheProgramsChildren(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "child")
	// The shell ignores SIGTERM, so only the group's SIGKILL after the
	// grace period ends both it and its child.
	p, err := StartGroup(shell(t, "trap '' TERM; sleep 60 & echo $! > "+pidFile+"; wait"))
	if err != nil {
		t.Fatal(err)
	}
	var child int
	for deadline := time.Now().Add(10 * time.Second); child == 0; {
		b, _ := os.ReadFile(pidFile)
		child, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		if child == 0 && time.Now().After(deadline) {
			p.Stop(syscall.SIGKILL, time.Second)
			t.Fatal("the child's pid was not written")
		}
		time.Sleep(10 * time.Millisecond)
	}
	p.Stop(syscall.SIGTERM, 100*time.Millisecond)
	// The child is reparented and reaped by init; it is gone once
	// signal 0 fails.
	for deadline := time.Now().Add(5 * time.Second); syscall.Kill(child, 0) == nil; {
		if time.Now().After(deadline) {
			syscall.Kill(child, syscall.SIGKILL)
			t.Fatalf("child %d outlived Stop", child)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestPoll(t *testing.T) {
	t.Run("a ready check that succeeds returns nil", func(t *testing.T) {
		p := running(t)
		calls := 0
		err := p.Poll(context.Background(), 5*time.Second, time.Millisecond, func() bool { calls++; return calls == 3 })
		if err != nil || calls != 3 {
			t.Errorf("Poll = %v after %d calls, want nil after 3", err, calls)
		}
	})
	t.Run("a program that exits is ErrExited", func(t *testing.T) {
		p, err := Start(shell(t, "exit 1"))
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Poll(context.Background(), 10*time.Second, time.Millisecond, func() bool { return false }); !errors.Is(err, ErrExited) {
			t.Errorf("Poll = %v, want ErrExited", err)
		}
	})
	t.Run("a check that never succeeds is ErrTimeout", func(t *testing.T) {
		p := running(t)
		if err := p.Poll(context.Background(), 50*time.Millisecond, time.Millisecond, func() bool { return false }); !errors.Is(err, ErrTimeout) {
			t.Errorf("Poll = %v, want ErrTimeout", err)
		}
	})
	t.Run("an ended context is its error", func(t *testing.T) {
		p := running(t)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := p.Poll(ctx, 10*time.Second, time.Millisecond, func() bool { return false }); !errors.Is(err, context.Canceled) {
			t.Errorf("Poll = %v, want context.Canceled", err)
		}
	})
}

func TestWaitListening(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	p := running(t)
	if err := p.WaitListening(context.Background(), ln.Addr().String(), 5*time.Second); err != nil {
		t.Errorf("WaitListening on a listening address = %v", err)
	}
	closed, err := FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.WaitListening(context.Background(), closed, 50*time.Millisecond); !errors.Is(err, ErrTimeout) {
		t.Errorf("WaitListening on a closed port = %v, want ErrTimeout", err)
	}
}

// running starts a program that runs until the test ends.
func running(t *testing.T) *Process {
	t.Helper()
	p, err := Start(shell(t, "exec sleep 60"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Stop(syscall.SIGKILL, time.Second) })
	return p
}

func TestModuleRootHoldsGoMod(t *testing.T) {
	root, err := ModuleRoot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "\nmodule ") && !strings.HasPrefix(string(b), "module ") {
		t.Errorf("%s/go.mod has no module line", root)
	}
	wd, _ := os.Getwd()
	if rel, err := filepath.Rel(root, wd); err != nil || rel != filepath.Join("shared", "testkit", "childproc") {
		t.Errorf("ModuleRoot() = %q, not three levels above the package directory %q", root, wd)
	}
}

func TestModuleRootOutsideAModuleFails(t *testing.T) {
	cmdDir := t.TempDir()
	t.Chdir(cmdDir)
	t.Setenv("GOFLAGS", "")
	t.Setenv("GO111MODULE", "")
	t.Setenv("GOWORK", "off")
	if root, err := ModuleRoot(context.Background()); err == nil {
		t.Errorf("ModuleRoot() outside a module = %q, want an error", root)
	}
}

func TestAnswers(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	closed, err := FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		url  string
		want int
		ok   bool
	}{
		{"any status counts when none is wanted", srv.URL + "/missing", 0, true},
		{"the wanted status counts", srv.URL + "/", http.StatusOK, true},
		{"another status does not count when one is wanted", srv.URL + "/missing", http.StatusOK, false},
		{"no answer does not count", "http://" + closed + "/", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Answers(srv.Client(), tt.url, tt.want)(); got != tt.ok {
				t.Errorf("Answers(%s, %d)() = %v, want %v", tt.url, tt.want, got, tt.ok)
			}
		})
	}
}
