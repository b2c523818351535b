// Command token is the AWS Lambda function for /oauth/token, /oauth/revoke,
// discovery and the JWKS. It only wires: the environment and the DynamoDB
// store (shared/runtime/awsdeps), the KMS-held keys (kmssigner), the token
// handler and the API Gateway adapter (shared/runtime/lambdahttp).
// Build: GOOS=linux GOARCH=arm64 go build -tags lambda.norpc -o bootstrap.
package main

import (
	"context"
	"log/slog"
	"net/http"
	"os"

	"github.com/mrrt-auth/mrrt/shared/adapters/kmssigner"
	"github.com/mrrt-auth/mrrt/shared/protocol/token"
	"github.com/mrrt-auth/mrrt/shared/runtime/awsdeps"
	"github.com/mrrt-auth/mrrt/shared/runtime/lambdahttp"
)

func main() {
	lambdahttp.Main("token", func(ctx context.Context) (http.Handler, error) {
		d, err := awsdeps.Load(ctx, os.Getenv)
		if err != nil {
			return nil, err
		}
		keys, err := kmssigner.FromConfig(d.Config, kmssigner.Settings(d.KMS))
		if err != nil {
			return nil, err
		}
		if d.SigningMode == awsdeps.SigningEnvelope {
			// One Query and one Decrypt per key now; none per token.
			if keys.Signer, err = kmssigner.EnvelopeFromConfig(ctx, d.Config, d.WrappedKeys, d.KMS.Alg); err != nil {
				return nil, err
			}
		}
		return token.NewHandler(token.Deps{
			Clients: d.Store, APIs: d.Store, ClientGrants: d.Store, Codes: d.Store, Families: d.Store, Users: d.Store, Replay: d.Store,
			Signer: keys.Signer, RefreshKey: keys.RefreshKey, PreviousRefreshKeys: keys.PreviousRefreshKeys,
			Issuer: d.Issuer, Logger: slog.Default(),
			Events:      lambdahttp.EventLogger(slog.Default(), "token"),
			Permissions: d.Roles,
		}), nil
	})
}
