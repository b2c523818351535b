package awstest_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/mrrt-auth/mrrt/shared/runtime/local"
	"github.com/mrrt-auth/mrrt/shared/testkit/awstest"
)

// fakeFunction records the events it gets and answers with resp or err.
type fakeFunction struct {
	got  []events.APIGatewayV2HTTPRequest
	resp events.APIGatewayV2HTTPResponse
	err  error
}

func (f *fakeFunction) Invoke(_ context.Context, event []byte) (*awstest.Invocation, error) {
	var e events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(event, &e); err != nil {
		return nil, err
	}
	f.got = append(f.got, e)
	if f.err != nil {
		return nil, f.err
	}
	return &awstest.Invocation{Response: f.resp}, nil
}

func frontDoor(t *testing.T) (*httptest.Server, map[local.Function]*fakeFunction) {
	t.Helper()
	fakes := map[local.Function]*fakeFunction{}
	fns := map[local.Function]awstest.Invoker{}
	for _, f := range local.Functions {
		fakes[f] = &fakeFunction{resp: events.APIGatewayV2HTTPResponse{StatusCode: 200}}
		fns[f] = fakes[f]
	}
	srv := httptest.NewServer(awstest.FrontDoor(fns, local.RoutesOf, nil))
	t.Cleanup(srv.Close)
	return srv, fakes
}

