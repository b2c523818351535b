package memstore

import (
	"context"
	"slices"
	"sync"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// DefaultEventBound is how many events an EventLog keeps by default.
const DefaultEventBound = 10_000

// EventLog keeps the latest events in memory (make run's /api/v2/logs):
// an oauth.EventSink and an oauth.EventLog. The oldest go first once it
// holds its bound.
type EventLog struct {
	mu    sync.Mutex
	bound int
	// events, oldest first, holds up to twice the bound: the latest bound
	// are the log. Compacting only when it is full keeps Emit O(1)
	// amortized on the hot path instead of moving the whole log each time.
	events []oauth.Event
}

// latest is the log: the last bound events; l.mu is held.
func (l *EventLog) latest() []oauth.Event {
	return l.events[max(0, len(l.events)-l.bound):]
}

// NewEventLog keeps at most bound events (DefaultEventBound when <= 0).
func NewEventLog(bound int) *EventLog {
	if bound <= 0 {
		bound = DefaultEventBound
	}
	return &EventLog{bound: bound}
}

func (l *EventLog) Emit(_ context.Context, e oauth.Event) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e.Details = cloneDetails(e.Details)
	if len(l.events) >= 2*l.bound {
		n := copy(l.events, l.latest())
		clear(l.events[n:])
		l.events = l.events[:n]
	}
	// Ids are time-ordered; keep the slice sorted by them.
	i := len(l.events)
	for i > 0 && l.events[i-1].LogID > e.LogID {
		i--
	}
	l.events = slices.Insert(l.events, i, e)
}

func (l *EventLog) Events(_ context.Context, q oauth.EventQuery) ([]oauth.Event, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := []oauth.Event{}
	events := l.latest()
	n := len(events)
	for k := range n {
		i := n - 1 - k // newest first
		if q.Ascending {
			i = k
		}
		e := events[i]
		if !q.Matches(e) || !q.Beyond(e) {
			continue
		}
		e.Details = cloneDetails(e.Details)
		out = append(out, e)
		if q.Limit > 0 && len(out) == q.Limit {
			break
		}
	}
	return out, nil
}

func (l *EventLog) Event(_ context.Context, id string) (*oauth.Event, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.latest() {
		if e.LogID == id {
			e.Details = cloneDetails(e.Details)
			return &e, nil
		}
	}
	return nil, oauth.ErrNotFound
}

func cloneDetails(d map[string]any) map[string]any {
	if d == nil {
		return nil
	}
	out := make(map[string]any, len(d))
	for k, v := range d {
		out[k] = v
	}
	return out
}
