package token

import (
	"net/http"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// CORS: single-page apps call the token, revocation and userinfo endpoints
// and read discovery and the JWKS from another origin. These endpoints use
// no cookies or other ambient credentials (clients authenticate in the
// request itself, public ones with PKCE or the refresh token), so by
// default any origin may call them and credentials are never allowed. An
// application that lists origins (allowed_origins, web_origins, as in
// Auth0) narrows that: a request naming it from another origin is refused
// before anything happens (checkOrigin). /authorize has no CORS at all.
func cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Origin") != "" {
			w.Header().Set("Access-Control-Allow-Origin", "*")
			// RFC 9449 §8: a browser client must read the nonce.
			w.Header().Set("Access-Control-Expose-Headers", "DPoP-Nonce")
		}
		next.ServeHTTP(w, r)
	})
}

// allowedHeaders are the request headers browsers may send: Auth0's SDKs
// add Auth0-Client (telemetry) to every call and DPoP in DPoP mode
// (auth0-spa-js src/http.ts).
const allowedHeaders = "Authorization, Content-Type, Auth0-Client, DPoP"

// servePreflight answers a CORS preflight of the token, revocation and
// userinfo endpoints. A preflight carries no body, so it cannot name the
// client: the actual request is checked (checkOrigin).
func servePreflight(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Methods", "GET, POST")
	h.Set("Access-Control-Allow-Headers", allowedHeaders)
	h.Set("Access-Control-Max-Age", "86400")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}

// errOriginNotAllowed refuses a browser request from an origin the client
// does not list.
var errOriginNotAllowed = &oauth.Error{Code: oauth.InvalidRequest, Description: "the request's origin is not an allowed origin of this application"}

// checkOrigin applies c's origin list to a browser request: a listed
// origin gets its own CORS answer (Vary: Origin), another one is refused
// without CORS headers, so the page cannot read even the refusal.
func checkOrigin(w http.ResponseWriter, r *http.Request, c *oauth.Client) error {
	origin := r.Header.Get("Origin")
	if origin == "" || (len(c.AllowedOrigins) == 0 && len(c.WebOrigins) == 0) {
		return nil
	}
	h := w.Header()
	h.Add("Vary", "Origin")
	if !c.AllowsOrigin(origin) {
		h.Del("Access-Control-Allow-Origin")
		return errOriginNotAllowed
	}
	h.Set("Access-Control-Allow-Origin", origin)
	return nil
}
