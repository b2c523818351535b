package lambdahttp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/mrrt-auth/mrrt/shared/protocol/apiauth"
)

// AuthorizerFunc is an API Gateway HTTP API Lambda authorizer: payload
// format 2.0, simple responses.
type AuthorizerFunc func(context.Context, events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error)

// Authorizer checks each request's access token (and DPoP proof) with v.
// Allowed, the context carries the token's sub, client_id, scope and jkt
// for the integration ($context.authorizer.<name>). A refused token is a
// deny, which API Gateway answers 403; a JWKS that cannot be read (and no
// keys read before) is an error, which it answers 500, so that clients
// retry instead of dropping their token.
func Authorizer(v *apiauth.Verifier, logger *slog.Logger) AuthorizerFunc {
	return func(ctx context.Context, e events.APIGatewayV2CustomAuthorizerV2Request) (events.APIGatewayV2CustomAuthorizerSimpleResponse, error) {
		start := time.Now()
		c, err := v.Verify(ctx, AuthorizerRequest(ctx, e))
		attrs := []slog.Attr{slog.String(AttrRequestID, e.RequestContext.RequestID), slog.String("route", e.RouteKey),
			slog.Duration("duration", time.Since(start))}
		switch {
		case errors.Is(err, apiauth.ErrInvalid):
			// The reason names the failed check, never the token.
			logger.LogAttrs(ctx, slog.LevelInfo, "denied", append(attrs, slog.String("reason", err.Error()))...)
			return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: false}, nil
		case err != nil:
			logger.LogAttrs(ctx, slog.LevelError, "cannot check tokens", append(attrs, slog.Any("error", err))...)
			return events.APIGatewayV2CustomAuthorizerSimpleResponse{}, errors.New("the issuer's keys cannot be read")
		}
		logger.LogAttrs(ctx, slog.LevelInfo, "allowed", append(attrs, slog.String("client_id", c.ClientID), slog.Bool("dpop", c.JKT != ""))...)
		return events.APIGatewayV2CustomAuthorizerSimpleResponse{IsAuthorized: true, Context: map[string]any{
			"sub": c.Subject, "client_id": c.ClientID, "scope": strings.Join(c.Scopes, " "), "jkt": c.JKT,
		}}, nil
	}
}

// AuthorizerRequest is the request an authorizer event describes, as
// apiauth reads it: method, path, headers, and as Host the domain the
// request reached (requestContext.domainName, set by API Gateway).
func AuthorizerRequest(ctx context.Context, e events.APIGatewayV2CustomAuthorizerV2Request) *http.Request {
	r := (&http.Request{
		Method: e.RequestContext.HTTP.Method,
		URL:    &url.URL{Path: e.RawPath, RawQuery: e.RawQueryString},
		Header: http.Header{},
		Host:   e.RequestContext.DomainName,
	}).WithContext(ctx)
	for k, v := range e.Headers {
		r.Header.Set(k, v)
	}
	return r
}

// AuthorizerFromEnv is the Verifier the environment describes: ISSUER (as
// the token function writes iss), API_AUDIENCE (the API's identifier) and,
// optionally, API_BASE_URL (https://host of the API, for DPoP's htu when
// the API is reached under a base path or another host).
func AuthorizerFromEnv(getenv func(string) string) (*apiauth.Verifier, error) {
	v := &apiauth.Verifier{Issuer: getenv("ISSUER"), Audience: getenv("API_AUDIENCE"), BaseURL: getenv("API_BASE_URL")}
	var missing []string
	for name, val := range map[string]string{"ISSUER": v.Issuer, "API_AUDIENCE": v.Audience} {
		if val == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("environment: %s not set", strings.Join(missing, ", "))
	}
	if u, err := url.Parse(v.Issuer); err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("ISSUER %q is not an absolute URL", v.Issuer)
	}
	if v.BaseURL != "" {
		if u, err := url.Parse(v.BaseURL); err != nil || u.Scheme != "https" || u.Host == "" || strings.Trim(u.Path, "/") != "" {
			return nil, fmt.Errorf("API_BASE_URL %q: want https://host", v.BaseURL)
		}
	}
	return v, nil
}

// AuthorizerMain is the whole of an authorizer function's main, like Main:
// it builds the Verifier from the environment (logging one error line and
// exiting 1 if it cannot) and serves authorizer requests.
func AuthorizerMain(function string) {
	logger := NewLogger(os.Stdout, slog.LevelInfo)
	slog.SetDefault(logger)
	v, err := AuthorizerFromEnv(os.Getenv)
	if err != nil {
		logger.Error("configuration error; function not started", slog.String("function", function), slog.Any("error", err))
		os.Exit(1)
	}
	lambda.Start(Authorizer(v, logger))
}
