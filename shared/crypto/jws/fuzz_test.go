package jws_test

import (
	"context"
	"strings"
	"testing"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/crypto/jws"
)

// FuzzVerify: Verify never panics, and nothing but a token we signed (up to
// its signature bytes) verifies.
func FuzzVerify(f *testing.F) {
	ctx := context.Background()
	rs, es := newKeySigner(f, rsaKey()), newKeySigner(f, ecKey())
	keys := []oauth.PublicKey{rs.publicKey(), es.publicKey()}
	signed := map[string]bool{}
	for _, s := range []*keySigner{rs, es} {
		tok, err := jws.Sign(ctx, s, oauth.TypAccessToken, testClaims)
		if err != nil {
			f.Fatal(err)
		}
		signed[tok[:strings.LastIndexByte(tok, '.')]] = true
		f.Add(tok)
	}
	f.Add("")
	f.Add("..")
	f.Add("e30.e30.")
	f.Add(token(`{"alg":"none","kid":"`+rs.kid+`"}`, `{}`, nil))
	f.Add(token(`{"alg":"ES256","kid":"`+es.kid+`"}`, `{}`, make([]byte, 64)))
	f.Add(token(`{"alg":"RS256","kid":"`+rs.kid+`","crit":["b64"]}`, `{}`, make([]byte, 256)))
	f.Fuzz(func(t *testing.T, tok string) {
		h, payload, err := jws.Verify(tok, keys)
		if err != nil {
			if h != (jws.Header{}) || payload != nil {
				t.Errorf("Verify failed but returned header %+v and payload %q", h, payload)
			}
			return
		}
		if i := strings.LastIndexByte(tok, '.'); i < 0 || !signed[tok[:i]] {
			t.Errorf("Verify accepted a token we never signed: %q", tok)
		}
	})
}
