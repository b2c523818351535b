package awsstack

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"strings"
	"time"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// The default seed's demo application and user (shared/runtime/seed/default.json).
const (
	DemoSPA      = "demo-spa"
	DemoCallback = "https://app.example.com/callback"
	DemoUser     = "auth0|demo"
	DemoAPI      = "https://api.example.com"
)

// CodeVerifier is the PKCE verifier of NewCode's codes.
const CodeVerifier = "awsstack-code-verifier-0123456789-0123456789-0123"

// NewCode writes an authorization code of the demo user for the demo SPA
// and DemoAPI straight to store, as /authorize would after a sign-in;
// scope is space-separated. Redeem it with RedeemForm.
func NewCode(ctx context.Context, store oauth.CodeStore, scope string) (string, error) {
	id, err := oauth.NewID(rand.Reader)
	if err != nil {
		return "", err
	}
	code := "code-" + id
	sum := sha256.Sum256([]byte(CodeVerifier))
	now := time.Now()
	return code, store.CreateCode(ctx, &oauth.AuthCode{
		Hash: oauth.HashToken(code), ClientID: DemoSPA, RedirectURI: DemoCallback,
		CodeChallenge: base64.RawURLEncoding.EncodeToString(sum[:]), CodeChallengeMethod: oauth.CodeChallengeS256,
		Audience: DemoAPI, Scopes: strings.Fields(scope), UserID: DemoUser,
		AuthTime: now, ExpiresAt: now.Add(oauth.CodeLifetime),
	})
}

// RedeemForm is the /oauth/token form that exchanges a NewCode code.
func RedeemForm(code string) url.Values {
	return url.Values{"grant_type": {"authorization_code"}, "client_id": {DemoSPA}, "code": {code},
		"redirect_uri": {DemoCallback}, "code_verifier": {CodeVerifier}}
}
