// Package apiauth is for the APIs this server issues tokens for: it checks
// an RFC 9068 access token of the issuer for one audience against the
// issuer's JWKS and, when the token is DPoP-bound (cnf.jkt), the request's
// DPoP proof (RFC 9449 §7: the DPoP scheme, htm, htu, iat and ath, and a
// proof of the bound key). API Gateway's JWT authorizer checks signature,
// issuer and audience but not DPoP, so a DPoP-bound token is only worth
// its binding where an API (or a Lambda authorizer) checks it with this.
//
//	v := &apiauth.Verifier{Issuer: "https://auth.example.com/", Audience: "https://api.example.com",
//		BaseURL: "https://api.example.com"}
//	claims, err := v.Verify(ctx, r) // err: answer 401 with WWW-Authenticate: apiauth.Challenge
package apiauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/crypto/dpop"
	"github.com/mrrt-auth/mrrt/shared/crypto/jws"
)

// Verifier checks requests to one API. The zero values of the optional
// fields are sensible defaults.
type Verifier struct {
	Issuer   string // the issuer exactly as it writes iss
	Audience string // this API's identifier
	// BaseURL is the API's external URL (scheme and host, no trailing
	// slash): htu is BaseURL + the request's path. Empty: https:// and the
	// request's Host, only right where Host is the host the request
	// reached (API Gateway's requestContext.domainName), not a header a
	// client chose.
	BaseURL string
	// JWKSURL defaults to the issuer's /.well-known/jwks.json.
	JWKSURL    string
	HTTPClient *http.Client
	Now        func() time.Time
	// DPoPMaxAge bounds how old a proof may be (default 1 minute).
	DPoPMaxAge time.Duration

	mu      sync.Mutex
	keys    []oauth.PublicKey
	fetched time.Time
}

// Claims are what a verified token says.
type Claims struct {
	Subject  string
	ClientID string
	Scopes   []string
	JKT      string // "" for a Bearer token
}

// ErrInvalid wraps every refusal (RFC 6750 §3.1 invalid_token).
var ErrInvalid = errors.New("apiauth: invalid token")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

type tokenClaims struct {
	Iss      string          `json:"iss"`
	Sub      string          `json:"sub"`
	Aud      json.RawMessage `json:"aud"`
	Exp      int64           `json:"exp"`
	ClientID string          `json:"client_id"`
	Scope    string          `json:"scope"`
	Cnf      *struct {
		JKT string `json:"jkt"`
	} `json:"cnf"`
}

// keysTTL is how long fetched keys are used before the JWKS is read again;
// an unknown kid reads it at once (at most every keysMinInterval).
const (
	keysTTL         = 5 * time.Minute
	keysMinInterval = 10 * time.Second
)

// Verify checks r's access token (and DPoP proof) and returns its claims.
func (v *Verifier) Verify(ctx context.Context, r *http.Request) (*Claims, error) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || token == "" || len(r.Header.Values("Authorization")) != 1 {
		return nil, invalid("a single Authorization header with a Bearer or DPoP token is required")
	}
	now := v.now()
	keys, err := v.publicKeys(ctx, now, false)
	if err != nil {
		return nil, err
	}
	hdr, payload, err := jws.Verify(token, keys)
	if errors.Is(err, jws.ErrInvalid) && strings.Contains(err.Error(), "unknown kid") {
		if keys, err = v.publicKeys(ctx, now, true); err != nil {
			return nil, err
		}
		hdr, payload, err = jws.Verify(token, keys)
	}
	if err != nil {
		return nil, invalid("signature: %v", err)
	}
	if !strings.EqualFold(hdr.Typ, oauth.TypAccessToken) && !strings.EqualFold(hdr.Typ, "application/"+oauth.TypAccessToken) {
		return nil, invalid("not an access token (typ at+jwt)")
	}
	var c tokenClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, invalid("claims")
	}
	var aud string
	if c.Iss != v.Issuer || json.Unmarshal(c.Aud, &aud) != nil || aud != v.Audience {
		return nil, invalid("issued by another issuer or for another audience")
	}
	if !now.Before(time.Unix(c.Exp, 0)) {
		return nil, invalid("expired")
	}
	out := &Claims{Subject: c.Sub, ClientID: c.ClientID, Scopes: strings.Fields(c.Scope)}
	if c.Cnf == nil || c.Cnf.JKT == "" {
		if !strings.EqualFold(scheme, "Bearer") {
			return nil, invalid("not DPoP-bound: use the Bearer scheme")
		}
		return out, nil
	}
	if !strings.EqualFold(scheme, "DPoP") {
		return nil, invalid("DPoP-bound: use the DPoP scheme with a proof")
	}
	proofs := r.Header.Values("DPoP")
	if len(proofs) != 1 {
		return nil, invalid("exactly one DPoP proof is required")
	}
	maxAge := v.DPoPMaxAge
	if maxAge <= 0 {
		maxAge = time.Minute
	}
	p, err := dpop.Check(proofs[0], dpop.Params{
		Method: r.Method, URL: v.baseURL(r) + r.URL.Path, Now: now,
		MaxAge: maxAge, Skew: 30 * time.Second, AccessToken: token,
	})
	if err != nil {
		return nil, invalid("DPoP proof: %v", err)
	}
	if p.JKT != c.Cnf.JKT {
		return nil, invalid("the DPoP proof is of another key")
	}
	out.JKT = p.JKT
	return out, nil
}

// HasScope reports whether the token carries scope.
func (c *Claims) HasScope(scope string) bool { return slices.Contains(c.Scopes, scope) }

// Challenge is the WWW-Authenticate value for a refusal (RFC 6750 §3,
// RFC 9449 §7.1).
const Challenge = `Bearer error="invalid_token", DPoP error="invalid_token", algs="ES256 RS256 PS256"`

func (v *Verifier) baseURL(r *http.Request) string {
	if v.BaseURL == "" {
		return "https://" + r.Host
	}
	return strings.TrimSuffix(v.BaseURL, "/")
}

func (v *Verifier) now() time.Time {
	if v.Now != nil {
		return v.Now()
	}
	return time.Now()
}

// publicKeys returns the issuer's keys, read again when stale or, with
// refresh, when a token names a kid not seen yet.
func (v *Verifier) publicKeys(ctx context.Context, now time.Time, refresh bool) ([]oauth.PublicKey, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	age := now.Sub(v.fetched)
	if v.keys != nil && age < keysTTL && (!refresh || age < keysMinInterval) {
		return v.keys, nil
	}
	url := v.JWKSURL
	if url == "" {
		url = oauth.IssuerBase(v.Issuer) + "/.well-known/jwks.json"
	}
	client := v.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return v.stale(fmt.Errorf("apiauth: JWKS: %w", err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil || resp.StatusCode != http.StatusOK {
		return v.stale(fmt.Errorf("apiauth: JWKS: status %d, %v", resp.StatusCode, err))
	}
	keys, err := jws.ParseJWKS(body)
	if err != nil {
		return v.stale(err)
	}
	v.keys, v.fetched = keys, now
	return keys, nil
}

// stale keeps using the last keys when the JWKS cannot be read.
func (v *Verifier) stale(err error) ([]oauth.PublicKey, error) {
	if v.keys != nil {
		return v.keys, nil
	}
	return nil, err
}
