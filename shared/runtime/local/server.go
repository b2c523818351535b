package local

import (
	"bytes"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ServerLimits bound what one connection of the dev server may hold. On
// AWS, API Gateway sets these limits; `make run` faces clients directly.
type ServerLimits struct {
	ReadHeaderTimeout time.Duration // request line and headers
	ReadTimeout       time.Duration // the whole request, body included
	WriteTimeout      time.Duration // from the end of the headers to the end of the response
	IdleTimeout       time.Duration // a keep-alive connection between requests
	MaxHeaderBytes    int
}

// DefaultServerLimits are the dev server's limits: a body trickled byte by
// byte is cut after 30 s, an idle keep-alive connection after 60 s, and
// headers are capped near API Gateway's 10,240 bytes.
var DefaultServerLimits = ServerLimits{
	ReadHeaderTimeout: 10 * time.Second,
	ReadTimeout:       30 * time.Second,
	WriteTimeout:      60 * time.Second,
	IdleTimeout:       60 * time.Second,
	MaxHeaderBytes:    16 << 10,
}

// NewServer returns the HTTP server of `make run` for h, with limits.
// Serve it on GuardListener(ln): net/http accepts a request that carries
// both Transfer-Encoding and Content-Length (it drops the length) and
// keeps the connection, which RFC 9112 §6.3 says must be closed; the
// guard answers such a request 400 and closes the connection before the
// server sees it.
func NewServer(h http.Handler, l ServerLimits, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           closeAfterChunked(h),
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		ReadTimeout:       l.ReadTimeout,
		WriteTimeout:      l.WriteTimeout,
		IdleTimeout:       l.IdleTimeout,
		MaxHeaderBytes:    l.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// closeAfterChunked makes a request with a chunked body the last of its
// connection, so the guard only ever needs Content-Length framing to find
// the next request's headers.
func closeAfterChunked(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.TransferEncoding) > 0 {
			w.Header().Set("Connection", "close")
		}
		h.ServeHTTP(w, r)
	})
}

// GuardListener wraps ln so that every connection's request headers are
// checked for Transfer-Encoding together with Content-Length (see NewServer).
func GuardListener(ln net.Listener) net.Listener { return guardListener{ln} }

type guardListener struct{ net.Listener }

func (l guardListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &guardConn{Conn: c}, nil
}

// maxGuardedHead is how much of a request head the guard buffers; a longer
// head is refused by the server anyway (MaxHeaderBytes).
const maxGuardedHead = 64 << 10

const badFraming = "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\nContent-Length: 65\r\n\r\n" +
	"Bad Request: both Transfer-Encoding and Content-Length were sent\n"

// guardConn follows the request framing of its connection: it collects
// each request head, skips a Content-Length body, and stops following
// (passes everything through) at a chunked request, which is the last of
// the connection, or at anything it cannot parse, which the server refuses.
type guardConn struct {
	net.Conn
	mu       sync.Mutex
	off      bool
	head     []byte // the current head so far
	bodyLeft int64  // bytes of the current body still to pass
}

func (c *guardConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 && c.scan(p[:n]) {
		_, _ = c.Conn.Write([]byte(badFraming))
		_ = c.Conn.Close()
		return 0, net.ErrClosed
	}
	return n, err
}

// scan follows b and reports whether a request head in it carries both
// Transfer-Encoding and Content-Length.
func (c *guardConn) scan(b []byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(b) > 0 && !c.off {
		if c.bodyLeft > 0 {
			k := int64(len(b))
			if k > c.bodyLeft {
				k = c.bodyLeft
			}
			c.bodyLeft -= k
			b = b[k:]
			continue
		}
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			c.head = append(c.head, b...)
			if len(c.head) > maxGuardedHead {
				c.off = true
			}
			return false
		}
		c.head = append(c.head, b[:i+1]...)
		b = b[i+1:]
		if len(c.head) > maxGuardedHead {
			c.off = true
			return false
		}
		if !endsHead(c.head) {
			continue
		}
		te, hasLength, length, ok := framing(c.head)
		c.head = c.head[:0]
		switch {
		case te && hasLength:
			return true
		case te, !ok:
			c.off = true
		default:
			c.bodyLeft = length
		}
	}
	return false
}

// endsHead reports whether head ends with an empty line after a request
// line (empty lines before the request line are skipped, RFC 9112 §2.2).
func endsHead(head []byte) bool {
	trimmed := bytes.TrimLeft(head, "\r\n")
	if len(trimmed) == 0 {
		return false
	}
	return bytes.HasSuffix(trimmed, []byte("\n\r\n")) || bytes.HasSuffix(trimmed, []byte("\n\n"))
}

// framing reads the framing headers of a complete head: whether it has
// Transfer-Encoding and Content-Length, and the length (0 if none). ok is
// false for a length the server refuses anyway (several, malformed).
func framing(head []byte) (te, hasLength bool, length int64, ok bool) {
	ok = true
	lines := strings.Split(strings.TrimLeft(string(head), "\r\n"), "\n")
	for _, line := range lines[1:] {
		name, value, found := strings.Cut(strings.TrimRight(line, "\r"), ":")
		if !found {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "transfer-encoding":
			te = true
		case "content-length":
			n, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
			if err != nil || n < 0 || hasLength {
				ok = false
			}
			hasLength, length = true, n
		}
	}
	return te, hasLength, length, ok
}
