// Package lambdahttp runs an http.Handler as an AWS Lambda function behind
// an API Gateway HTTP API (payload format 2.0), through
// github.com/awslabs/aws-lambda-go-api-proxy, and gives the function a JSON
// logger that stamps every line with the request's API Gateway request id.
//
// The proxy is pinned at v0.16.2, the first release with PR #179: single
// value headers that may contain commas (User-Agent, Authorization,
// Content-Type, ...) are no longer split into several values (upstream
// issues #171 and #178). Cookies arrive in the event's own list and are
// passed on one by one, so commas in them survive too.
package lambdahttp

import (
	"context"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"
)

// Start serves h as the function's handler; it does not return. Build the
// function with -tags lambda.norpc: it talks to the Runtime API only.
func Start(h http.Handler) {
	lambda.Start(Handler(h))
}

// Func is the Lambda handler signature of an HTTP API function.
type Func func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// Handler turns h into a Lambda handler: each event becomes a request with
// the event's rawPath unchanged (the $default stage adds no prefix), so h
// routes exactly as it does behind the dev server. A handler that writes
// nothing answers 200, as net/http does.
func Handler(h http.Handler) Func {
	return httpadapter.NewV2(budget(writeStatus(h))).ProxyWithContext
}

// Reserve is the part of the invocation's time kept back from the handler:
// enough to write a 503 and return it before Lambda stops the function.
const Reserve = time.Second

// budget ends the request's context Reserve before the invocation's
// deadline, so that a DynamoDB or KMS call that hangs (no answer, dropped
// packets) fails in time for the handler to answer 503 temporarily_unavailable
// with Retry-After, instead of API Gateway's bare error when Lambda times
// the function out.
func budget(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		deadline, ok := r.Context().Deadline()
		if !ok {
			h.ServeHTTP(w, r)
			return
		}
		ctx, cancel := context.WithDeadline(r.Context(), deadline.Add(-Reserve))
		defer cancel()
		h.ServeHTTP(w, r.WithContext(ctx))
	})
}

// writeStatus makes sure a status is set: the proxy's response writer
// refuses a response without one, which API Gateway would turn into a 502.
func writeStatus(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		h.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.WriteHeader(http.StatusOK)
		}
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

// WriteHeader passes on the first status only: the proxy's writer would let
// a later call overwrite it, net/http ignores it.
func (w *statusWriter) WriteHeader(status int) {
	if w.status != 0 {
		return
	}
	w.status = status
	w.ResponseWriter.WriteHeader(status)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
