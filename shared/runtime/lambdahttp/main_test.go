package lambdahttp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// lines decodes the JSON log lines in buf, leaving out time and duration.
func lines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for l := range strings.Lines(buf.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line is not JSON: %q: %v", l, err)
		}
		delete(m, "time")
		delete(m, "duration_ms")
		out = append(out, m)
	}
	return out
}

func TestSetUp(t *testing.T) {
	defaultLogger := slog.Default()
	t.Cleanup(func() { slog.SetDefault(defaultLogger) })

	t.Run("a configuration error is one error line naming the function, and no handler", func(t *testing.T) {
		var buf bytes.Buffer
		missing := errors.New("awsdeps: missing environment variables: TABLE_NAME")
		h, err := setUp(&buf, "token", func(context.Context) (http.Handler, error) { return nil, missing })
		if !errors.Is(err, missing) || h != nil {
			t.Fatalf("setUp = %v, %v; want no handler and the error", h, err)
		}
		want := []map[string]any{{
			"level": "ERROR", "msg": "configuration error; function not started",
			"function": "token", "error": missing.Error(),
		}}
		if diff := cmp.Diff(want, lines(t, &buf)); diff != "" {
			t.Errorf("log (-want +got):\n%s", diff)
		}
	})

	t.Run("the handler is built with the JSON logger as slog's default and each request is logged", func(t *testing.T) {
		var buf bytes.Buffer
		h, err := setUp(&buf, "authorize", func(context.Context) (http.Handler, error) {
			slog.Info("building") // handlers built with a nil Logger take slog.Default()
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusSeeOther)
			}), nil
		})
		if err != nil {
			t.Fatal(err)
		}
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/authorize?state=secret", nil))
		want := []map[string]any{
			{"level": "INFO", "msg": "building"},
			{"level": "INFO", "msg": "request", "method": "GET", "path": "/authorize", "status": float64(http.StatusSeeOther)},
		}
		got := lines(t, &buf)
		// The request line is an EMF record of the function's metrics too.
		if req := got[len(got)-1]; req["Function"] != "authorize" || req["ServerErrors"] != float64(0) || req["_aws"] == nil || req["Latency"] == nil {
			t.Errorf("request line without the function's metrics: %v", req)
		} else {
			for _, k := range []string{"Function", "ServerErrors", "Latency", "_aws"} {
				delete(req, k)
			}
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("log (-want +got):\n%s", diff)
		}
	})
}
