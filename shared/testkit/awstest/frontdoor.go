package awstest

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// Invoker runs one event; *Function is one.
type Invoker interface {
	Invoke(ctx context.Context, event []byte) (*Invocation, error)
}

// maxBody is API Gateway's payload limit.
const maxBody = 10 << 20

// FrontDoor serves HTTP as the HTTP API of template.yaml does in front of
// the functions: each request is routed by the router's patterns
// (routesOf: local.RoutesOf, which the template mirrors) to its function as a payload
// format 2.0 event, and the function's response is written back. As API
// Gateway answers: 404 {"message":"Not Found"} for no route, 500
// {"message":"Internal Server Error"} when the function fails, 413 for a
// body over 10 MB. logger may be nil.
func FrontDoor[F ~string](fns map[F]Invoker, routesOf func(F) []string, logger *slog.Logger) http.Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	for f, inv := range fns {
		for _, pattern := range routesOf(f) {
			mux.Handle(pattern, &route{pattern: pattern, fn: string(f), inv: inv, log: logger})
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern == "" {
			gatewayError(w, http.StatusNotFound, "Not Found")
			return
		}
		mux.ServeHTTP(w, r)
	})
}

type route struct {
	pattern string
	fn      string
	inv     Invoker
	log     *slog.Logger
}

func (rt *route) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		gatewayError(w, http.StatusBadRequest, "Bad Request")
		return
	}
	if len(body) > maxBody {
		gatewayError(w, http.StatusRequestEntityTooLarge, "Request Entity Too Large")
		return
	}
	event := Event(r, rt.pattern, body, time.Now())
	payload, err := json.Marshal(event)
	if err != nil {
		gatewayError(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	inv, err := rt.inv.Invoke(r.Context(), payload)
	if err != nil {
		rt.log.Error("front door: invocation failed", "function", string(rt.fn), "route", rt.pattern,
			"request_id", event.RequestContext.RequestID, "error", err)
		gatewayError(w, http.StatusInternalServerError, "Internal Server Error")
		return
	}
	if err := WriteResponse(w, inv.Response); err != nil {
		rt.log.Error("front door: bad function response", "function", string(rt.fn), "error", err)
		gatewayError(w, http.StatusInternalServerError, "Internal Server Error")
	}
}

func gatewayError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	b, _ := json.Marshal(map[string]string{"message": msg})
	w.Write(b)
}

// Event builds the payload format 2.0 event API Gateway would send for r
// on the route pattern (a ServeMux pattern served by r's mux, so path
// parameters are in r.PathValue). Cookies move to their own list, header
// names are lower-cased and repeated headers joined with commas, as API
// Gateway does; a body that is not text is base64-encoded.
func Event(r *http.Request, pattern string, body []byte, now time.Time) events.APIGatewayV2HTTPRequest {
	method, path, _ := strings.Cut(pattern, " ")
	headers := map[string]string{}
	for name, values := range r.Header {
		if strings.EqualFold(name, "Cookie") {
			continue
		}
		headers[strings.ToLower(name)] = strings.Join(values, ",")
	}
	headers["host"] = r.Host
	sourceIP, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		sourceIP = r.RemoteAddr
	}
	headers["x-forwarded-for"] = sourceIP
	headers["x-forwarded-proto"] = "http"
	if r.TLS != nil {
		headers["x-forwarded-proto"] = "https"
	}
	if len(body) > 0 {
		headers["content-length"] = strconv.Itoa(len(body))
	}

	var cookies []string
	for _, line := range r.Header.Values("Cookie") {
		for c := range strings.SplitSeq(line, ";") {
			if c = strings.TrimSpace(c); c != "" {
				cookies = append(cookies, c)
			}
		}
	}

	var query map[string]string
	if r.URL.RawQuery != "" {
		query = map[string]string{}
		for k, vs := range r.URL.Query() {
			query[k] = strings.Join(vs, ",")
		}
	}

	var params map[string]string
	for seg := range strings.SplitSeq(path, "/") {
		if name, ok := strings.CutPrefix(seg, "{"); ok {
			name = strings.TrimSuffix(strings.TrimSuffix(name, "}"), "...")
			if params == nil {
				params = map[string]string{}
			}
			params[name] = r.PathValue(name)
		}
	}

	e := events.APIGatewayV2HTTPRequest{
		Version:               "2.0",
		RouteKey:              method + " " + path,
		RawPath:               r.URL.EscapedPath(),
		RawQueryString:        r.URL.RawQuery,
		Cookies:               cookies,
		Headers:               headers,
		QueryStringParameters: query,
		PathParameters:        params,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:     method + " " + path,
			AccountID:    "123456789012",
			Stage:        "$default",
			RequestID:    requestID(),
			APIID:        "local",
			DomainName:   r.Host,
			DomainPrefix: strings.Split(r.Host, ".")[0],
			Time:         now.UTC().Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:    now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method:    r.Method,
				Path:      r.URL.Path,
				Protocol:  r.Proto,
				SourceIP:  sourceIP,
				UserAgent: r.UserAgent(),
			},
		},
	}
	if len(body) > 0 {
		if isText(r.Header.Get("Content-Type"), body) {
			e.Body = string(body)
		} else {
			e.Body, e.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
		}
	}
	return e
}

// isText reports whether API Gateway would pass the body as text: JSON and
// text/* are passed as is; forms and everything else base64-encoded.
func isText(contentType string, body []byte) bool {
	mt, _, _ := mime.ParseMediaType(contentType)
	textual := strings.HasPrefix(mt, "text/") || mt == "application/json" || strings.HasSuffix(mt, "+json")
	return textual && utf8.Valid(body)
}

// requestID is shaped like API Gateway's ("cC1aXjKwIAMEbXw=").
func requestID() string {
	b := make([]byte, 10)
	rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// WriteResponse writes a function's payload format 2.0 response: status,
// headers, each cookie as a Set-Cookie header, and the body (decoded when
// base64-encoded).
func WriteResponse(w http.ResponseWriter, resp events.APIGatewayV2HTTPResponse) error {
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(resp.Body); err != nil {
			return errors.New("awstest: response body is not valid base64")
		}
	}
	h := w.Header()
	for k, v := range resp.Headers {
		h.Set(k, v)
	}
	for k, vs := range resp.MultiValueHeaders {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	for _, c := range resp.Cookies {
		h.Add("Set-Cookie", c)
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(resp.StatusCode)
	_, err := w.Write(body)
	return err
}
