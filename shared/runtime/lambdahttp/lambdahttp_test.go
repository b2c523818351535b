package lambdahttp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/google/go-cmp/cmp"

	"github.com/mrrt-auth/mrrt/shared/runtime/lambdahttp"
)

// loadEvent reads one of the sample events that `sam local invoke -e` uses.
func loadEvent(t *testing.T, name string) events.APIGatewayV2HTTPRequest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "events", name))
	if err != nil {
		t.Fatal(err)
	}
	var e events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return e
}

// seen is what a handler observed of its request.
type seen struct {
	Method, Path, RawQuery, Host, RemoteAddr string
	UserAgent                                []string
	Authorization                            []string
	ContentType                              []string
	Cookies                                  map[string]string
	Body                                     string
}

func recorder(got *seen) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		*got = seen{
			Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Host: r.Host, RemoteAddr: r.RemoteAddr,
			UserAgent:     r.Header.Values("User-Agent"),
			Authorization: r.Header.Values("Authorization"),
			ContentType:   r.Header.Values("Content-Type"),
			Cookies:       map[string]string{},
			Body:          string(body),
		}
		for _, c := range r.Cookies() {
			got.Cookies[c.Name] = c.Value
		}
		w.WriteHeader(http.StatusNoContent)
	})
}

func TestHandlerPassesRequestsIntact(t *testing.T) {
	tests := []struct {
		name  string
		event string
		want  seen
	}{
		{
			name:  "comma-bearing User-Agent arrives as one value and the base64 body is decoded",
			event: "token-client-credentials.json",
			want: seen{
				Method: "POST", Path: "/oauth/token", Host: "r2d2c3po4a.execute-api.eu-west-1.amazonaws.com", RemoteAddr: "203.0.113.24",
				UserAgent:   []string{"billing-sync/2.4 (linux; arm64, go1.26; +https://billing.example.com/bot)"},
				ContentType: []string{"application/x-www-form-urlencoded"},
				Cookies:     map[string]string{},
				Body:        "grant_type=client_credentials&client_id=demo-m2m&client_secret=demo-m2m-secret-change-me&audience=https%3A%2F%2Fapi.example.com",
			},
		},
		{
			name:  "cookies with commas and a browser User-Agent arrive intact, with the raw query",
			event: "authorize-login-page.json",
			want: seen{
				Method: "GET", Path: "/authorize", Host: "r2d2c3po4a.execute-api.eu-west-1.amazonaws.com", RemoteAddr: "203.0.113.24",
				RawQuery:  "response_type=code&client_id=demo-spa&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcallback&scope=openid%20offline_access%20read%3Adata&audience=https%3A%2F%2Fapi.example.com&state=af0ifjsldkj&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256",
				UserAgent: []string{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"},
				Cookies:   map[string]string{"prefs": "lang=en,theme=dark,tz=Europe/Berlin", "_ga": "GA1.1.1234567890.1764150000"},
			},
		},
		{
			name:  "Basic Authorization header arrives as one value",
			event: "token-revoke.json",
			want: seen{
				Method: "POST", Path: "/oauth/revoke", Host: "r2d2c3po4a.execute-api.eu-west-1.amazonaws.com", RemoteAddr: "203.0.113.24",
				UserAgent:     []string{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"},
				Authorization: []string{"Basic ZGVtby13ZWI6ZGVtby13ZWItc2VjcmV0LWNoYW5nZS1tZQ=="},
				ContentType:   []string{"application/x-www-form-urlencoded"},
				Cookies:       map[string]string{},
				Body:          "token=an-unknown-refresh-token&token_type_hint=refresh_token",
			},
		},
		{
			name:  "the path keeps its parameter and the JSON body is passed as is",
			event: "policy-admin-update-client-policies.json",
			want: seen{
				Method: "PATCH", Path: "/api/v2/clients/demo-spa", Host: "r2d2c3po4a.execute-api.eu-west-1.amazonaws.com", RemoteAddr: "203.0.113.24",
				UserAgent:     []string{"admin-cli/1.0 (ops, nightly)"},
				Authorization: []string{"Bearer REPLACE_WITH_ADMIN_ACCESS_TOKEN"},
				ContentType:   []string{"application/json"},
				Cookies:       map[string]string{},
				Body:          `{"refresh_token":{"policies":[{"audience":"https://api.example.com","scope":["read:data","write:data"]},{"audience":"https://billing.example.com","scope":["read:billing","write:billing"]}]}}`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got seen
			resp, err := lambdahttp.Handler(recorder(&got))(context.Background(), loadEvent(t, tt.event))
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusNoContent {
				t.Errorf("status = %d, want 204", resp.StatusCode)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("request seen by the handler (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHandlerBuildsResponses(t *testing.T) {
	event := loadEvent(t, "token-discovery.json")
	tests := []struct {
		name string
		h    http.HandlerFunc
		want events.APIGatewayV2HTTPResponse
	}{
		{
			name: "status, headers, cookies and body come back",
			h: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.Header().Set("Cache-Control", "no-store")
				http.SetCookie(w, &http.Cookie{Name: "a", Value: "1", Path: "/"})
				http.SetCookie(w, &http.Cookie{Name: "b", Value: "2", Path: "/"})
				w.WriteHeader(http.StatusBadRequest)
				io.WriteString(w, `{"error":"invalid_request"}`)
			},
			want: events.APIGatewayV2HTTPResponse{
				StatusCode: 400,
				Headers:    map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store"},
				Cookies:    []string{"a=1; Path=/", "b=2; Path=/"},
				Body:       `{"error":"invalid_request"}`,
			},
		},
		{
			name: "a handler that writes nothing answers 200, as net/http does",
			h:    func(w http.ResponseWriter, r *http.Request) {},
			want: events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{}, Cookies: []string{}},
		},
		{
			name: "a second WriteHeader does not change the status, as in net/http",
			h: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusFound)
				w.WriteHeader(http.StatusInternalServerError)
			},
			want: events.APIGatewayV2HTTPResponse{StatusCode: 302, Headers: map[string]string{}, Cookies: []string{}},
		},
		{
			name: "a WriteHeader after the body has started does not change the status",
			h: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/plain")
				io.WriteString(w, "ok")
				w.WriteHeader(http.StatusInternalServerError)
			},
			want: events.APIGatewayV2HTTPResponse{StatusCode: 200, Headers: map[string]string{"Content-Type": "text/plain"}, Cookies: []string{}, Body: "ok"},
		},
		{
			name: "a binary body is base64-encoded",
			h: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/octet-stream")
				w.Write([]byte{0xff, 0xfe, 0x00})
			},
			want: events.APIGatewayV2HTTPResponse{
				StatusCode: 200, Headers: map[string]string{"Content-Type": "application/octet-stream"}, Cookies: []string{},
				Body: "//4A", IsBase64Encoded: true,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := lambdahttp.Handler(tt.h)(context.Background(), event)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("response (-want +got):\n%s", diff)
			}
		})
	}
}

