package token

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"net/http"
	"time"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/crypto/dpop"
)

// DPoP (RFC 9449) at the token endpoint, for every grant: a request with a
// DPoP header gets access tokens bound to the proof's key (cnf.jkt,
// token_type DPoP); a public client's refresh-token family is bound to the
// key for its whole life (§5), and a code issued with dpop_jkt only to it
// (§10). Replay is bounded without a write: proofs must carry a server
// nonce (§8) that is a MAC over a 5-minute slot, valid on every instance,
// for at most 10 minutes, and iat at most 5 minutes old. Within that, a
// captured proof can be replayed (no jti cache): it only ever works for the
// key holder's own request parameters.

const (
	dpopMaxAge    = 5 * time.Minute
	dpopSkew      = 30 * time.Second
	dpopNonceSlot = 5 * time.Minute
)

type dpopKey struct{}

// dpopJKT is the thumbprint of the request's checked proof, "" without one.
func dpopJKT(ctx context.Context) string {
	jkt, _ := ctx.Value(dpopKey{}).(string)
	return jkt
}

// tokenType is the response's token_type (RFC 9449 §5).
func tokenType(ctx context.Context) string {
	if dpopJKT(ctx) != "" {
		return "DPoP"
	}
	return "Bearer"
}

var (
	errDPoPNonce    = &oauth.Error{Code: oauth.UseDPoPNonce, Description: "a DPoP nonce is required: retry with the value of the DPoP-Nonce header"}
	errDPoPBoundKey = &oauth.Error{Code: oauth.InvalidGrant, Description: "this grant is bound to a DPoP key: present a proof of that key"}
)

// nonces are the server's DPoP nonces, keyed from the refresh-token key
// (the same on every instance).
func (h *handler) nonces(ctx context.Context) (*dpop.Nonces, error) {
	key, err := h.refreshKey(ctx)
	if err != nil {
		return nil, err
	}
	m := hmac.New(sha256.New, key)
	m.Write([]byte("dpop-nonce-key"))
	return &dpop.Nonces{Key: m.Sum(nil), Slot: dpopNonceSlot}, nil
}

// checkDPoP checks the request's DPoP proof, if it has one, for htm and
// htu of this request and, for a resource request, ath of accessToken. It
// returns ctx carrying the proof's thumbprint, and always hands out the
// current nonce in DPoP-Nonce.
func (h *handler) checkDPoP(ctx context.Context, w http.ResponseWriter, r *http.Request, accessToken string) (context.Context, error) {
	values := r.Header.Values("DPoP")
	if len(values) == 0 {
		return ctx, nil
	}
	nonces, err := h.nonces(ctx)
	if err != nil {
		return ctx, err
	}
	now := h.d.Now()
	w.Header().Set("DPoP-Nonce", nonces.Current(now))
	if len(values) > 1 {
		return ctx, oauth.Errorf(oauth.InvalidDPoPProof, "more than one DPoP header")
	}
	p, err := dpop.Check(values[0], dpop.Params{
		Method: r.Method, URL: oauth.IssuerBase(h.d.Issuer) + r.URL.Path, Now: now,
		MaxAge: dpopMaxAge, Skew: dpopSkew, Nonces: nonces, AccessToken: accessToken,
	})
	switch {
	case errors.Is(err, dpop.ErrNonce):
		return ctx, errDPoPNonce
	case err != nil:
		return ctx, oauth.Errorf(oauth.InvalidDPoPProof, "%s", err.Error())
	}
	return context.WithValue(ctx, dpopKey{}, p.JKT), nil
}

// Proofs required by policy (Auth0's require_proof_of_possession on the
// application, proof_of_possession.required on the API).
var (
	errDPoPRequiredByClient = &oauth.Error{Code: oauth.InvalidRequest, Description: "this application requires DPoP: send a DPoP proof"}
	errDPoPRequiredByAPI    = &oauth.Error{Code: oauth.InvalidRequest, Description: "this API accepts only DPoP-bound tokens: send a DPoP proof"}
)

// requireDPoP applies the API's policy to the request.
func requireDPoP(ctx context.Context, api *oauth.ResourceServer) error {
	if api.RequiresDPoP() && dpopJKT(ctx) == "" {
		return errDPoPRequiredByAPI
	}
	return nil
}

// checkBinding refuses a grant bound to a key (jkt) when the request's
// proof is of another key or missing. It revokes nothing: a thief without
// the key must not be able to log the user out.
func checkBinding(ctx context.Context, jkt string) error {
	if jkt != "" && dpopJKT(ctx) != jkt {
		return errDPoPBoundKey
	}
	return nil
}
