package lambdahttp_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/go-cmp/cmp"

	"github.com/mrrt-auth/mrrt/shared/protocol/apiauth"
	"github.com/mrrt-auth/mrrt/shared/runtime/lambdahttp"
	"github.com/mrrt-auth/mrrt/shared/testkit/localserver"
	"github.com/mrrt-auth/mrrt/shared/testkit/oauthtest"
)

const api = "https://api.example.com"

// authorizerEvent reads events/api-authorizer-bearer.json (GET /items on
// api.example.com) with authorization as its Authorization header.
func authorizerEvent(t *testing.T, authorization string) events.APIGatewayV2CustomAuthorizerV2Request {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "events", "api-authorizer-bearer.json"))
	if err != nil {
		t.Fatal(err)
	}
	var e events.APIGatewayV2CustomAuthorizerV2Request
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	e.Headers["authorization"] = authorization
	e.IdentitySource = []string{authorization}
	return e
}

func TestAuthorizerRequestIsTheRequestTheEventDescribes(t *testing.T) {
	r := lambdahttp.AuthorizerRequest(t.Context(), authorizerEvent(t, "Bearer x"))
	got := []string{r.Method, r.Host, r.URL.Path, r.URL.RawQuery, r.Header.Get("Authorization"), r.Header.Get("Accept")}
	if diff := cmp.Diff([]string{"GET", "api.example.com", "/items", "limit=10", "Bearer x", "application/json"}, got); diff != "" {
		t.Error(diff)
	}
}

func TestAuthorizer(t *testing.T) {
	srv := localserver.Start(t, localserver.Options{})
	k := oauthtest.NewDPoPKey(t)
	bearer := oauthtest.ClientCredentials(t, srv.Client(), srv.URL, api, nil)
	bound := oauthtest.ClientCredentials(t, srv.Client(), srv.URL, api, k)
	var logs bytes.Buffer
	authorize := lambdahttp.Authorizer(&apiauth.Verifier{Issuer: srv.URL, Audience: api}, slog.New(slog.NewJSONHandler(&logs, nil)))
	withProof := func(e events.APIGatewayV2CustomAuthorizerV2Request, proof string) events.APIGatewayV2CustomAuthorizerV2Request {
		e.Headers["dpop"] = proof
		return e
	}
	t.Run("this issuer's Bearer token for the API is allowed, its claims in the context", func(t *testing.T) {
		resp, err := authorize(t.Context(), authorizerEvent(t, "Bearer "+bearer))
		want := events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: true, Context: map[string]any{
			"sub": "demo-m2m@clients", "client_id": "demo-m2m", "scope": "read:data", "jkt": "",
		}}
		if err != nil || !cmp.Equal(resp, want) {
			t.Fatalf("%+v, %v; want %+v", resp, err, want)
		}
	})
	t.Run("a DPoP-bound token with a proof for the domain the request reached is allowed", func(t *testing.T) {
		proof := k.Proof(t, http.MethodGet, api+"/items", time.Now(), "", bound)
		resp, err := authorize(t.Context(), withProof(authorizerEvent(t, "DPoP "+bound), proof))
		if err != nil || !resp.IsAuthorized || resp.Context["jkt"] != k.JKT {
			t.Fatalf("%+v, %v", resp, err)
		}
	})
	for _, tc := range []struct {
		name  string
		event func() events.APIGatewayV2CustomAuthorizerV2Request
	}{
		{"a DPoP-bound token without a proof", func() events.APIGatewayV2CustomAuthorizerV2Request {
			return authorizerEvent(t, "DPoP "+bound)
		}},
		{"a DPoP-bound token sent as Bearer", func() events.APIGatewayV2CustomAuthorizerV2Request {
			return authorizerEvent(t, "Bearer "+bound)
		}},
		{"a proof made for another host", func() events.APIGatewayV2CustomAuthorizerV2Request {
			proof := k.Proof(t, http.MethodGet, "https://other.example.com/items", time.Now(), "", bound)
			return withProof(authorizerEvent(t, "DPoP "+bound), proof)
		}},
		{"a proof of another key", func() events.APIGatewayV2CustomAuthorizerV2Request {
			proof := oauthtest.NewDPoPKey(t).Proof(t, http.MethodGet, api+"/items", time.Now(), "", bound)
			return withProof(authorizerEvent(t, "DPoP "+bound), proof)
		}},
		{"a tampered token", func() events.APIGatewayV2CustomAuthorizerV2Request {
			return authorizerEvent(t, "Bearer "+bearer[:len(bearer)-4]+"AAAA")
		}},
		{"no token", func() events.APIGatewayV2CustomAuthorizerV2Request { return authorizerEvent(t, "") }},
	} {
		t.Run(tc.name+" is denied", func(t *testing.T) {
			resp, err := authorize(t.Context(), tc.event())
			if err != nil || resp.IsAuthorized || resp.Context != nil {
				t.Fatalf("%+v, %v; want a deny", resp, err)
			}
		})
	}
	t.Run("another API's authorizer denies the token", func(t *testing.T) {
		other := lambdahttp.Authorizer(&apiauth.Verifier{Issuer: srv.URL, Audience: "https://billing.example.com"}, slog.New(slog.DiscardHandler))
		if resp, err := other(t.Context(), authorizerEvent(t, "Bearer "+bearer)); err != nil || resp.IsAuthorized {
			t.Fatalf("%+v, %v", resp, err)
		}
	})
	t.Run("an issuer whose keys cannot be read is an error, not a deny", func(t *testing.T) {
		down := lambdahttp.Authorizer(&apiauth.Verifier{Issuer: "http://127.0.0.1:1", Audience: api}, slog.New(slog.DiscardHandler))
		if resp, err := down(t.Context(), authorizerEvent(t, "Bearer "+bearer)); err == nil {
			t.Fatalf("%+v: want an error (API Gateway answers 500)", resp)
		}
	})
	t.Run("the log names the outcome and never the token", func(t *testing.T) {
		out := logs.String()
		if !strings.Contains(out, `"msg":"allowed"`) || !strings.Contains(out, `"msg":"denied"`) || !strings.Contains(out, `"request_id":"dQ3hPbGiIAMEc6x="`) {
			t.Errorf("log lacks outcomes or the request id:\n%s", out)
		}
		for _, tok := range []string{bearer, bound, bearer[:40]} {
			if strings.Contains(out, tok) {
				t.Fatalf("a token reached the log:\n%s", out)
			}
		}
	})
}