func TestFrontDoorBuildsEvents(t *testing.T) {
	srv, fakes := frontDoor(t)
	host := strings.TrimPrefix(srv.URL, "http://")

	t.Run("a form post becomes a base64 event on its route with cookies in their own list", func(t *testing.T) {
		req, _ := http.NewRequest("POST", srv.URL+"/oauth/token?x=1&x=2", strings.NewReader("grant_type=client_credentials&a=%2C"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("User-Agent", "agent (a, b)")
		req.Header.Add("X-Multi", "one")
		req.Header.Add("X-Multi", "two")
		req.Header.Set("Cookie", "a=1,2; b=3")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		got := fakes[local.Token].got[len(fakes[local.Token].got)-1]
		want := events.APIGatewayV2HTTPRequest{
			Version: "2.0", RouteKey: "POST /oauth/token", RawPath: "/oauth/token", RawQueryString: "x=1&x=2",
			Cookies: []string{"a=1,2", "b=3"},
			Headers: map[string]string{
				"content-type": "application/x-www-form-urlencoded", "user-agent": "agent (a, b)", "x-multi": "one,two",
				"host": host, "x-forwarded-for": "127.0.0.1", "x-forwarded-proto": "http", "content-length": "35",
				"accept-encoding": "gzip",
			},
			QueryStringParameters: map[string]string{"x": "1,2"},
			Body:                  "Z3JhbnRfdHlwZT1jbGllbnRfY3JlZGVudGlhbHMmYT0lMkM=",
			IsBase64Encoded:       true,
			RequestContext: events.APIGatewayV2HTTPRequestContext{
				RouteKey: "POST /oauth/token", AccountID: "123456789012", Stage: "$default", APIID: "local",
				DomainName: host, DomainPrefix: "127",
				HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
					Method: "POST", Path: "/oauth/token", Protocol: "HTTP/1.1", SourceIP: "127.0.0.1", UserAgent: "agent (a, b)",
				},
			},
		}
		ignore := cmpopts.IgnoreFields(events.APIGatewayV2HTTPRequestContext{}, "RequestID", "Time", "TimeEpoch")
		if diff := cmp.Diff(want, got, ignore); diff != "" {
			t.Errorf("event (-want +got):\n%s", diff)
		}
		if len(got.RequestContext.RequestID) != 16 || got.RequestContext.TimeEpoch == 0 {
			t.Errorf("request id %q, time epoch %d: want API Gateway's shapes", got.RequestContext.RequestID, got.RequestContext.TimeEpoch)
		}
	})

	t.Run("a JSON body stays text and the path parameter is filled in", func(t *testing.T) {
		req, _ := http.NewRequest("PATCH", srv.URL+"/api/v2/clients/demo%2Dspa", strings.NewReader(`{"name":"x"}`))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		got := fakes[local.PolicyAdmin].got[len(fakes[local.PolicyAdmin].got)-1]
		if got.RouteKey != "PATCH /api/v2/clients/{id}" || got.Body != `{"name":"x"}` || got.IsBase64Encoded ||
			!cmp.Equal(got.PathParameters, map[string]string{"id": "demo-spa"}) || got.RawPath != "/api/v2/clients/demo%2Dspa" {
			t.Errorf("event: route %q body %q base64 %v params %v rawPath %q", got.RouteKey, got.Body, got.IsBase64Encoded, got.PathParameters, got.RawPath)
		}
	})

	t.Run("each request goes to the function that serves its route", func(t *testing.T) {
		for path, f := range map[string]local.Function{"/authorize": local.Authorize, "/.well-known/jwks.json": local.Token, "/api/v2/users": local.PolicyAdmin} {
			before := len(fakes[f].got)
			resp, err := http.Get(srv.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if len(fakes[f].got) != before+1 {
				t.Errorf("GET %s did not reach %s", path, f)
			}
		}
	})
}

func TestFrontDoorAnswersAsAPIGateway(t *testing.T) {
	srv, fakes := frontDoor(t)
	fakes[local.Token].resp = events.APIGatewayV2HTTPResponse{
		StatusCode: 400,
		Headers:    map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store"},
		Cookies:    []string{"a=1; Path=/", "b=2; Path=/; HttpOnly"},
		Body:       "eyJlcnJvciI6ImludmFsaWRfcmVxdWVzdCJ9", IsBase64Encoded: true,
	}
	fakes[local.PolicyAdmin].err = &awstest.FunctionError{Type: "Runtime.ExitError", Message: "exit status 2"}
	fakes[local.Authorize].err = errors.New("connection refused")

	tests := []struct {
		name, method, path string
		body               string
		wantStatus         int
		wantBody           string
		wantCookies        []string
	}{
		{name: "the function's status, headers, cookies and decoded body come back", method: "POST", path: "/oauth/token",
			wantStatus: 400, wantBody: `{"error":"invalid_request"}`, wantCookies: []string{"a=1; Path=/", "b=2; Path=/; HttpOnly"}},
		{name: "an unknown path is API Gateway's 404", method: "GET", path: "/nope", wantStatus: 404, wantBody: `{"message":"Not Found"}`},
		{name: "a known path with another method is API Gateway's 404", method: "DELETE", path: "/oauth/token", wantStatus: 404, wantBody: `{"message":"Not Found"}`},
		{name: "a function error is API Gateway's 500", method: "GET", path: "/api/v2/clients", wantStatus: 500, wantBody: `{"message":"Internal Server Error"}`},
		{name: "an unreachable function is API Gateway's 500", method: "GET", path: "/logout", wantStatus: 500, wantBody: `{"message":"Internal Server Error"}`},
		{name: "a body over 10 MB is refused before the function", method: "POST", path: "/oauth/revoke", body: strings.Repeat("a", 10<<20+1),
			wantStatus: 413, wantBody: `{"message":"Request Entity Too Large"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(fakes[local.Token].got)
			req, _ := http.NewRequest(tt.method, srv.URL+tt.path, strings.NewReader(tt.body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus || string(body) != tt.wantBody {
				t.Errorf("got %d %s, want %d %s", resp.StatusCode, body, tt.wantStatus, tt.wantBody)
			}
			if diff := cmp.Diff(tt.wantCookies, resp.Header.Values("Set-Cookie"), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("Set-Cookie (-want +got):\n%s", diff)
			}
			if tt.wantStatus == 413 && len(fakes[local.Token].got) != before {
				t.Error("the oversized body reached the function")
			}
		})
	}
}
