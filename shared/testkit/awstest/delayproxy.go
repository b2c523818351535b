package awstest

import (
	"bytes"
	"encoding/json"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"
)

// DelayProxy is a loopback HTTP proxy in front of an emulated AWS service
// that holds every request for Delay before passing it on, so that a
// function under test pays about the network time it would pay in a
// Region (a few milliseconds per request) instead of loopback's tens of
// microseconds. It counts the requests by operation (the X-Amz-Target
// header's action, "GetItem", "Sign"): every request a process sent,
// whatever SDK or process it came from; and, for DynamoDB, the capacity
// units they would be billed (Units).
type DelayProxy struct {
	URL    string
	Delay  time.Duration
	Counts *Counter
	srv    *http.Server

	mu       sync.Mutex
	wru, rru float64
	busy     time.Duration
}

// StartDelayProxy starts a DelayProxy to target (an emulator's URL).
func StartDelayProxy(target string, delay time.Duration) (*DelayProxy, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &DelayProxy{URL: "http://" + ln.Addr().String(), Delay: delay, Counts: NewCounter()}
	rp := httputil.NewSingleHostReverseProxy(u)
	// A request its client gave up on (the SDK's per-attempt timeout) is
	// the client's to report.
	rp.ErrorLog = log.New(io.Discard, "", 0)
	p.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		op := r.Header.Get("X-Amz-Target")
		if i := strings.LastIndexByte(op, '.'); i >= 0 {
			op = op[i+1:]
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		w8, r8 := units(op, body)
		p.mu.Lock()
		p.wru, p.rru = p.wru+w8, p.rru+r8
		p.mu.Unlock()
		p.Counts.add(op)
		start := time.Now()
		time.Sleep(delay)
		rp.ServeHTTP(w, r)
		p.mu.Lock()
		p.busy += time.Since(start)
		p.mu.Unlock()
	}), ReadHeaderTimeout: 10 * time.Second}
	go p.srv.Serve(ln)
	return p, nil
}

// Units returns the DynamoDB write and read request units of the requests
// counted since the last Reset, reckoned as on-demand billing does for
// items of at most 1 KB (writes) and 4 KB (reads): a transactional write
// costs 2 units per action, ConditionCheck included; a plain write 1; a
// strongly consistent read 1 and an eventually consistent one 0.5 (a
// Query is reckoned as one such read: its results are small here); a
// transactional read 2 per item.
func (p *DelayProxy) Units() (write, read float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.wru, p.rru
}

// Busy returns the time the requests counted since the last Reset spent
// in the proxy: the delay plus the emulator's own time.
func (p *DelayProxy) Busy() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.busy
}

// Reset sets the counts, units and busy time to zero.
func (p *DelayProxy) Reset() {
	p.Counts.Reset()
	p.mu.Lock()
	p.wru, p.rru, p.busy = 0, 0, 0
	p.mu.Unlock()
}

func units(op string, body []byte) (write, read float64) {
	var req struct {
		ConsistentRead bool
		TransactItems  []json.RawMessage
	}
	switch op {
	case "PutItem", "UpdateItem", "DeleteItem":
		return 1, 0
	case "TransactWriteItems":
		json.Unmarshal(body, &req)
		return 2 * float64(len(req.TransactItems)), 0
	case "TransactGetItems":
		json.Unmarshal(body, &req)
		return 0, 2 * float64(len(req.TransactItems))
	case "GetItem", "Query":
		json.Unmarshal(body, &req)
		if req.ConsistentRead {
			return 0, 1
		}
		return 0, 0.5
	}
	return 0, 0
}

// Stop closes the proxy.
func (p *DelayProxy) Stop() { p.srv.Close() }
