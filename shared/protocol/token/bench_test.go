package token

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// BenchmarkRefreshExchange is one full refresh exchange through the HTTP
// handler with rotation on: form parsing, client lookup, MAC check, family
// read, MRRT resolution, one access-token signature (no id_token: the
// grant has no openid), the conditional family write and the JSON
// response. Each iteration presents the refresh token of the previous one.
func BenchmarkRefreshExchange(b *testing.B) {
	rs, es := testSigners(b)
	for _, bc := range []struct {
		name   string
		signer oauth.Signer
	}{{"RS256", rs}, {"ES256", es}} {
		b.Run(bc.name, func(b *testing.B) {
			f := newFixtureWithSigner(b, bc.signer)
			rt := f.login(codeSpec{scope: "offline_access read:data"})
			prefix := []byte(`"refresh_token":"`)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				body := "grant_type=refresh_token&client_id=" + spaID + "&refresh_token=" + url.QueryEscape(rt)
				r := httptest.NewRequest(http.MethodPost, "/oauth/token", strings.NewReader(body))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				w := httptest.NewRecorder()
				f.handler.ServeHTTP(w, r)
				if w.Code != http.StatusOK {
					b.Fatalf("exchange: %d %s", w.Code, w.Body)
				}
				out := w.Body.Bytes()
				i := bytes.Index(out, prefix)
				if i < 0 {
					b.Fatalf("no refresh token in %s", out)
				}
				out = out[i+len(prefix):]
				rt = string(out[:bytes.IndexByte(out, '"')])
			}
		})
	}
}
