package token

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync/atomic"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/crypto/dpop"
	"github.com/mrrt-auth/mrrt/shared/crypto/jws"
	"github.com/mrrt-auth/mrrt/shared/protocol/httpx"
)

// jwksCache holds the rendered JWKS for the last key set the signer
// returned, so a request with unchanged keys costs a comparison, not a
// marshal.
type jwksCache struct {
	p atomic.Pointer[renderedJWKS]
}

type renderedJWKS struct {
	keys []oauth.PublicKey
	body []byte
}

type equaler interface{ Equal(x crypto.PublicKey) bool }

func sameKeys(a, b []oauth.PublicKey) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].KeyID != b[i].KeyID || a[i].Alg != b[i].Alg {
			return false
		}
		if !sameKey(a[i].Key, b[i].Key) {
			return false
		}
	}
	return true
}

// sameKey compares pointers first: signers hand out the same key values on
// every call, and Equal on big numbers allocates.
func sameKey(a, b crypto.PublicKey) bool {
	switch ak := a.(type) {
	case *rsa.PublicKey:
		if bk, ok := b.(*rsa.PublicKey); ok && ak == bk {
			return true
		}
	case *ecdsa.PublicKey:
		if bk, ok := b.(*ecdsa.PublicKey); ok && ak == bk {
			return true
		}
	}
	k, ok := a.(equaler)
	return ok && k.Equal(b)
}

func (c *jwksCache) render(keys []oauth.PublicKey) ([]byte, error) {
	if cur := c.p.Load(); cur != nil && sameKeys(cur.keys, keys) {
		return cur.body, nil
	}
	body, err := jws.JWKS(keys)
	if err != nil {
		return nil, fmt.Errorf("token: jwks: %w", err)
	}
	c.p.Store(&renderedJWKS{keys: append([]oauth.PublicKey(nil), keys...), body: body})
	return body, nil
}

func (h *handler) serveJWKS(w http.ResponseWriter, r *http.Request) {
	keys, err := h.d.Signer.PublicKeys(r.Context())
	if err != nil {
		httpx.WriteError(w, r, h.log, fmt.Errorf("token: public keys: %w", err))
		return
	}
	body, err := h.jwks.render(keys)
	if err != nil {
		httpx.WriteError(w, r, h.log, err)
		return
	}
	writePublic(w, body)
}

func (h *handler) serveMetadata(w http.ResponseWriter, _ *http.Request) {
	writePublic(w, h.meta)
}

// writePublic serves a document every client may cache for five minutes
// (the JWKS must announce a new key at least that long before first use).
func writePublic(w http.ResponseWriter, body []byte) {
	hd := w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("Cache-Control", "public, max-age=300")
	hd.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	w.Write(body)
}

// metadata is the Authorization Server Metadata (RFC 8414 §2), which also
// serves as the OpenID Provider Metadata (OIDC Discovery §3).
type metadata struct {
	Issuer                                     string   `json:"issuer"`
	AuthorizationEndpoint                      string   `json:"authorization_endpoint"`
	TokenEndpoint                              string   `json:"token_endpoint"`
	RevocationEndpoint                         string   `json:"revocation_endpoint"`
	UserinfoEndpoint                           string   `json:"userinfo_endpoint"`
	EndSessionEndpoint                         string   `json:"end_session_endpoint"`
	JWKSURI                                    string   `json:"jwks_uri"`
	ResponseTypesSupported                     []string `json:"response_types_supported"`
	ResponseModesSupported                     []string `json:"response_modes_supported"`
	GrantTypesSupported                        []string `json:"grant_types_supported"`
	CodeChallengeMethodsSupported              []string `json:"code_challenge_methods_supported"`
	TokenEndpointAuthMethodsSupported          []string `json:"token_endpoint_auth_methods_supported"`
	RevocationEndpointAuthMethodsSupported     []string `json:"revocation_endpoint_auth_methods_supported"`
	ScopesSupported                            []string `json:"scopes_supported"`
	SubjectTypesSupported                      []string `json:"subject_types_supported"`
	IDTokenSigningAlgValuesSupported           []string `json:"id_token_signing_alg_values_supported"`
	ClaimsSupported                            []string `json:"claims_supported"`
	DPoPSigningAlgValuesSupported              []string `json:"dpop_signing_alg_values_supported"`
	TokenEndpointAuthSigningAlgValuesSupported []string `json:"token_endpoint_auth_signing_alg_values_supported"`
	AuthorizationResponseIssParameterSupported bool     `json:"authorization_response_iss_parameter_supported"`
}

// Discovery advertises only what works: the scopes whose claims the ID
// token and /userinfo deliver (claims.go), and those claims.
var (
	advertisedScopes = []string{oauth.ScopeOpenID, oauth.ScopeProfile, oauth.ScopeEmail, oauth.ScopeOfflineAccess}
	idTokenClaims    = append([]string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce"}, standardClaims...)
)

func (h *handler) metadata() []byte {
	base := oauth.IssuerBase(h.d.Issuer)
	authMethods := []string{oauth.AuthMethodClientSecretBasic, oauth.AuthMethodClientSecretPost, oauth.AuthMethodPrivateKeyJWT, oauth.AuthMethodNone}
	m := metadata{
		Issuer:                                     h.d.Issuer,
		AuthorizationEndpoint:                      base + "/authorize",
		TokenEndpoint:                              base + "/oauth/token",
		RevocationEndpoint:                         base + "/oauth/revoke",
		UserinfoEndpoint:                           base + "/userinfo",
		EndSessionEndpoint:                         base + "/oidc/logout",
		JWKSURI:                                    base + "/.well-known/jwks.json",
		ResponseTypesSupported:                     []string{"code"},
		ResponseModesSupported:                     []string{"query"},
		GrantTypesSupported:                        []string{oauth.GrantTypeAuthorizationCode, oauth.GrantTypeRefreshToken, oauth.GrantTypeClientCredentials},
		CodeChallengeMethodsSupported:              []string{oauth.CodeChallengeS256},
		TokenEndpointAuthMethodsSupported:          authMethods,
		RevocationEndpointAuthMethodsSupported:     authMethods,
		ScopesSupported:                            advertisedScopes,
		SubjectTypesSupported:                      []string{"public"},
		IDTokenSigningAlgValuesSupported:           []string{h.d.Signer.DefaultAlg()},
		ClaimsSupported:                            idTokenClaims,
		DPoPSigningAlgValuesSupported:              dpop.Algs,
		TokenEndpointAuthSigningAlgValuesSupported: assertionAlgs,
		AuthorizationResponseIssParameterSupported: true,
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		panic(err) // strings and bools only: cannot fail
	}
	return buf.Bytes()
}
