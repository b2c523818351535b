package lambdahttp

import (
	"context"
	"log/slog"

	"github.com/mrrt-auth/mrrt/shared/adapters/emf"
	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// EventMessage is the msg of an event's log line; the admin API's log
// reader (shared/adapters/logevents) finds events by it.
const EventMessage = "event"

// EventLogger is the sink of a function's handler: each event becomes one
// JSON line on logger, {"msg":"event","event":{...Auth0's shape...}},
// which is also an EMF record counting it (emf.Events, by function and
// type). CloudWatch Logs keeps the lines; nothing is sent anywhere else, so
// emitting costs no AWS request.
func EventLogger(logger *slog.Logger, function string) oauth.EventSink {
	return oauth.EventSinkFunc(func(ctx context.Context, e oauth.Event) {
		attrs := emf.Attrs(e.Date, map[*emf.Spec]float64{&emf.Events: 1}, map[string]string{"Function": function, "EventType": e.Type})
		attrs = append(attrs, slog.Any(EventMessage, e))
		logger.LogAttrs(ctx, slog.LevelInfo, EventMessage, attrs...)
	})
}
