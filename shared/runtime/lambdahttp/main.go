package lambdahttp

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
)

// Main is the whole of a function's main. It makes the JSON logger
// (NewLogger, level Info, on stdout) slog's default, builds the handler
// with newHandler and serves it, logging each request (LogRequests); it
// does not return. If newHandler fails, Main logs one error line naming
// function and exits with status 1: the init fails (Lambda reports
// Runtime.ExitError) instead of every request.
func Main(function string, newHandler func(context.Context) (http.Handler, error)) {
	h, err := setUp(os.Stdout, function, newHandler)
	if err != nil {
		os.Exit(1)
	}
	Start(h)
}

// setUp is Main up to Start, logging to w.
func setUp(w io.Writer, function string, newHandler func(context.Context) (http.Handler, error)) (http.Handler, error) {
	logger := NewLogger(w, slog.LevelInfo)
	slog.SetDefault(logger)
	h, err := newHandler(context.Background())
	if err != nil {
		logger.Error("configuration error; function not started", slog.String("function", function), slog.Any("error", err))
		return nil, err
	}
	return logRequests(function, logger, h), nil
}
