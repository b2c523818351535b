package httpx

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// encoder is a reusable buffer with a JSON encoder bound to it.
type encoder struct {
	buf bytes.Buffer
	enc *json.Encoder
}

var encoders = sync.Pool{New: func() any {
	e := new(encoder)
	e.enc = json.NewEncoder(&e.buf)
	e.enc.SetEscapeHTML(false)
	return e
}}

// WriteJSON writes v as a JSON response that no cache may store
// (RFC 6749 §5.1: Cache-Control no-store, Pragma no-cache).
func WriteJSON(w http.ResponseWriter, status int, v any) {
	e := encoders.Get().(*encoder)
	defer func() {
		if e.buf.Cap() <= 64<<10 { // don't keep huge buffers alive
			e.buf.Reset()
			encoders.Put(e)
		}
	}()
	if err := e.enc.Encode(v); err != nil {
		e.buf.Reset()
		status = http.StatusInternalServerError
		e.enc.Encode(errorBody{Error: oauth.ServerError, Description: "internal error"})
	}
	h := w.Header()
	// Shared, never-modified values: no allocation per response.
	h["Content-Type"] = headerJSON
	h["Cache-Control"] = headerNoStore
	h["Pragma"] = headerNoCache
	h.Set("Content-Length", strconv.Itoa(e.buf.Len()))
	w.WriteHeader(status)
	w.Write(e.buf.Bytes())
}

var (
	headerJSON    = []string{"application/json"}
	headerNoStore = []string{"no-store"}
	headerNoCache = []string{"no-cache"}
)

type errorBody struct {
	Error       oauth.ErrorCode `json:"error"`
	Description string          `json:"error_description,omitempty"`
}

// WriteError is the one place where errors become OAuth error responses
// (RFC 6749 §5.2). err goes through oauth.FromError: an *oauth.Error keeps
// its code and description; ErrUnavailable becomes 503
// temporarily_unavailable with Retry-After; anything else becomes a generic
// 500 server_error. The cause is logged, never sent. logger may be nil.
func WriteError(w http.ResponseWriter, r *http.Request, logger *slog.Logger, err error) {
	e := oauth.FromError(err)
	if e == nil {
		e = &oauth.Error{Code: oauth.ServerError, Description: "internal error"}
	}
	status := e.Status()
	logError(r, logger, e, status)

	h := w.Header()
	switch {
	case status == http.StatusServiceUnavailable:
		h.Set("Retry-After", "1")
	case e.Code == oauth.InvalidClient && usedBasicAuth(r):
		// RFC 6749 §5.2: answer with the scheme the client tried.
		h.Set("WWW-Authenticate", `Basic realm="oauth"`)
	}
	WriteJSON(w, status, errorBody{Error: e.Code, Description: sanitizeDescription(e.Description)})
}

func logError(r *http.Request, logger *slog.Logger, e *oauth.Error, status int) {
	if logger == nil {
		return
	}
	level := slog.LevelInfo
	switch {
	case e.Code == oauth.ServerError || status >= 500 && status != http.StatusServiceUnavailable:
		level = slog.LevelError
	case status == http.StatusServiceUnavailable:
		level = slog.LevelWarn
	case e.Cause == nil:
		level = slog.LevelDebug
	}
	ctx := context.Background()
	if r != nil {
		ctx = r.Context()
	}
	if !logger.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, 6)
	attrs = append(attrs, slog.String("error", string(e.Code)), slog.Int("status", status))
	if e.Description != "" {
		attrs = append(attrs, slog.String("description", e.Description))
	}
	if e.Cause != nil {
		attrs = append(attrs, slog.String("cause", e.Cause.Error()))
	}
	if r != nil && r.URL != nil {
		attrs = append(attrs, slog.String("method", r.Method), slog.String("path", r.URL.Path))
	}
	logger.LogAttrs(ctx, level, "oauth error response", attrs...)
}

func usedBasicAuth(r *http.Request) bool {
	if r == nil {
		return false
	}
	scheme, _, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	return strings.EqualFold(scheme, "Basic")
}

// sanitizeDescription keeps error_description within the characters
// RFC 6749 §5.2 allows, replacing anything else with a space.
func sanitizeDescription(s string) string {
	if isDescriptionSafe(s) {
		return s
	}
	b := []byte(s)
	for i, c := range b {
		if !descriptionChar(c) {
			b[i] = ' '
		}
	}
	return string(b)
}
