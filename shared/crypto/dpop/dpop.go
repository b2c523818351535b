// Package dpop checks DPoP proofs (RFC 9449): a JWT the client signs with
// a key of its own for each request, which binds the tokens issued to it
// to that key. It also makes and checks the server's stateless nonces
// (§8): a MAC over a time slot, so any instance accepts any instance's
// nonce without storing it.
package dpop

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Algs are the proof algorithms accepted: asymmetric only (§4.3 check 5).
var Algs = []string{"ES256", "RS256", "PS256"}

// Errors of Check: ErrInvalid (invalid_dpop_proof) and ErrNonce
// (use_dpop_nonce: the client must retry with the nonce it is given).
var (
	ErrInvalid = errors.New("dpop: invalid proof")
	ErrNonce   = errors.New("dpop: a fresh server nonce is required")
)

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// maxProofLen bounds the header: a proof with an RSA key is about 1 KB.
const maxProofLen = 8 << 10

// Params are what a proof must match.
type Params struct {
	Method string // htm: the request's method
	URL    string // htu: the endpoint's URL, without query and fragment
	Now    time.Time
	// MaxAge bounds how old iat may be, and Skew how far in the future.
	MaxAge, Skew time.Duration
	// Nonces, when set, requires a current server nonce (§8).
	Nonces *Nonces
	// AccessToken, when set, must be the proof's ath (§4.3 check 12).
	AccessToken string
}

// Proof is a checked proof.
type Proof struct {
	JKT string // the RFC 7638 thumbprint of the proof's key (cnf.jkt)
	JTI string
}

type header struct {
	Typ string          `json:"typ"`
	Alg string          `json:"alg"`
	JWK json.RawMessage `json:"jwk"`
}

type claims struct {
	JTI   string `json:"jti"`
	HTM   string `json:"htm"`
	HTU   string `json:"htu"`
	IAT   *int64 `json:"iat"`
	Nonce string `json:"nonce"`
	ATH   string `json:"ath"`
}

// Check verifies proof against p: the checks of RFC 9449 §4.3 in order.
func Check(proof string, p Params) (*Proof, error) {
	if proof == "" || len(proof) > maxProofLen {
		return nil, invalid("missing or too long")
	}
	parts := strings.Split(proof, ".")
	if len(parts) != 3 {
		return nil, invalid("not a JWS in compact serialization")
	}
	var h header
	if err := decodeJSON(parts[0], &h); err != nil {
		return nil, invalid("header: %v", err)
	}
	if h.Typ != "dpop+jwt" {
		return nil, invalid("typ must be dpop+jwt")
	}
	if !slices.Contains(Algs, h.Alg) {
		return nil, invalid("alg must be one of %s", strings.Join(Algs, ", "))
	}
	key, jkt, err := publicKey(h.JWK, h.Alg)
	if err != nil {
		return nil, invalid("jwk: %v", err)
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		return nil, invalid("signature encoding")
	}
	if err := verify(h.Alg, key, parts[0]+"."+parts[1], sig); err != nil {
		return nil, invalid("signature does not verify with the proof's jwk")
	}
	var c claims
	if err := decodeJSON(parts[1], &c); err != nil {
		return nil, invalid("claims: %v", err)
	}
	if c.JTI == "" || len(c.JTI) > 256 {
		return nil, invalid("jti missing")
	}
	if c.HTM != p.Method {
		return nil, invalid("htm does not match the request's method")
	}
	if !sameURL(c.HTU, p.URL) {
		return nil, invalid("htu does not match the endpoint")
	}
	if c.IAT == nil {
		return nil, invalid("iat missing")
	}
	iat := time.Unix(*c.IAT, 0)
	if iat.Before(p.Now.Add(-p.MaxAge)) || iat.After(p.Now.Add(p.Skew)) {
		return nil, invalid("iat outside the accepted window")
	}
	if p.Nonces != nil && !p.Nonces.Valid(c.Nonce, p.Now) {
		return nil, ErrNonce
	}
	if p.AccessToken != "" {
		sum := sha256.Sum256([]byte(p.AccessToken))
		if c.ATH != base64.RawURLEncoding.EncodeToString(sum[:]) {
			return nil, invalid("ath does not match the access token")
		}
	}
	return &Proof{JKT: jkt, JTI: c.JTI}, nil
}

func decodeJSON(part string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(part)
	if err != nil {
		return errors.New("not base64url")
	}
	return json.Unmarshal(b, v)
}

// sameURL compares htu with the endpoint's URL (§4.3 check 9): scheme and
// host case-insensitively, default ports dropped, query and fragment
// ignored, the path exactly.
func sameURL(htu, want string) bool {
	a, err1 := url.Parse(htu)
	b, err2 := url.Parse(want)
	if err1 != nil || err2 != nil || a.Opaque != "" || a.User != nil {
		return false
	}
	norm := func(u *url.URL) string {
		host := strings.ToLower(u.Hostname())
		port := u.Port()
		scheme := strings.ToLower(u.Scheme)
		if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") {
			port = ""
		}
		if port != "" {
			host += ":" + port
		}
		path := u.EscapedPath()
		if path == "" {
			path = "/"
		}
		return scheme + "://" + host + path
	}
	return norm(a) == norm(b)
}

