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
	"github.com/mrrt-auth/mrrt/shared/testkit/awstest"
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
	rt := e.refreshToken(t, strictID)
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
			bodies := map[string]string{
				"client credentials": url.Values{"grant_type": {oauth.GrantTypeClientCredentials}, "client_id": {m2mID}, "client_secret": {m2mSecret}, "audience": {api}}.Encode(),
			}
			if tc.dynamo == hole {
				// Its first read (the client) meets the black hole.
				bodies["refresh"] = url.Values{"grant_type": {oauth.GrantTypeRefreshToken}, "client_id": {strictID}, "refresh_token": {rt}}.Encode()
			}
			for grant, body := range bodies {
				t.Run(grant, func(t *testing.T) { answeredInTime(t, fn, body, http.StatusServiceUnavailable) })
			}
		})
	}
}

// TestAmbiguousRotationIsAnsweredBeforeTheDeadline: the rotation's write
// reaches DynamoDB but no answer comes back, so the budget runs out inside
// the write; the settle (token/settle.go) still gets its own 300 ms of
// the reserve, and the answer still comes before the reserve is spent.
func TestAmbiguousRotationIsAnsweredBeforeTheDeadline(t *testing.T) {
	e := newEndpoint(t)
	fn := lambdahttp.Handler(e.handler)
	refresh := func(rt string) string {
		return url.Values{"grant_type": {oauth.GrantTypeRefreshToken}, "client_id": {strictID}, "refresh_token": {rt}}.Encode()
	}
	silent := func(op string) awstest.Fault {
		return awstest.Fault{Op: op, Err: awstest.ErrResponseLost, AfterSend: true, Hang: 2 * time.Second}
	}
	t.Run("the settle answers: 200 with the successor", func(t *testing.T) {
		rt := e.refreshToken(t, strictID)
		e.faults.Add(silent("TransactWriteItems"))
		defer e.faults.Clear()
		answeredInTime(t, fn, refresh(rt), http.StatusOK)
	})
	t.Run("the settle's answer is lost too: 503, and the retry on another instance gets the successor", func(t *testing.T) {
		rt := e.refreshToken(t, strictID)
		e.faults.Add(silent("TransactWriteItems"))
		e.faults.Add(silent("UpdateItem"))
		answeredInTime(t, fn, refresh(rt), http.StatusServiceUnavailable)
		e.faults.Clear()
		e.settledLater(t, e.counter.Count("UpdateItem"))
		e.handler = e.tokenHandler(e.deps.Signer)
		r := e.refresh(t, strictID, rt)
		wantStatus(t, "the retry on another instance", r, http.StatusOK)
		wantStatus(t, "its successor", e.refresh(t, strictID, r.str("refresh_token")), http.StatusOK)
	})
}

// answeredInTime posts body to the token function with 4 s of the
// invocation left, and wants status (a 503 with Retry-After) before the
// reserve.
func answeredInTime(t *testing.T, fn lambdahttp.Func, body string, status int) {
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
	if resp.StatusCode != status || status == http.StatusServiceUnavailable && resp.Headers["Retry-After"] == "" {
		t.Errorf("status %d Retry-After %q body %s, want %d (a 503 with Retry-After)", resp.StatusCode, resp.Headers["Retry-After"], resp.Body, status)
	}
	if took > left-lambdahttp.Reserve/2 {
		t.Errorf("answered after %v; the invocation had %v, of which %v are kept to answer", took, left, lambdahttp.Reserve)
	}
	t.Logf("answered %d after %v", resp.StatusCode, took.Round(time.Millisecond))
}
