package awstest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/mrrt-auth/mrrt/shared/adapters/emf"
	"github.com/mrrt-auth/mrrt/shared/adapters/logevents"
	"github.com/mrrt-auth/mrrt/shared/runtime/lambdahttp"
	"github.com/mrrt-auth/mrrt/shared/runtime/local"
	"github.com/mrrt-auth/mrrt/shared/testkit/awstest"
	"github.com/mrrt-auth/mrrt/shared/testkit/oauthtest"
)

// Placeholders in events/ for what only a running deployment can give.
const (
	refreshTokenPlaceholder = "REPLACE_WITH_REFRESH_TOKEN"
	adminTokenPlaceholder   = "REPLACE_WITH_ADMIN_ACCESS_TOKEN"
	issuerPlaceholder       = "REPLACE_WITH_ISSUER"       // in a form body: replaced URL-encoded
	accessTokenPlaceholder  = "REPLACE_WITH_ACCESS_TOKEN" // demo-m2m's, for https://api.example.com
)

// expectation is what an event of events/ must produce.
type expectation struct {
	status int
	// check looks further at the response; nil checks the status only.
	check func(t *testing.T, s *stack, resp events.APIGatewayV2HTTPResponse)
}

// expectations has one entry per file in events/, and every file must have
// one.
var expectations = map[string]expectation{
	"token-client-credentials.json": {200, func(t *testing.T, s *stack, resp events.APIGatewayV2HTTPResponse) {
		c := s.accessTokenClaims(t, resp.Body)
		if c["aud"] != "https://api.example.com" || c["client_id"] != "demo-m2m" || c["scope"] != "read:data" {
			t.Errorf("claims %v: want aud https://api.example.com, client demo-m2m, scope read:data", c)
		}
	}},
	"token-admin-client-credentials.json": {200, func(t *testing.T, s *stack, resp events.APIGatewayV2HTTPResponse) {
		c := s.accessTokenClaims(t, resp.Body)
		if c["aud"] != s.issuer+"/api/v2/" || c["client_id"] != "admin-cli" || !strings.Contains(fmt.Sprint(c["scope"]), "update:clients") {
			t.Errorf("claims %v: want the admin API's audience and scopes for admin-cli", c)
		}
	}},
	"token-refresh-audience-switch.json": {200, func(t *testing.T, s *stack, resp events.APIGatewayV2HTTPResponse) {
		c := s.accessTokenClaims(t, resp.Body)
		if c["aud"] != "https://billing.example.com" || c["scope"] != "read:billing" || c["sub"] != "auth0|demo" {
			t.Errorf("claims %v: want the billing API with read:billing for auth0|demo", c)
		}
	}},
	"token-bad-request-repeated-parameter.json": {400, func(t *testing.T, s *stack, resp events.APIGatewayV2HTTPResponse) {
		var e struct{ Error string }
		if json.Unmarshal([]byte(resp.Body), &e); e.Error != "invalid_request" {
			t.Errorf("body %s: want error invalid_request", resp.Body)
		}
	}},
	"token-revoke.json": {200, nil},
	"token-discovery.json": {200, func(t *testing.T, s *stack, resp events.APIGatewayV2HTTPResponse) {
		var m struct {
			Issuer        string `json:"issuer"`
			TokenEndpoint string `json:"token_endpoint"`
		}
		json.Unmarshal([]byte(resp.Body), &m)
		if m.Issuer != s.issuer || m.TokenEndpoint != s.issuer+"/oauth/token" {
			t.Errorf("discovery %s: want issuer %s", resp.Body, s.issuer)
		}
	}},
	"token-oauth-authorization-server.json": {200, nil},
	"token-jwks.json": {200, func(t *testing.T, s *stack, resp events.APIGatewayV2HTTPResponse) {
		var set jose.JSONWebKeySet
		if err := json.Unmarshal([]byte(resp.Body), &set); err != nil || len(set.Keys) == 0 || !set.Keys[0].IsPublic() {
			t.Errorf("JWKS %s: want public keys (%v)", resp.Body, err)
		}
	}},
	"authorize-login-page.json": {200, func(t *testing.T, s *stack, resp events.APIGatewayV2HTTPResponse) {
		if !strings.HasPrefix(resp.Headers["Content-Type"], "text/html") || !hiddenField.MatchString(resp.Body) {
			t.Errorf("not the login form: %v\n%.400s", resp.Headers, resp.Body)
		}
	}},
	"authorize-logout.json": {200, func(t *testing.T, s *stack, resp events.APIGatewayV2HTTPResponse) {
		if len(resp.Cookies) == 0 || !strings.Contains(resp.Cookies[0], "Max-Age=0") {
			t.Errorf("cookies %v: want the session cookie cleared", resp.Cookies)
		}
	}},
	"policy-admin-list-clients.json": {200, func(t *testing.T, s *stack, resp events.APIGatewayV2HTTPResponse) {
		if !strings.Contains(resp.Body, `"client_id":"demo-spa"`) {
			t.Errorf("client list without demo-spa: %.300s", resp.Body)
		}
	}},
	"policy-admin-update-client-policies.json": {200, func(t *testing.T, s *stack, resp events.APIGatewayV2HTTPResponse) {
		c, err := s.store.Client(context.Background(), "demo-spa")
		if err != nil {
			t.Fatal(err)
		}
		var billing []string
		for _, p := range c.RefreshToken.Policies {
			if p.Audience == "https://billing.example.com" {
				billing = p.Scope
			}
		}
		if !slices.Equal(billing, []string{"read:billing", "write:billing"}) {
			t.Errorf("stored billing policy scope %v, want read:billing write:billing", billing)
		}
	}},
	"policy-admin-openapi.json": {200, func(t *testing.T, s *stack, resp events.APIGatewayV2HTTPResponse) {
		if !strings.HasPrefix(resp.Body, "openapi:") {
			t.Errorf("not the OpenAPI document: %.100s", resp.Body)
		}
	}},
}

