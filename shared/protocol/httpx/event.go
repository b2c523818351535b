package httpx

import (
	"context"
	"crypto/rand"
	"net"
	"net/http"
	"time"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// ClientIP is the client's address: on Lambda the API Gateway request
// context's sourceIp (lambdahttp puts it in RemoteAddr), in make run the
// connection's peer.
func ClientIP(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// maxUserAgent bounds the user agent an event keeps.
const maxUserAgent = 256

// NewEvent starts an event of typ for r at now: log_id, date, type,
// description (Auth0's name of the type), ip and user agent. The log_id's
// random part comes from crypto/rand, not from a handler's Rand, so that
// events leave deterministic test readers alone.
func NewEvent(r *http.Request, now time.Time, typ string) oauth.Event {
	ua := r.UserAgent()
	if len(ua) > maxUserAgent {
		ua = ua[:maxUserAgent]
	}
	return oauth.Event{
		LogID: oauth.NewLogID(now, rand.Reader), Date: now.UTC(), Type: typ, Description: oauth.EventTypes[typ],
		IP: ClientIP(r), UserAgent: ua,
	}
}

// Emit sends e to sink; a nil sink drops it.
func Emit(ctx context.Context, sink oauth.EventSink, e oauth.Event) {
	if sink != nil {
		sink.Emit(ctx, e)
	}
}
