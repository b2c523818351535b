// Command token is the AWS Lambda function for /oauth/token, /oauth/revoke, discovery and the JWKS.
// It only wires: configuration from the environment (shared/awsdeps), the
// shared handler (shared/app) and the API Gateway adapter (shared/lambdahttp).
// Build: GOOS=linux GOARCH=arm64 go build -tags lambda.norpc -o bootstrap.
package main

import (
	"context"
	"net/http"
	"os"

	"github.com/mrrt-auth/mrrt/shared/runtime/awsdeps"
	"github.com/mrrt-auth/mrrt/shared/runtime/lambdahttp"
	"github.com/mrrt-auth/mrrt/shared/runtime/local"
)

func main() {
	lambdahttp.Main(string(local.Token), func(ctx context.Context) (http.Handler, error) {
		d, err := awsdeps.Load(ctx, os.Getenv)
		if err != nil {
			return nil, err
		}
		return local.TokenFunction(local.Deps{
			Store: d.Store, Signer: d.Signer, RefreshKeyFunc: d.RefreshKey,
			Issuer: d.Issuer, AdminAudience: d.AdminAudience,
		}), nil
	})
}