func TestAuthorizerFromEnv(t *testing.T) {
	for _, tc := range []struct {
		name    string
		env     map[string]string
		wantErr string
	}{
		{"issuer and audience are enough", map[string]string{"ISSUER": "https://auth.example.com/", "API_AUDIENCE": api}, ""},
		{"a base URL of https and a host is taken", map[string]string{"ISSUER": "https://auth.example.com/", "API_AUDIENCE": api, "API_BASE_URL": "https://api.example.com"}, ""},
		{"no audience is refused", map[string]string{"ISSUER": "https://auth.example.com/"}, "API_AUDIENCE"},
		{"no issuer is refused", map[string]string{"API_AUDIENCE": api}, "ISSUER"},
		{"a relative issuer is refused", map[string]string{"ISSUER": "auth.example.com", "API_AUDIENCE": api}, "ISSUER"},
		{"an http base URL is refused", map[string]string{"ISSUER": "https://auth.example.com/", "API_AUDIENCE": api, "API_BASE_URL": "http://api.example.com"}, "API_BASE_URL"},
		{"a base URL with a path is refused", map[string]string{"ISSUER": "https://auth.example.com/", "API_AUDIENCE": api, "API_BASE_URL": "https://api.example.com/v1"}, "API_BASE_URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := lambdahttp.AuthorizerFromEnv(func(k string) string { return tc.env[k] })
			switch {
			case tc.wantErr == "" && (err != nil || v.Audience != api || v.Issuer != tc.env["ISSUER"] || v.BaseURL != tc.env["API_BASE_URL"]):
				t.Fatalf("%+v, %v", v, err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("error %v, want one naming %s", err, tc.wantErr)
			}
		})
	}
}
