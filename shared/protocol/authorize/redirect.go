package authorize

import (
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// redirectAllowed reports whether uri may receive client's authorization
// response: an exact string match with a registered callback (RFC 9700
// §4.1.3, OAuth 2.1 §4.1.1: no normalisation of case, port, path or
// encoding), or, for a native client only, a loopback IP callback on any
// port (RFC 8252 §7.3). "localhost" gets no such exception (RFC 8252 §8.3).
func redirectAllowed(c *oauth.Client, uri string) bool {
	if strings.Contains(uri, "#") { // RFC 6749 §3.1.2: no fragment
		return false
	}
	if slices.Contains(c.Callbacks, uri) {
		return true
	}
	if c.AppType != oauth.AppTypeNative {
		return false
	}
	host, rest, ok := splitLoopback(uri)
	if !ok {
		return false
	}
	for _, cb := range c.Callbacks {
		if h, r, ok := splitLoopback(cb); ok && h == host && r == rest {
			return true
		}
	}
	return false
}

// splitLoopback splits "http://127.0.0.1:port/rest" or
// "http://[::1]:port/rest" into its host part and what follows the port.
// Anything else after the host (userinfo tricks such as
// http://127.0.0.1@evil.example, a longer host such as
// http://127.0.0.10) is not loopback.
func splitLoopback(u string) (host, rest string, ok bool) {
	for _, h := range []string{"http://127.0.0.1", "http://[::1]"} {
		after, found := strings.CutPrefix(u, h)
		if !found {
			continue
		}
		if p, hasPort := strings.CutPrefix(after, ":"); hasPort {
			n := 0
			for n < len(p) && p[n] >= '0' && p[n] <= '9' {
				n++
			}
			if n == 0 || n > 5 || p[0] == '0' || atoi(p[:n]) > 65535 {
				return "", "", false
			}
			after = p[n:]
		}
		if after != "" && after[0] != '/' && after[0] != '?' {
			return "", "", false
		}
		return h, after, true
	}
	return "", "", false
}

func atoi(digits string) int {
	n := 0
	for _, c := range []byte(digits) {
		n = n*10 + int(c-'0')
	}
	return n
}

// redirect sends the authorization response to req.redirectURI with
// params, then state (exactly as sent, omitted if not sent) and iss
// (RFC 9207). A query already in the registered URI is kept (OAuth 2.1
// §4.1.2).
func (h *handler) redirect(w http.ResponseWriter, r *http.Request, req *request, status int, kv ...string) {
	if req.state != "" {
		kv = append(kv, "state", req.state)
	}
	kv = append(kv, "iss", h.d.Issuer)
	http.Redirect(w, r, appendQuery(req.redirectURI, kv...), status)
}

func (h *handler) redirectError(w http.ResponseWriter, r *http.Request, req *request, status int, code oauth.ErrorCode, description string) {
	h.redirect(w, r, req, status, "error", string(code), "error_description", description)
}

// appendQuery adds the key-value pairs kv to uri's query, keeping it.
func appendQuery(uri string, kv ...string) string {
	var b strings.Builder
	b.WriteString(uri)
	switch {
	case !strings.Contains(uri, "?"):
		b.WriteByte('?')
	case !strings.HasSuffix(uri, "?") && !strings.HasSuffix(uri, "&"):
		b.WriteByte('&')
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(kv[i]))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(kv[i+1]))
	}
	return b.String()
}
