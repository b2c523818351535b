package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// terminal prints each event as one readable line: what happened, to
// whom, which audience (the JSON logs carry the rest; /api/v2/logs has
// the whole event).
type terminal struct {
	mu sync.Mutex
	w  io.Writer
}

func (t *terminal) Emit(_ context.Context, e oauth.Event) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintln(t.w, renderEvent(e))
}

// renderEvent is the line for e, e.g.
//
//	event sertft  Success Exchange (Refresh Token for Access Token)  user=auth0|demo client=demo-spa aud=https://billing.example.com scope="read:billing" family=3f2a… gen=2
func renderEvent(e oauth.Event) string {
	var b strings.Builder
	fmt.Fprintf(&b, "event %-8s %s ", e.Type, e.Description)
	for _, f := range []struct{ k, v string }{
		{"user", e.UserID}, {"username", e.UserName}, {"client", e.ClientID}, {"aud", e.Audience},
	} {
		if f.v != "" {
			fmt.Fprintf(&b, " %s=%s", f.k, f.v)
		}
	}
	if e.Scope != "" {
		fmt.Fprintf(&b, " scope=%q", e.Scope)
	}
	if origin, _ := e.Details["original_audience"].(string); origin != "" && origin != e.Audience {
		fmt.Fprintf(&b, " from=%s", origin)
	}
	if fam, _ := e.Details["family_id"].(string); fam != "" {
		fmt.Fprintf(&b, " family=%.8s gen=%v", fam, e.Details["generation"])
	}
	return b.String()
}