var hiddenField = regexp.MustCompile(`<input type="hidden" name="(csrf|request)" value="([^"]*)">`)

// TestFunctionsUnderTheEmulator runs the three bootstraps under the Lambda
// Runtime Interface Emulator against DynamoDB and KMS emulators (or the
// endpoint in MRRT_AWS_ENDPOINT), sends them every event of events/, runs
// OAuth flows through the front door, and holds the AWS actions they used
// against their policies in template.yaml.
func TestFunctionsUnderTheEmulator(t *testing.T) {
	start := time.Now()
	s := startStack(t)
	t.Logf("built emulator and bootstraps in %v; stack up after %v", builds.took.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	ctx := context.Background()

	t.Run("cold start of each function: init time and first-invoke latency", func(t *testing.T) {
		first := map[local.Function]string{local.Authorize: "authorize-login-page.json", local.Token: "token-discovery.json", local.PolicyAdmin: "policy-admin-openapi.json"}
		for _, f := range local.Functions {
			inv, err := s.fns[f].Invoke(ctx, readEvent(t, first[f]))
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			init, err := s.fns[f].InitDuration(ctx)
			if err != nil {
				t.Fatal(err)
			}
			warm, err := s.fns[f].Invoke(ctx, readEvent(t, first[f]))
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%-12s init %6.1f ms   first invoke (init included) %6.1f ms   second invoke %5.1f ms",
				f, ms(init), ms(inv.Elapsed), ms(warm.Elapsed))
		}
	})

	t.Run("every event in events/ gets its expected answer and no function error", func(t *testing.T) {
		files, err := filepath.Glob(filepath.Join("..", "..", "..", "events", "*.json"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no events: %v", err)
		}
		seen := map[string]bool{}
		for _, path := range files {
			name := filepath.Base(path)
			seen[name] = true
			if strings.HasPrefix(name, string(apiAuthorizer)+"-") {
				continue // authorizer requests: the API authorizer's subtest sends them
			}
			t.Run(name, func(t *testing.T) {
				want, ok := expectations[name]
				if !ok {
					t.Fatalf("events/%s has no entry in this test's expectations", name)
				}
				raw := readEvent(t, name)
				var e events.APIGatewayV2HTTPRequest
				if err := json.Unmarshal(raw, &e); err != nil {
					t.Fatal(err)
				}
				f := functionOf(e.RouteKey)
				if f == "" {
					t.Fatalf("routeKey %q is served by no function", e.RouteKey)
				}
				if e.Version != "2.0" || e.RequestContext.RouteKey != e.RouteKey || e.RequestContext.HTTP.Path != e.RawPath ||
					e.RequestContext.HTTP.Method+" " != e.RouteKey[:len(e.RequestContext.HTTP.Method)+1] || e.RequestContext.RequestID == "" {
					t.Fatalf("not a consistent payload format 2.0 event: %+v", e)
				}
				raw = s.fillPlaceholders(t, raw)
				inv, err := s.fns[f].Invoke(ctx, raw)
				var fe *awstest.FunctionError
				if errors.As(err, &fe) {
					t.Fatalf("function error %s: %s", fe.Type, fe.Body)
				}
				if err != nil {
					t.Fatal(err)
				}
				if inv.Response.StatusCode != want.status {
					t.Fatalf("status %d, want %d: %s", inv.Response.StatusCode, want.status, inv.Response.Body)
				}
				if want.check != nil {
					want.check(t, s, inv.Response)
				}
				s.checkRequestLogged(t, f, e.RequestContext.RequestID)
			})
		}
		for name := range expectations {
			if !seen[name] {
				t.Errorf("expectation for events/%s, which does not exist", name)
			}
		}
	})

	t.Run("the example API authorizer allows this issuer's tokens, a DPoP-bound one with its proof, and denies the rest", func(t *testing.T) {
		fn, err := awstest.StartFunction(ctx, builds.emulator, builds.bootstrap[apiAuthorizer], awstest.FunctionConfig{
			Name: string(apiAuthorizer), Issuer: s.issuer, HomeDir: t.TempDir(), MemoryMiB: "128",
			Extra: []string{"API_AUDIENCE=https://api.example.com"},
		}.Env())
		if err != nil {
			t.Fatal(err)
		}
		defer fn.Stop()
		authorize := func(t *testing.T, event []byte) events.APIGatewayV2CustomAuthorizerSimpleResponse {
			t.Helper()
			inv, err := fn.InvokeRaw(ctx, event)
			if err != nil {
				t.Fatalf("%v\n%s", err, tail(fn.Log(), 3000))
			}
			var out events.APIGatewayV2CustomAuthorizerSimpleResponse
			if err := json.Unmarshal(inv.Raw, &out); err != nil {
				t.Fatalf("answer %s: %v", inv.Raw, err)
			}
			return out
		}
		files, _ := filepath.Glob(filepath.Join("..", "..", "..", "events", string(apiAuthorizer)+"-*.json"))
		if len(files) == 0 {
			t.Fatal("no authorizer events in events/")
		}
		for _, path := range files {
			if out := authorize(t, s.fillPlaceholders(t, readEvent(t, filepath.Base(path)))); !out.IsAuthorized || out.Context["client_id"] != "demo-m2m" {
				t.Errorf("events/%s: %+v, want allowed for demo-m2m", filepath.Base(path), out)
			}
		}
		var e events.APIGatewayV2CustomAuthorizerV2Request
		json.Unmarshal(readEvent(t, string(apiAuthorizer)+"-bearer.json"), &e)
		k := oauthtest.NewDPoPKey(t)
		bound := oauthtest.ClientCredentials(t, s.client, s.issuer, "https://api.example.com", k)
		s.issued = append(s.issued, bound)
		send := func(authorization, proof string) events.APIGatewayV2CustomAuthorizerSimpleResponse {
			e.Headers["authorization"], e.Headers["dpop"] = authorization, proof
			raw, _ := json.Marshal(e)
			return authorize(t, raw)
		}
		proof := k.Proof(t, http.MethodGet, "https://api.example.com/items", time.Now(), "", bound)
		if out := send("DPoP "+bound, proof); !out.IsAuthorized || out.Context["jkt"] != k.JKT {
			t.Errorf("DPoP-bound token with its proof: %+v, want allowed with jkt %s", out, k.JKT)
		}
		if out := send("DPoP "+bound, ""); out.IsAuthorized {
			t.Error("DPoP-bound token without a proof: allowed")
		}
		if out := send("Bearer "+bound, ""); out.IsAuthorized {
			t.Error("DPoP-bound token as Bearer: allowed")
		}
		if out := send("Bearer "+bound[:len(bound)-4]+"AAAA", ""); out.IsAuthorized {
			t.Error("tampered token: allowed")
		}
		if l, _ := fn.WaitLog(ctx, regexp.MustCompile(`"msg":"denied"`)); len(l) == 0 || strings.Contains(fn.Log(), bound) {
			t.Errorf("authorizer log without a denial, or with a token:\n%s", tail(fn.Log(), 3000))
		}
	})

	t.Run("a handler error comes back as errorType and Invoke reports it", func(t *testing.T) {
		// The adapter refuses a body flagged base64 that is not: the
		// handler returns an error, which Lambda reports in the answer.
		var e map[string]any
		json.Unmarshal(readEvent(t, "token-client-credentials.json"), &e)
		e["body"] = "%%% not base64 %%%"
		raw, _ := json.Marshal(e)
		inv, err := s.fns[local.Token].Invoke(ctx, raw)
		var fe *awstest.FunctionError
		if !errors.As(err, &fe) || fe.Type == "" || !strings.Contains(string(inv.Raw), `"errorType"`) {
			t.Fatalf("Invoke: %v, want a *awstest.FunctionError from an errorType answer", err)
		}
		// The function is still serving.
		if _, err := s.fns[local.Token].Invoke(ctx, readEvent(t, "token-jwks.json")); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("client credentials through the front door with x/oauth2", func(t *testing.T) {
		cc := clientcredentials.Config{
			ClientID: "demo-m2m", ClientSecret: "demo-m2m-secret-change-me",
			TokenURL: s.issuer + "/oauth/token", AuthStyle: oauth2.AuthStyleInParams,
			EndpointParams: url.Values{"audience": {"https://api.example.com"}},
		}
		tok, err := cc.Token(context.WithValue(ctx, oauth2.HTTPClient, s.client))
		if err != nil {
			t.Fatal(err)
		}
		c := s.verify(t, tok.AccessToken)
		if c["iss"] != s.issuer || c["aud"] != "https://api.example.com" || c["sub"] != "demo-m2m@clients" {
			t.Errorf("claims %v", c)
		}
	})

	t.Run("sign-in, code exchange and a refresh with audience switch through the front door", func(t *testing.T) {
		tok := s.signIn(t)
		if tok.RefreshToken == "" {
			t.Fatal("no refresh token")
		}
		if c := s.verify(t, tok.AccessToken); c["aud"] != "https://api.example.com" || c["sub"] != "auth0|demo" {
			t.Errorf("first access token claims %v", c)
		}
		resp, body := s.postForm(t, "/oauth/token", url.Values{
			"grant_type": {"refresh_token"}, "client_id": {"demo-spa"},
			"refresh_token": {tok.RefreshToken}, "audience": {"https://billing.example.com"},
		})
		if resp.StatusCode != 200 {
			t.Fatalf("refresh: %d %s", resp.StatusCode, body)
		}
		var out struct {
			AccessToken  string `json:"access_token"`
			RefreshToken string `json:"refresh_token"`
		}
		json.Unmarshal(body, &out)
		c := s.verify(t, out.AccessToken)
		if c["aud"] != "https://billing.example.com" || c["iss"] != s.issuer {
			t.Errorf("switched access token claims %v", c)
		}
		if out.RefreshToken == "" || out.RefreshToken == tok.RefreshToken {
			t.Error("the SPA's refresh token did not rotate")
		}
		// The old token is now a reuse: the family is revoked (RFC 9700 §4.14.2).
		resp, body = s.postForm(t, "/oauth/token", url.Values{
			"grant_type": {"refresh_token"}, "client_id": {"demo-spa"}, "refresh_token": {tok.RefreshToken},
		})
		if resp.StatusCode != 400 || !strings.Contains(string(body), "invalid_grant") {
			t.Errorf("reused refresh token: %d %s, want 400 invalid_grant", resp.StatusCode, body)
		}
	})

	t.Run("the admin API through the front door: a user's refresh tokens listed and revoked, a client created and deleted", func(t *testing.T) {
		tok := s.signIn(t)
		admin := s.adminToken(t)
		status, body := s.admin(t, admin, "GET", "/api/v2/users/auth0%7Cdemo/refresh-tokens", "")
		if status != 200 || !strings.Contains(body, `"client_id":"demo-spa"`) {
			t.Fatalf("list refresh tokens: %d %s", status, body)
		}
		if status, body = s.admin(t, admin, "DELETE", "/api/v2/users/auth0%7Cdemo/refresh-tokens", ""); status != 204 {
			t.Fatalf("revoke refresh tokens: %d %s", status, body)
		}
		resp, out := s.postForm(t, "/oauth/token", url.Values{
			"grant_type": {"refresh_token"}, "client_id": {"demo-spa"}, "refresh_token": {tok.RefreshToken},
		})
		if resp.StatusCode != 400 || !strings.Contains(string(out), "invalid_grant") {
			t.Errorf("refresh after revocation: %d %s, want 400 invalid_grant", resp.StatusCode, out)
		}
		status, body = s.admin(t, admin, "POST", "/api/v2/clients", `{"name":"Throwaway","app_type":"non_interactive","token_endpoint_auth_method":"client_secret_post","grant_types":["client_credentials"]}`)
		var created struct {
			ClientID     string `json:"client_id"`
			ClientSecret string `json:"client_secret"`
		}
		if json.Unmarshal([]byte(body), &created); status != 201 || created.ClientID == "" {
			t.Fatalf("create client: %d %s", status, body)
		}
		s.issued = append(s.issued, created.ClientSecret)
		if status, body = s.admin(t, admin, "DELETE", "/api/v2/clients/"+created.ClientID, ""); status != 204 {
			t.Errorf("delete client: %d %s", status, body)
		}
	})

	t.Run("a wrong password through the front door shows the form again", func(t *testing.T) {
		jar, _ := cookiejar.New(nil)
		browser := &http.Client{Jar: jar, Timeout: time.Minute, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		var e events.APIGatewayV2HTTPRequest
		json.Unmarshal(readEvent(t, "authorize-login-page.json"), &e)
		resp, err := browser.Get(s.issuer + "/authorize?" + e.RawQueryString)
		if err != nil {
			t.Fatal(err)
		}
		page, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		form := url.Values{"username": {"demo@example.com"}, "password": {"not-the-password"}}
		for _, m := range hiddenField.FindAllStringSubmatch(string(page), -1) {
			form.Set(m[1], html.UnescapeString(m[2]))
		}
		resp, err = browser.PostForm(s.issuer+"/authorize/login", form)
		if err != nil {
			t.Fatal(err)
		}
		page, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusSeeOther || !hiddenField.Match(page) {
			t.Errorf("wrong password: %d, want the login form again\n%.300s", resp.StatusCode, page)
		}
	})

	t.Run("no secret, token or password reaches the function logs", func(t *testing.T) {
		secrets := append([]string{"demo-m2m-secret-change-me", "admin-cli-secret-change-me", "demo-web-secret-change-me", "demo-password"}, s.issued...)
		for f, fn := range s.fns {
			log := fn.Log()
			for _, sec := range secrets {
				if strings.Contains(log, sec) {
					t.Errorf("%s logged a secret (%.12s...)", f, sec)
				}
			}
		}
	})

	t.Run("every line a function logged while serving a request carries the API Gateway request id", func(t *testing.T) {
		for _, f := range local.Functions {
			served := 0
			for _, l := range s.fns[f].JSONLines() {
				if _, ok := l[lambdahttp.AttrAWSRequestID]; !ok {
					continue // logged outside an invocation's context
				}
				served++
				if id, _ := l[lambdahttp.AttrRequestID].(string); id == "" {
					t.Errorf("%s: line without request_id: %v", f, l)
				}
			}
			if served == 0 {
				t.Errorf("%s logged no line while serving requests", f)
			}
		}
	})

	t.Run("the functions' metric lines are valid EMF and their event lines read back as events", func(t *testing.T) {
		metrics, events := 0, map[string]int{}
		for f, fn := range s.fns {
			for _, line := range fn.Lines() {
				if !strings.Contains(line, `"_aws"`) {
					continue
				}
				metrics++
				if err := emf.Validate([]byte(line)); err != nil {
					t.Errorf("%s: %v: %s", f, err, line)
				}
				if e, ok := logevents.Parse(line); ok {
					events[e.Type]++
				}
			}
		}
		// The flows above signed in, exchanged a code, refreshed (MRRT),
		// reused a token, used client credentials and called the admin API.
		for _, typ := range []string{"s", "seacft", "sertft", "ferrt", "seccft", "mgmt_api_read", "sapi"} {
			if events[typ] == 0 {
				t.Errorf("no %s event in the functions' logs (events %v)", typ, events)
			}
		}
		t.Logf("%d EMF lines; events %v", metrics, events)
	})

	t.Run("each function uses only the AWS actions its template policy grants", func(t *testing.T) {
		s.checkLeastPrivilege(t)
	})
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func readEvent(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "events", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// functionOf is the function whose router serves routeKey.
func functionOf(routeKey string) local.Function {
	for _, f := range local.Functions {
		if slices.Contains(local.RoutesOf(f), routeKey) {
			return f
		}
	}
	return ""
}

// fillPlaceholders puts a live admin token or refresh token where an event
// has a placeholder, as the README tells users to do.
func (s *stack) fillPlaceholders(t *testing.T, raw []byte) []byte {
	t.Helper()
	text := strings.ReplaceAll(string(raw), issuerPlaceholder, url.QueryEscape(s.issuer))
	if strings.Contains(text, adminTokenPlaceholder) {
		text = strings.ReplaceAll(text, adminTokenPlaceholder, s.adminToken(t))
	}
	if strings.Contains(text, accessTokenPlaceholder) {
		tok := oauthtest.ClientCredentials(t, s.client, s.issuer, "https://api.example.com", nil)
		s.issued = append(s.issued, tok)
		text = strings.ReplaceAll(text, accessTokenPlaceholder, tok)
	}
	if strings.Contains(text, refreshTokenPlaceholder) {
		tok := s.signIn(t)
		text = strings.ReplaceAll(text, refreshTokenPlaceholder, tok.RefreshToken)
	}
	return []byte(text)
}

// checkRequestLogged finds the function's request line for the API Gateway
// request id and checks that every line of that invocation carries it.
func (s *stack) checkRequestLogged(t *testing.T, f local.Function, requestID string) {
	t.Helper()
	// The request line is the invocation's last; wait until it is read.
	if _, err := s.fns[f].WaitLog(context.Background(), regexp.MustCompile(`"msg":"request".*"`+lambdahttp.AttrRequestID+`":"`+regexp.QuoteMeta(requestID)+`"`)); err != nil {
		t.Fatal(err)
	}
	var invocation string
	for _, l := range s.fns[f].JSONLines() {
		if l["msg"] == "request" && l[lambdahttp.AttrRequestID] == requestID {
			invocation, _ = l[lambdahttp.AttrAWSRequestID].(string)
		}
	}
	if invocation == "" {
		t.Fatalf("%s logged no request line with request_id %s", f, requestID)
	}
	for _, l := range s.fns[f].JSONLines() {
		if l[lambdahttp.AttrAWSRequestID] == invocation && l[lambdahttp.AttrRequestID] != requestID {
			t.Errorf("line of invocation %s without its API Gateway request id: %v", invocation, l)
		}
	}
}

// postForm posts through the front door.
func (s *stack) postForm(t *testing.T, path string, form url.Values) (*http.Response, []byte) {
	t.Helper()
	resp, err := s.client.PostForm(s.issuer+path, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp, body
}

// admin calls the admin API through the front door.
func (s *stack) admin(t *testing.T, token, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, s.issuer+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// adminToken gets a policy-admin token with the seed's bootstrap client.
func (s *stack) adminToken(t *testing.T) string {
	t.Helper()
	resp, body := s.postForm(t, "/oauth/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {"admin-cli"}, "client_secret": {"admin-cli-secret-change-me"},
		"audience": {s.issuer + "/api/v2/"},
	})
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if json.Unmarshal(body, &out); resp.StatusCode != 200 || out.AccessToken == "" {
		t.Fatalf("admin token: %d %s", resp.StatusCode, body)
	}
	s.issued = append(s.issued, out.AccessToken)
	return out.AccessToken
}

// signIn runs the authorization code flow with PKCE for demo-spa as the
// seed's user, through the front door, like a browser.
func (s *stack) signIn(t *testing.T) *oauth2.Token {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	browser := &http.Client{Jar: jar, Timeout: time.Minute, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	conf := &oauth2.Config{
		ClientID: "demo-spa", RedirectURL: "https://app.example.com/callback",
		Scopes:   []string{"openid", "offline_access", "read:data"},
		Endpoint: oauth2.Endpoint{AuthURL: s.issuer + "/authorize", TokenURL: s.issuer + "/oauth/token", AuthStyle: oauth2.AuthStyleInParams},
	}
	verifier := oauth2.GenerateVerifier()
	resp, err := browser.Get(conf.AuthCodeURL("st-1", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("audience", "https://api.example.com")))
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	form := url.Values{"username": {"demo@example.com"}, "password": {"demo-password"}}
	for _, m := range hiddenField.FindAllStringSubmatch(string(page), -1) {
		form.Set(m[1], html.UnescapeString(m[2]))
	}
	if resp.StatusCode != 200 || form.Get("csrf") == "" {
		t.Fatalf("login page: %d\n%.500s", resp.StatusCode, page)
	}
	resp, err = browser.PostForm(s.issuer+"/authorize/login", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || resp.StatusCode != http.StatusSeeOther || loc.Query().Get("code") == "" || loc.Query().Get("state") != "st-1" {
		t.Fatalf("sign-in: %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	tok, err := conf.Exchange(context.WithValue(context.Background(), oauth2.HTTPClient, s.client), loc.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	s.issued = append(s.issued, tok.AccessToken, tok.RefreshToken)
	return tok
}

// verify checks a JWT against the JWKS the front door serves and returns
// its claims.
func (s *stack) verify(t *testing.T, token string) map[string]any {
	t.Helper()
	resp, err := s.client.Get(s.issuer + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil {
		t.Fatalf("parse JWT: %v", err)
	}
	keys := set.Key(jws.Signatures[0].Protected.KeyID)
	if len(keys) != 1 {
		t.Fatalf("kid %q not in the JWKS", jws.Signatures[0].Protected.KeyID)
	}
	payload, err := jws.Verify(keys[0])
	if err != nil {
		t.Fatalf("signature does not verify with the JWKS: %v", err)
	}
	var c map[string]any
	json.Unmarshal(payload, &c)
	return c
}

// accessTokenClaims verifies the access_token of a token response body.
func (s *stack) accessTokenClaims(t *testing.T, body string) map[string]any {
	t.Helper()
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal([]byte(body), &out); err != nil || out.AccessToken == "" {
		t.Fatalf("token response %s", body)
	}
	s.issued = append(s.issued, out.AccessToken)
	return s.verify(t, out.AccessToken)
}
