package lambdahttp

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"

	"github.com/mrrt-auth/mrrt/shared/adapters/emf"
)

// Log attribute names added to every line logged with a request's context.
const (
	// AttrRequestID is API Gateway's request id ($context.requestId, the
	// requestId of the HTTP API access log and of the event).
	AttrRequestID = "request_id"
	// AttrAWSRequestID is Lambda's invocation id (the RequestId of the
	// START/END/REPORT lines).
	AttrAWSRequestID = "aws_request_id"
)

// NewLogger returns a JSON logger writing to w (stdout in a function, where
// Lambda sends it to CloudWatch Logs) that adds the request ids of the
// context to every record: log with the *Context methods or LogAttrs.
func NewLogger(w io.Writer, level slog.Leveler) *slog.Logger {
	return slog.New(WithRequestID(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})))
}

// WithRequestID wraps h so that records logged with a request's context
// carry AttrRequestID and AttrAWSRequestID.
func WithRequestID(h slog.Handler) slog.Handler { return requestIDHandler{h} }

type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if gw, ok := core.GetAPIGatewayV2ContextFromContext(ctx); ok && gw.RequestID != "" {
		r.AddAttrs(slog.String(AttrRequestID, gw.RequestID))
	}
	if lc, ok := lambdacontext.FromContext(ctx); ok && lc.AwsRequestID != "" {
		r.AddAttrs(slog.String(AttrAWSRequestID, lc.AwsRequestID))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(as)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}

// LogRequests logs one line per request after h has answered: method, API
// Gateway route key, path, status and duration. The query string is left
// out (it may carry codes and state); so are headers and bodies.
func LogRequests(logger *slog.Logger, h http.Handler) http.Handler {
	return logRequests("", logger, h)
}

// logRequests is LogRequests; for a named function each line is also an
// EMF record of the function's Latency and ServerErrors (emf package).
func logRequests(function string, logger *slog.Logger, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.WriteHeader(http.StatusOK)
		}
		ms := float64(time.Since(start).Microseconds()) / 1000
		attrs := []slog.Attr{
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", sw.status),
			slog.Float64("duration_ms", ms),
		}
		if gw, ok := core.GetAPIGatewayV2ContextFromContext(r.Context()); ok && gw.RouteKey != "" {
			attrs = append(attrs, slog.String("route", gw.RouteKey))
		}
		level := slog.LevelInfo
		if sw.status >= 500 {
			level = slog.LevelError
		}
		if function != "" {
			serverErrors := 0.0
			if sw.status >= 500 {
				serverErrors = 1
			}
			attrs = append(attrs, emf.Attrs(time.Now(), map[*emf.Spec]float64{
				&emf.Latency: ms, &emf.ServerErrors: serverErrors,
			}, map[string]string{"Function": function})...)
		}
		logger.LogAttrs(r.Context(), level, "request", attrs...)
	})
}
