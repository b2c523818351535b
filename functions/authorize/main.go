// Command authorize is the AWS Lambda function for /authorize, the login and consent pages and /logout.
// It only wires: configuration from the environment (shared/awsdeps), the
// shared handler (shared/app) and the API Gateway adapter (shared/lambdahttp).
// Build: GOOS=linux GOARCH=arm64 go build -tags lambda.norpc -o bootstrap.
package main

import (
	"context"
	"crypto/rand"
	"log/slog"
	"os"
	"time"

	"github.com/mrrt-auth/mrrt/shared/app"
	"github.com/mrrt-auth/mrrt/shared/awsdeps"
	"github.com/mrrt-auth/mrrt/shared/lambdahttp"
)

func main() {
	logger := lambdahttp.NewLogger(os.Stdout, slog.LevelInfo)
	slog.SetDefault(logger)
	// Load validates the environment and makes no network call: keys and
	// configuration are fetched by the first request that needs them.
	d, err := awsdeps.Load(context.Background(), os.Getenv)
	if err != nil {
		logger.Error("configuration error; function not started", slog.String("function", string(app.Authorize)), slog.Any("error", err))
		os.Exit(1)
	}
	lambdahttp.Start(lambdahttp.LogRequests(logger, app.NewFunction(app.Authorize, app.Deps{
		Store:          d.Store,
		Signer:         d.Signer,
		Issuer:         d.Issuer,
		RefreshKeyFunc: d.RefreshKey,
		AdminAudience:  d.AdminAudience,
		Now:            time.Now,
		Rand:           rand.Reader,
		Logger:         logger,
	})))
}
