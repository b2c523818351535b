// Command authorize is the AWS Lambda function for /authorize, the login and consent pages and /logout.
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
	lambdahttp.Main(string(local.Authorize), func(ctx context.Context) (http.Handler, error) {
		// It signs nothing: LoadStore keeps the KMS client out of this binary.
		d, err := awsdeps.LoadStore(ctx, os.Getenv)
		if err != nil {
			return nil, err
		}
		return local.AuthorizeFunction(local.Deps{Store: d.Store, Issuer: d.Issuer, AdminAudience: d.AdminAudience}), nil
	})
}
