package policyadmin

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// apiError is an error response in the Management API v2 shape:
// {"statusCode", "error", "message", "errorCode"}. Message is client-safe.
type apiError struct {
	Status  int
	Code    string // errorCode
	Message string
	// Challenge is the WWW-Authenticate value of 401 and 403 responses
	// (RFC 6750 §3).
	Challenge string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("policyadmin: %d %s: %s", e.Status, e.Code, e.Message)
}

// errorBody is the wire form of apiError.
type errorBody struct {
	StatusCode int    `json:"statusCode"`
	Error      string `json:"error"`
	Message    string `json:"message"`
	ErrorCode  string `json:"errorCode"`
}

func newError(status int, code, format string, args ...any) *apiError {
	return &apiError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// invalidBody is a 400 for a request body that breaks a rule; the message
// starts with the field it is about.
func invalidBody(field, format string, args ...any) *apiError {
	msg := fmt.Sprintf(format, args...)
	if field != "" {
		msg = field + ": " + msg
	}
	return &apiError{Status: http.StatusBadRequest, Code: "invalid_body", Message: msg}
}

func invalidQuery(param, format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Code: "invalid_query_string", Message: param + ": " + fmt.Sprintf(format, args...)}
}

func notFound(code, format string, args ...any) *apiError {
	return newError(http.StatusNotFound, code, format, args...)
}

func conflict(format string, args ...any) *apiError {
	return newError(http.StatusConflict, "conflict", format, args...)
}

// writeError is the one place errors become responses. Anything that is not
// an *apiError is logged and answered with a generic 500, or with 503 and
// Retry-After when a dependency asked for a retry (oauth.ErrUnavailable).
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	var e *apiError
	if !errors.As(err, &e) {
		if errors.Is(err, oauth.ErrUnavailable) {
			e = newError(http.StatusServiceUnavailable, "temporarily_unavailable", "service temporarily unavailable, retry later")
			w.Header().Set("Retry-After", "1")
		} else {
			e = newError(http.StatusInternalServerError, "internal_error", "internal error")
		}
		log.LogAttrs(r.Context(), slog.LevelError, "policyadmin: request failed",
			slog.String("method", r.Method), slog.String("path", r.URL.Path),
			slog.Int("status", e.Status), slog.String("error", err.Error()))
	}
	if e.Challenge != "" {
		w.Header().Set("WWW-Authenticate", e.Challenge)
	}
	writeJSON(w, e.Status, errorBody{
		StatusCode: e.Status,
		Error:      http.StatusText(e.Status),
		Message:    e.Message,
		ErrorCode:  e.Code,
	})
}

// writeJSON writes v; the caller has already set Cache-Control.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		// Our response types always encode; this is a programming error.
		status = http.StatusInternalServerError
		body = []byte(`{"statusCode":500,"error":"Internal Server Error","message":"internal error","errorCode":"internal_error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}
