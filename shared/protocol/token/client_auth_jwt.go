package token

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/crypto/jws"
)

// private_key_jwt (RFC 7523 §2.2, RFC 7521 §4.2, OIDC Core §9): the client
// authenticates with a JWT it signed with a key it registered
// (client_authentication_methods.private_key_jwt.credentials, as in
// Auth0). iss and sub are its client_id, aud this server (the issuer or
// the token endpoint), exp close, and jti used once: a conditional write
// with a TTL (the login throttle's primitive, limit 1) refuses a replay
// on every instance. That write replaces the secret check, on requests of
// such clients only.

const (
	assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	// maxAssertionLife bounds exp - now: an assertion is made per request.
	maxAssertionLife = 10 * time.Minute
	assertionSkew    = 30 * time.Second
)

// assertionAlgs are the algorithms a credential may declare.
var assertionAlgs = []string{oauth.AlgRS256, "PS256", oauth.AlgES256}

type assertionClaims struct {
	Iss string          `json:"iss"`
	Sub string          `json:"sub"`
	Aud json.RawMessage `json:"aud"`
	Exp *int64          `json:"exp"`
	Jti string          `json:"jti"`
}

// assertionSubject reads sub of an unverified assertion, to find the client.
func assertionSubject(assertion string) string {
	parts := strings.Split(assertion, ".")
	if len(parts) != 3 {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var c assertionClaims
	if json.Unmarshal(b, &c) != nil {
		return ""
	}
	return c.Sub
}

// verifyAssertion checks assertion against c's credentials.
func (h *handler) verifyAssertion(ctx context.Context, c *oauth.Client, assertion string) (bool, error) {
	var payload []byte
	for _, cr := range c.AssertionKeys() {
		if cr.Expired(h.d.Now()) {
			continue
		}
		key, err := oauth.ParsePublicKeyPEM(cr.PEM)
		if err != nil {
			continue
		}
		if _, p, err := jws.VerifyWith(assertion, key, []string{cr.Alg}); err == nil {
			payload = p
			break
		}
	}
	if payload == nil {
		return false, nil
	}
	var cl assertionClaims
	if err := json.Unmarshal(payload, &cl); err != nil {
		return false, nil
	}
	now := h.d.Now()
	if cl.Iss != c.ClientID || cl.Sub != c.ClientID || cl.Jti == "" || len(cl.Jti) > 256 || cl.Exp == nil {
		return false, nil
	}
	exp := time.Unix(*cl.Exp, 0)
	if !now.Before(exp.Add(assertionSkew)) || exp.After(now.Add(maxAssertionLife)) {
		return false, nil
	}
	if !h.assertionAudience(cl.Aud) {
		return false, nil
	}
	if h.d.Replay == nil {
		return false, fmt.Errorf("token: private_key_jwt without a replay store")
	}
	fresh, err := h.d.Replay.ReserveLoginAttempt(ctx, "client-assertion#"+c.ClientID+"#"+cl.Jti, now, maxAssertionLife+assertionSkew, 1)
	if err != nil {
		return false, fmt.Errorf("token: assertion replay check: %w", err)
	}
	return fresh, nil
}

// assertionAudience accepts the issuer (as configured or without its
// trailing slash) and the token endpoint (RFC 7523 §3 item 3).
func (h *handler) assertionAudience(raw json.RawMessage) bool {
	base := oauth.IssuerBase(h.d.Issuer)
	ok := []string{h.d.Issuer, base, base + "/", base + "/oauth/token"}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return slices.Contains(ok, one)
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil {
		return slices.ContainsFunc(many, func(a string) bool { return slices.Contains(ok, a) })
	}
	return false
}
