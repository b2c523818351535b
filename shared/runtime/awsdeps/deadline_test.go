package awsdeps_test

import (
	"context"
	"net"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/protocol/token"
	"github.com/mrrt-auth/mrrt/shared/runtime/awsdeps"
	"github.com/mrrt-auth/mrrt/shared/runtime/lambdahttp"
)

// blackHole is a loopback endpoint that accepts connections and never
// answers: a service whose packets are dropped.
func blackHole(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c) // held open, never read or answered
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		for _, c := range conns {
			c.Close()
		}
	})
	return "http://" + ln.Addr().String()
}

// With DynamoDB or KMS unreachable, a request still gets 503
// temporarily_unavailable with Retry-After before the function's deadline:
// lambdahttp ends the request's context lambdahttp.Reserve early, and each
// AWS attempt has its own timeout. Here the invocation has 4 s left.
func TestUnreachableServiceIsAnsweredBeforeTheDeadline(t *testing.T) {
	e := newEndpoint(t) // moto and local-kms with the m2m client and its grant
	hole := blackHole(t)
	for _, tc := range []struct {
		name        string
		dynamo, kms string
	}{
		{"DynamoDB drops every packet", hole, e.stack.kmsURL},
		{"KMS drops every packet", e.stack.dynamoURL, hole},
	} {
		t.Run(tc.name, func(t *testing.T) {
			isolateAWSEnv(t)
			t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", tc.dynamo)
			t.Setenv("AWS_ENDPOINT_URL_KMS", tc.kms)
			cfg, err := config.LoadDefaultConfig(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			d, err := awsdeps.FromConfig(cfg, e.stack.env())
			if err != nil {
				t.Fatal(err)
			}
			keys := withKeys(t, d)
			fn := lambdahttp.Handler(token.NewHandler(token.Deps{
				Clients: d.Store, APIs: d.Store, ClientGrants: d.Store, Codes: d.Store, Families: d.Store, Users: d.Store,
				Signer: keys.Signer, Issuer: d.Issuer, RefreshKey: keys.RefreshKey,
			}))
			body := url.Values{"grant_type": {oauth.GrantTypeClientCredentials}, "client_id": {m2mID}, "client_secret": {m2mSecret}, "audience": {api}}.Encode()
			event := events.APIGatewayV2HTTPRequest{
				Version: "2.0", RouteKey: "POST /oauth/token", RawPath: "/oauth/token", Body: body,
				Headers: map[string]string{"content-type": "application/x-www-form-urlencoded"},
				RequestContext: events.APIGatewayV2HTTPRequestContext{
					HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{Method: http.MethodPost, Path: "/oauth/token", SourceIP: "127.0.0.1"},
				},
			}
			const left = 4 * time.Second // what the invocation has left
			ctx, cancel := context.WithTimeout(context.Background(), left)
			defer cancel()
			start := time.Now()
			resp, err := fn(ctx, event)
			took := time.Since(start)
			if err != nil {
				t.Fatalf("function error after %v: %v", took, err)
			}
			if resp.StatusCode != http.StatusServiceUnavailable || resp.Headers["Retry-After"] == "" {
				t.Errorf("status %d Retry-After %q body %s, want 503 with Retry-After", resp.StatusCode, resp.Headers["Retry-After"], resp.Body)
			}
			if took > left-lambdahttp.Reserve/2 {
				t.Errorf("answered after %v; the invocation had %v, of which %v are kept to answer", took, left, lambdahttp.Reserve)
			}
			t.Logf("answered %d after %v", resp.StatusCode, took.Round(time.Millisecond))
		})
	}
}