// logLines decodes the JSON lines written to buf.
func logLines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line is not JSON: %q: %v", line, err)
		}
		lines = append(lines, m)
	}
	return lines
}

func TestLogging(t *testing.T) {
	event := loadEvent(t, "token-bad-request-repeated-parameter.json")
	ctx := lambdacontext.NewContext(context.Background(), &lambdacontext.LambdaContext{AwsRequestID: "0d1b0b8c-lambda-invocation"})

	t.Run("every line logged with the request's context carries the API Gateway and Lambda request ids", func(t *testing.T) {
		var buf bytes.Buffer
		logger := lambdahttp.NewLogger(&buf, slog.LevelInfo)
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			logger.InfoContext(r.Context(), "first")
			logger.With("component", "token").WarnContext(r.Context(), "second", "n", 2)
			logger.WithGroup("g").LogAttrs(r.Context(), slog.LevelError, "third")
			w.WriteHeader(http.StatusBadRequest)
		})
		if _, err := lambdahttp.Handler(lambdahttp.LogRequests(logger, h))(ctx, event); err != nil {
			t.Fatal(err)
		}
		lines := logLines(t, &buf)
		if len(lines) != 4 {
			t.Fatalf("got %d lines, want 3 from the handler and 1 request line:\n%s", len(lines), buf.String())
		}
		for _, l := range lines[:2] {
			if l[lambdahttp.AttrRequestID] != "cC1cUgB0IAMEbwA=" || l[lambdahttp.AttrAWSRequestID] != "0d1b0b8c-lambda-invocation" {
				t.Errorf("line without the request ids: %v", l)
			}
		}
		if g, _ := lines[2]["g"].(map[string]any); g[lambdahttp.AttrRequestID] != "cC1cUgB0IAMEbwA=" {
			t.Errorf("grouped line without the request id: %v", lines[2])
		}
		req := lines[3]
		want := map[string]any{
			"level": "INFO", "msg": "request", "method": "POST", "path": "/oauth/token", "route": "POST /oauth/token",
			"status": float64(400), lambdahttp.AttrRequestID: "cC1cUgB0IAMEbwA=", lambdahttp.AttrAWSRequestID: "0d1b0b8c-lambda-invocation",
		}
		for k, v := range want {
			if req[k] != v {
				t.Errorf("request line %s = %v, want %v", k, req[k], v)
			}
		}
		if _, ok := req["duration_ms"].(float64); !ok {
			t.Errorf("request line without duration_ms: %v", req)
		}
	})

	t.Run("the request line leaves out the query string, headers and body", func(t *testing.T) {
		var buf bytes.Buffer
		logger := lambdahttp.NewLogger(&buf, slog.LevelInfo)
		login := loadEvent(t, "authorize-login-page.json")
		h := lambdahttp.LogRequests(logger, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
		if _, err := lambdahttp.Handler(h)(ctx, login); err != nil {
			t.Fatal(err)
		}
		if _, err := lambdahttp.Handler(h)(ctx, event); err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{"code_challenge", "af0ifjsldkj", "demo-m2m-secret", "prefs", "Mozilla"} {
			if strings.Contains(buf.String(), secret) {
				t.Errorf("log contains %q:\n%s", secret, buf.String())
			}
		}
	})

	t.Run("a 5xx answer is logged at error level", func(t *testing.T) {
		var buf bytes.Buffer
		logger := lambdahttp.NewLogger(&buf, slog.LevelInfo)
		h := lambdahttp.LogRequests(logger, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusServiceUnavailable)
		}))
		if _, err := lambdahttp.Handler(h)(ctx, event); err != nil {
			t.Fatal(err)
		}
		if l := logLines(t, &buf); len(l) != 1 || l[0]["level"] != "ERROR" {
			t.Errorf("lines = %v, want one ERROR line", l)
		}
	})

	t.Run("lines logged outside a request carry no request id", func(t *testing.T) {
		var buf bytes.Buffer
		lambdahttp.NewLogger(&buf, slog.LevelInfo).Info("cold start")
		l := logLines(t, &buf)
		if _, ok := l[0][lambdahttp.AttrRequestID]; ok {
			t.Errorf("line has a request id: %v", l[0])
		}
	})

	t.Run("records below the level are dropped", func(t *testing.T) {
		var buf bytes.Buffer
		lambdahttp.NewLogger(&buf, slog.LevelWarn).Info("chatty")
		if buf.Len() != 0 {
			t.Errorf("info line written at warn level: %s", buf.String())
		}
	})
}
