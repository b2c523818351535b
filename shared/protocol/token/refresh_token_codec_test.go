package token

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"testing"
)

var codecKey = bytes.Repeat([]byte{7}, 32)

// Shorthands for tests that hold a key rather than a codec.

func decodeRefreshToken(raw string, key []byte) (refreshToken, error) {
	return newCodec(key).decode(raw)
}

func (t refreshToken) encode(key []byte) string { return newCodec(key).encode(&t) }

func (t refreshToken) successor(key []byte) (refreshToken, error) { return newCodec(key).successor(&t) }

func TestRefreshTokenCodec(t *testing.T) {
	const famID = "00112233445566778899aabbccddeeff"
	first, err := newRefreshToken(famID, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	raw := first.encode(codecKey)

	t.Run("round trip keeps family, generation and secret", func(t *testing.T) {
		got, err := decodeRefreshToken(raw, codecKey)
		if err != nil {
			t.Fatal(err)
		}
		if got != first || got.familyID() != famID {
			t.Errorf("decoded %+v, want %+v", got, first)
		}
		if len(raw) != rtEncodedLen || strings.ContainsAny(raw, "+/=") {
			t.Errorf("raw %q is not %d unpadded base64url characters", raw, rtEncodedLen)
		}
	})

	t.Run("first tokens carry fresh randomness", func(t *testing.T) {
		other, err := newRefreshToken(famID, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if other.secret == first.secret {
			t.Error("two first tokens share a secret")
		}
	})

	t.Run("successor is deterministic and moves one generation", func(t *testing.T) {
		a, err := first.successor(codecKey)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := first.successor(codecKey)
		if a != b {
			t.Error("successor is not deterministic")
		}
		if a.generation != 1 || a.family != first.family || a.secret == first.secret {
			t.Errorf("successor %+v", a)
		}
		c, _ := a.successor(codecKey)
		if c.secret == a.secret || c.generation != 2 {
			t.Errorf("grand-successor %+v", c)
		}
		d, _ := first.successor(bytes.Repeat([]byte{8}, 32))
		if d.secret == a.secret {
			t.Error("successor does not depend on the key")
		}
	})

	t.Run("generation overflow is refused", func(t *testing.T) {
		last := first
		last.generation = 1<<32 - 1
		if _, err := last.successor(codecKey); err == nil {
			t.Error("successor of the last generation")
		}
	})

	t.Run("bad family id is refused", func(t *testing.T) {
		for _, id := range []string{"", "abc", "zz112233445566778899aabbccddeeff"} {
			if _, err := newRefreshToken(id, rand.Reader); err == nil {
				t.Errorf("family id %q accepted", id)
			}
		}
	})

	bad := map[string]string{
		"another key":       first.encode(bytes.Repeat([]byte{9}, 32)),
		"too short":         raw[:len(raw)-1],
		"too long":          raw + "A",
		"padding":           raw[:len(raw)-2] + "==",
		"standard alphabet": strings.NewReplacer("-", "+", "_", "/").Replace(raw),
		"empty":             "",
		"flipped mac":       raw[:len(raw)-3] + flip(raw[len(raw)-3]) + raw[len(raw)-2:],
		"flipped secret":    raw[:50] + flip(raw[50]) + raw[51:],
		"wrong version":     wrongVersion(t, first),
	}
	for name, tok := range bad {
		if name == "standard alphabet" && tok == raw {
			continue // raw happened to contain neither - nor _
		}
		t.Run(name+" is refused", func(t *testing.T) {
			if _, err := decodeRefreshToken(tok, codecKey); err == nil {
				t.Errorf("decoded %q", tok)
			}
		})
	}
}

func flip(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}

func wrongVersion(t *testing.T, tok refreshToken) string {
	t.Helper()
	raw := tok.encode(codecKey)
	d, err := decodeRefreshToken(raw, codecKey)
	if err != nil {
		t.Fatal(err)
	}
	body := d.body()
	body[0] = rtVersion + 1
	mac := newCodec(codecKey).hmac(labelMAC, body[:])
	var b [rtLen]byte
	copy(b[:], body[:])
	copy(b[rtBodyLen:], mac[:rtMACLen])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func FuzzDecodeRefreshToken(f *testing.F) {
	first, _ := newRefreshToken("00112233445566778899aabbccddeeff", rand.Reader)
	next, _ := first.successor(codecKey)
	sealed := first
	sealed.facts = sealedFacts(sealedFixtureFacts())
	for _, s := range []string{first.encode(codecKey), next.encode(codecKey), sealed.encode(codecKey), "", "AAAA", strings.Repeat("A", rtEncodedLen), strings.Repeat("_", rtEncodedLen)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		tok, err := decodeRefreshToken(raw, codecKey)
		if err != nil {
			return
		}
		// Anything accepted is canonical and re-encodes to itself.
		if again := tok.encode(codecKey); again != raw {
			t.Fatalf("decoded %q but re-encodes to %q", raw, again)
		}
		if _, err := decodeRefreshToken(raw, bytes.Repeat([]byte{1}, 32)); err == nil {
			t.Fatalf("%q verifies under two keys", raw)
		}
	})
}
