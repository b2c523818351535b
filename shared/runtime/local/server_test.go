package local_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mrrt-auth/mrrt/shared/runtime/local"
)

// The dev server faces clients directly (API Gateway does on AWS), so it
// bounds slow and idle connections and refuses ambiguous framing
// (SECURITY.md §2.1 API GW limits; RFC 9112 §6.3).

// serve runs NewServer(h, l) on a guarded loopback listener.
func serve(t *testing.T, l local.ServerLimits) string {
	t.Helper()
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "body", http.StatusBadRequest)
			return
		}
		fmt.Fprintf(w, "read %d", len(b))
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := local.NewServer(h, l, slog.New(slog.DiscardHandler))
	go func() { _ = srv.Serve(local.GuardListener(ln)) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

func dial(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c, bufio.NewReader(c)
}

// closedWithin waits for the server to close c, reading (and discarding)
// whatever it sends; it fails if that takes longer than d.
func closedWithin(t *testing.T, c net.Conn, br *bufio.Reader, d time.Duration) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, br)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("connection still open after %v", d)
	}
}

func TestDefaultServerLimits(t *testing.T) {
	srv := local.NewServer(http.NotFoundHandler(), local.DefaultServerLimits, slog.New(slog.DiscardHandler))
	got := local.ServerLimits{srv.ReadHeaderTimeout, srv.ReadTimeout, srv.WriteTimeout, srv.IdleTimeout, srv.MaxHeaderBytes}
	want := local.ServerLimits{ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 60 * time.Second, MaxHeaderBytes: 16 << 10}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("dev server limits (-want +got):\n%s", d)
	}
}

func TestSlowAndIdleConnectionsAreCut(t *testing.T) {
	limits := local.ServerLimits{ReadHeaderTimeout: 300 * time.Millisecond, ReadTimeout: 500 * time.Millisecond,
		WriteTimeout: time.Second, IdleTimeout: 300 * time.Millisecond, MaxHeaderBytes: 4 << 10}
	addr := serve(t, limits)

	t.Run("a body trickled one byte at a time is cut at the read timeout", func(t *testing.T) {
		c, br := dial(t, addr)
		fmt.Fprint(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n")
		done := make(chan struct{})
		go func() {
			defer close(done)
			for range 100 { // 10 s at this pace
				if _, err := c.Write([]byte("a")); err != nil {
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
		}()
		closedWithin(t, c, br, 3*time.Second)
		_ = c.Close()
		<-done
	})

	t.Run("an idle keep-alive connection is closed", func(t *testing.T) {
		c, br := dial(t, addr)
		fmt.Fprint(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.Close {
			t.Fatal("the server closed a keep-alive connection at once")
		}
		closedWithin(t, c, br, 3*time.Second)
	})

	t.Run("headers over MaxHeaderBytes are refused", func(t *testing.T) {
		c, br := dial(t, addr)
		fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n", strings.Repeat("b", 8<<10))
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("status %d, want 431", resp.StatusCode)
		}
	})
}

func TestTransferEncodingWithContentLengthIsRefusedAndClosed(t *testing.T) {
	addr := serve(t, local.DefaultServerLimits)
	roundTrip := func(t *testing.T, c net.Conn, br *bufio.Reader, req string) *http.Response {
		t.Helper()
		if _, err := io.WriteString(c, req); err != nil {
			t.Fatal(err)
		}
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("no response: %v", err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return resp
	}
	const smuggle = "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n"

	for _, c := range []struct {
		name   string
		before []string // requests sent first on the same connection
	}{
		{"as the first request of a connection", nil},
		{"after keep-alive requests with and without a body", []string{
			"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
			"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
		}},
	} {
		t.Run("both headers "+c.name+": 400 and the connection closed", func(t *testing.T) {
			conn, br := dial(t, addr)
			for _, req := range c.before {
				if resp := roundTrip(t, conn, br, req); resp.StatusCode != http.StatusOK {
					t.Fatalf("earlier request: %d", resp.StatusCode)
				}
			}
			resp := roundTrip(t, conn, br, smuggle)
			if resp.StatusCode != http.StatusBadRequest || !resp.Close {
				t.Errorf("status %d close %v, want 400 and Connection: close", resp.StatusCode, resp.Close)
			}
			closedWithin(t, conn, br, 2*time.Second)
		})
	}

	t.Run("a chunked body alone is served, and is the last request of its connection", func(t *testing.T) {
		conn, br := dial(t, addr)
		resp := roundTrip(t, conn, br, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n0\r\n\r\n")
		if resp.StatusCode != http.StatusOK || !resp.Close {
			t.Errorf("status %d close %v, want 200 and Connection: close", resp.StatusCode, resp.Close)
		}
		closedWithin(t, conn, br, 2*time.Second)
	})
}
