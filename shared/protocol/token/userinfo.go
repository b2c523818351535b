package token

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/crypto/jws"
	"github.com/mrrt-auth/mrrt/shared/protocol/httpx"
)

// userinfoClaims are the members of a userinfo access token that are
// checked (RFC 9068 §4).
type userinfoClaims struct {
	Iss   string          `json:"iss"`
	Sub   string          `json:"sub"`
	Aud   json.RawMessage `json:"aud"`
	Exp   int64           `json:"exp"`
	Scope string          `json:"scope"`
	Cnf   *cnf            `json:"cnf"`
}

// userinfoResponse is OIDC Core §5.3.2's answer: sub and the claims the
// token's scopes allow.
type userinfoResponse struct {
	Sub string `json:"sub"`
	userClaims
}

// bearerError is an RFC 6750 §3 error: status, WWW-Authenticate and a
// JSON body of the same code.
type bearerError struct {
	status      int
	code, desc  string
	noErrorCode bool // §3.1: a request without credentials gets no error code
}

func (e *bearerError) Error() string { return e.code + ": " + e.desc }

func invalidToken(desc string) *bearerError {
	return &bearerError{status: http.StatusUnauthorized, code: "invalid_token", desc: desc}
}

// serveUserinfo is the UserInfo endpoint (OIDC Core §5.3): GET or POST
// with a bearer access token of this server whose audience is the
// userinfo audience and whose scope holds openid.
func (h *handler) serveUserinfo(w http.ResponseWriter, r *http.Request) {
	resp, err := h.userinfo(w, r)
	var be *bearerError
	switch {
	case errors.As(err, &be):
		challenge := "Bearer"
		if !be.noErrorCode {
			challenge = fmt.Sprintf(`Bearer error="%s", error_description="%s"`, be.code, be.desc)
		}
		w.Header().Set("WWW-Authenticate", challenge)
		httpx.WriteJSON(w, be.status, map[string]string{"error": be.code, "error_description": be.desc})
	case err != nil:
		httpx.WriteError(w, r, h.log, err)
	default:
		httpx.WriteJSON(w, http.StatusOK, resp)
	}
}

func (h *handler) userinfo(w http.ResponseWriter, r *http.Request) (*userinfoResponse, error) {
	raw, scheme, err := bearer(r)
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	keys, err := h.d.Signer.PublicKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("token: public keys: %w", err)
	}
	hdr, payload, err := jws.Verify(raw, keys)
	if err != nil {
		return nil, invalidToken("the token signature is invalid")
	}
	// RFC 9068 §4: an ID token (same keys) is never an access token.
	if !strings.EqualFold(hdr.Typ, oauth.TypAccessToken) && !strings.EqualFold(hdr.Typ, "application/"+oauth.TypAccessToken) {
		return nil, invalidToken("the token is not an access token")
	}
	var c userinfoClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, invalidToken("the token claims are malformed")
	}
	var aud string
	if c.Iss != h.d.Issuer || json.Unmarshal(c.Aud, &aud) != nil || aud != oauth.UserinfoAudience(h.d.Issuer) {
		return nil, invalidToken("the token is not for the userinfo endpoint of this issuer")
	}
	if !h.d.Now().Before(time.Unix(c.Exp, 0)) || c.Sub == "" {
		return nil, invalidToken("the token expired")
	}
	// RFC 9449 §7: a DPoP-bound token only with the DPoP scheme and a proof
	// of its key for this request (ath included); an unbound one only as
	// Bearer.
	if c.Cnf != nil {
		if !strings.EqualFold(scheme, "DPoP") {
			return nil, invalidToken("the token is bound to a DPoP key: use the DPoP scheme with a proof")
		}
		pctx, err := h.checkDPoP(ctx, w, r, raw)
		if err != nil || dpopJKT(pctx) != c.Cnf.JKT {
			return nil, invalidToken("the DPoP proof is missing, invalid or of another key")
		}
	} else if !strings.EqualFold(scheme, "Bearer") {
		return nil, invalidToken("the token is not DPoP-bound: use the Bearer scheme")
	}
	scopes := strings.Fields(c.Scope)
	if !slices.Contains(scopes, oauth.ScopeOpenID) {
		return nil, &bearerError{status: http.StatusForbidden, code: "insufficient_scope", desc: "the token's scope lacks openid"}
	}
	if h.d.Users == nil {
		return &userinfoResponse{Sub: c.Sub}, nil
	}
	u, err := h.d.Users.User(ctx, c.Sub)
	if errors.Is(err, oauth.ErrNotFound) {
		return nil, invalidToken("the user no longer exists")
	}
	if err != nil {
		return nil, fmt.Errorf("token: user: %w", err)
	}
	if u.Blocked {
		return nil, invalidToken("the user is blocked")
	}
	return &userinfoResponse{Sub: c.Sub, userClaims: claimsOf(u, scopes)}, nil
}

// bearer returns the token of the one Authorization header, Bearer
// (RFC 6750 §2.1) or DPoP (RFC 9449 §7.1), and its scheme.
func bearer(r *http.Request) (tok, scheme string, err error) {
	values := r.Header.Values("Authorization")
	if len(values) == 0 {
		return "", "", &bearerError{status: http.StatusUnauthorized, code: "invalid_request", desc: "an Authorization: Bearer token is required", noErrorCode: true}
	}
	scheme, tok, ok := strings.Cut(values[0], " ")
	known := strings.EqualFold(scheme, "Bearer") || strings.EqualFold(scheme, "DPoP")
	if len(values) > 1 || !ok || !known || tok == "" || strings.ContainsAny(tok, " \t") {
		return "", "", &bearerError{status: http.StatusBadRequest, code: "invalid_request", desc: "the Authorization header must be a single Bearer or DPoP token"}
	}
	return tok, scheme, nil
}
