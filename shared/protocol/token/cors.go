package token

import "net/http"

// CORS: single-page apps call the token and revocation endpoints and read
// discovery and the JWKS from another origin. These endpoints use no
// cookies or other ambient credentials (clients authenticate in the request
// itself, public ones with PKCE or the refresh token), so any origin may call
// them and credentials are never allowed. /authorize has no CORS at all.
func cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Origin") != "" {
			w.Header().Set("Access-Control-Allow-Origin", "*")
		}
		next.ServeHTTP(w, r)
	})
}

// servePreflight answers a CORS preflight of a POST endpoint.
func servePreflight(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Methods", "POST")
	h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
	h.Set("Access-Control-Max-Age", "86400")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}
