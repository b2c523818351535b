// Command policy-admin is the AWS Lambda function for the policy-admin API
// (/api/v2/...). It only wires: the environment and the DynamoDB store
// (shared/runtime/awsdeps), the KMS public keys that verify admin tokens
// (kmssigner), the reader of the functions' log events (logevents), the
// policyadmin handler and the API Gateway adapter.
// Build: GOOS=linux GOARCH=arm64 go build -tags lambda.norpc -o bootstrap.
package main

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/mrrt-auth/mrrt/shared/adapters/kmssigner"
	"github.com/mrrt-auth/mrrt/shared/adapters/logevents"
	"github.com/mrrt-auth/mrrt/shared/protocol/policyadmin"
	"github.com/mrrt-auth/mrrt/shared/runtime/awsdeps"
	"github.com/mrrt-auth/mrrt/shared/runtime/lambdahttp"
)

func main() {
	lambdahttp.Main("policy-admin", func(ctx context.Context) (http.Handler, error) {
		d, err := awsdeps.Load(ctx, os.Getenv)
		if err != nil {
			return nil, err
		}
		keys, err := kmssigner.FromConfig(d.Config, kmssigner.Settings(d.KMS))
		if err != nil {
			return nil, err
		}
		publicKeys := keys.Signer.PublicKeys
		if d.SigningMode == awsdeps.SigningEnvelope {
			publicKeys = kmssigner.EnvelopePublicKeys(d.WrappedKeys, time.Now) // from the table; nothing to decrypt
		}
		return policyadmin.NewHandler(policyadmin.Deps{
			Store: d.Store, Keys: publicKeys, Issuer: d.Issuer, Audience: d.AdminAudience, Logger: slog.Default(),
			Events: lambdahttp.EventLogger(slog.Default(), "policy-admin"),
			Logs:   logevents.FromConfig(d.Config, d.EventLogGroups),
			Roles:  d.Roles,
		}), nil
	})
}