type jwk struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
	N   string `json:"n"`
	E   string `json:"e"`
	D   string `json:"d"`
	P   string `json:"p"`
	Q   string `json:"q"`
	K   string `json:"k"`
}

// publicKey reads a public JWK fit for alg and returns its RFC 7638
// thumbprint (§4.3 check 6: no private key material).
func publicKey(raw json.RawMessage, alg string) (crypto.PublicKey, string, error) {
	if len(raw) == 0 {
		return nil, "", errors.New("missing")
	}
	var k jwk
	if err := json.Unmarshal(raw, &k); err != nil {
		return nil, "", errors.New("malformed")
	}
	if k.D != "" || k.P != "" || k.Q != "" || k.K != "" {
		return nil, "", errors.New("contains private key material")
	}
	b64 := base64.RawURLEncoding
	switch {
	case k.Kty == "EC" && alg == "ES256":
		if k.Crv != "P-256" {
			return nil, "", errors.New("ES256 needs a P-256 key")
		}
		x, err1 := b64.DecodeString(k.X)
		y, err2 := b64.DecodeString(k.Y)
		if err1 != nil || err2 != nil || len(x) != 32 || len(y) != 32 {
			return nil, "", errors.New("bad EC coordinates")
		}
		pub := &ecdsa.PublicKey{Curve: elliptic.P256(), X: new(big.Int).SetBytes(x), Y: new(big.Int).SetBytes(y)}
		if !pub.Curve.IsOnCurve(pub.X, pub.Y) {
			return nil, "", errors.New("EC point not on the curve")
		}
		return pub, thumbprint(fmt.Sprintf(`{"crv":"P-256","kty":"EC","x":"%s","y":"%s"}`, k.X, k.Y)), nil
	case k.Kty == "RSA" && (alg == "RS256" || alg == "PS256"):
		n, err1 := b64.DecodeString(k.N)
		e, err2 := b64.DecodeString(k.E)
		if err1 != nil || err2 != nil || len(e) == 0 || len(e) > 4 {
			return nil, "", errors.New("bad RSA parameters")
		}
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		if pub.N.BitLen() < 2048 {
			return nil, "", errors.New("RSA keys must have at least 2048 bits")
		}
		return pub, thumbprint(fmt.Sprintf(`{"e":"%s","kty":"RSA","n":"%s"}`, k.E, k.N)), nil
	}
	return nil, "", fmt.Errorf("key type %q does not fit alg %s", k.Kty, alg)
}

// thumbprint is RFC 7638: SHA-256 of the required members in
// lexicographic order, base64url.
func thumbprint(canonical string) string {
	sum := sha256.Sum256([]byte(canonical))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func verify(alg string, key crypto.PublicKey, signingInput string, sig []byte) error {
	sum := sha256.Sum256([]byte(signingInput))
	switch alg {
	case "ES256":
		pub := key.(*ecdsa.PublicKey)
		if len(sig) != 64 {
			return errors.New("bad ES256 signature length")
		}
		r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
		if !ecdsa.Verify(pub, sum[:], r, s) {
			return errors.New("bad signature")
		}
		return nil
	case "RS256":
		return rsa.VerifyPKCS1v15(key.(*rsa.PublicKey), crypto.SHA256, sum[:], sig)
	case "PS256":
		return rsa.VerifyPSS(key.(*rsa.PublicKey), crypto.SHA256, sum[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto})
	}
	return errors.New("unsupported alg")
}

// Nonces makes and checks stateless server nonces: base64url of a time
// slot number and a MAC of it. A nonce is accepted during its slot and the
// next one, so it lives between Slot and 2×Slot.
type Nonces struct {
	Key  []byte        // at least 32 bytes
	Slot time.Duration // e.g. 5 minutes
}

// Current is the nonce to hand out at now (DPoP-Nonce).
func (n *Nonces) Current(now time.Time) string { return n.make(n.slot(now)) }

// Valid reports whether nonce was made in now's slot or the one before.
func (n *Nonces) Valid(nonce string, now time.Time) bool {
	cur := n.slot(now)
	for _, s := range []int64{cur, cur - 1} {
		if hmac.Equal([]byte(nonce), []byte(n.make(s))) {
			return true
		}
	}
	return false
}

func (n *Nonces) slot(now time.Time) int64 { return now.UnixNano() / int64(n.Slot) }

func (n *Nonces) make(slot int64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(slot))
	m := hmac.New(sha256.New, n.Key)
	m.Write([]byte("dpop-nonce"))
	m.Write(b[:])
	return base64.RawURLEncoding.EncodeToString(append(b[:], m.Sum(nil)[:16]...))
}
