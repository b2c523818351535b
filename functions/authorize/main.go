// Command authorize is the AWS Lambda function for /authorize, the login
// and consent pages and /logout. It only wires: the environment and the
// DynamoDB store (shared/runtime/awsdeps), the authorize handler and the
// API Gateway adapter. It signs nothing, so it has no KMS client.
// Build: GOOS=linux GOARCH=arm64 go build -tags lambda.norpc -o bootstrap.
package main

import (
	"context"
	"log/slog"
	"net/http"
	"os"

	"github.com/mrrt-auth/mrrt/shared/protocol/authorize"
	"github.com/mrrt-auth/mrrt/shared/runtime/awsdeps"
	"github.com/mrrt-auth/mrrt/shared/runtime/lambdahttp"
)

func main() {
	lambdahttp.Main("authorize", func(ctx context.Context) (http.Handler, error) {
		d, err := awsdeps.Load(ctx, os.Getenv)
		if err != nil {
			return nil, err
		}
		return authorize.NewHandler(authorize.Deps{
			Clients: d.Store, APIs: d.Store, Users: d.Store, Codes: d.Store, Sessions: d.Store, Consents: d.Store,
			Throttle: d.Store, Issuer: d.Issuer, Logger: slog.Default(),
			Events: lambdahttp.EventLogger(slog.Default(), "authorize"),
			// The admin API takes client-credentials tokens only.
			MachineOnlyAudiences: []string{d.AdminAudience},
		}), nil
	})
}
