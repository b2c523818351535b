package httpx

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"
)

// Recover returns middleware that turns a panic in next into a 500
// response written by answer, each handler in its own error shape (nil:
// the OAuth server_error). The panic value and stack go to the log (Error
// level), never to the wire. http.ErrAbortHandler is re-panicked, as
// net/http expects. Each handler recovers once, at its outermost layer.
func Recover(logger *slog.Logger, answer func(http.ResponseWriter, *http.Request)) func(http.Handler) http.Handler {
	if answer == nil {
		answer = func(w http.ResponseWriter, r *http.Request) { WriteError(w, r, nil, errors.New("panic")) }
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				v := recover()
				if v == nil {
					return
				}
				if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
					panic(v)
				}
				if logger != nil {
					logger.LogAttrs(r.Context(), slog.LevelError, "panic in handler",
						slog.String("panic", fmt.Sprint(v)),
						slog.String("method", r.Method),
						slog.String("path", r.URL.Path),
						slog.String("stack", string(debug.Stack())))
				}
				// The panic is already logged with its stack; the response
				// carries only the generic text.
				answer(w, r)
			}()
			next.ServeHTTP(w, r)
		})
	}
}

// Defaults fills what a handler's dependencies may leave nil: time.Now,
// crypto/rand and a discarding logger.
func Defaults(now func() time.Time, r io.Reader, log *slog.Logger) (func() time.Time, io.Reader, *slog.Logger) {
	if now == nil {
		now = time.Now
	}
	if r == nil {
		r = rand.Reader
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return now, r, log
}
