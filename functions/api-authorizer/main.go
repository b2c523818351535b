// Command api-authorizer is an example API Gateway HTTP API Lambda
// authorizer for the APIs this server issues tokens for (payload format
// 2.0, simple responses): it checks the access token against the issuer's
// JWKS and, for a DPoP-bound token, the request's proof (shared/protocol/apiauth).
// It is deployed only when the template's ApiAuthorizerAudience is set.
// Build: GOOS=linux GOARCH=arm64 go build -tags lambda.norpc -o bootstrap.
package main

import "github.com/mrrt-auth/mrrt/shared/runtime/lambdahttp"

func main() { lambdahttp.AuthorizerMain("api-authorizer") }
