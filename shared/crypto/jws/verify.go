package jws

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// ErrInvalid is wrapped by every Verify error: the token is malformed, names
// an unknown key or algorithm, or its signature does not verify.
var ErrInvalid = errors.New("jws: invalid token")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

// Verify checks a compact JWS against keys and returns its header and
// payload. The key is chosen by kid and the header alg must equal that key's
// Alg, so "none", HS256 or an RS/ES swap never verify (RFC 8725 §3.1).
// Checking typ and the claims is the caller's job (RFC 8725 §3.11).
func Verify(token string, keys []oauth.PublicKey) (Header, []byte, error) {
	p, err := parse(token)
	if err != nil {
		return Header{}, nil, err
	}
	if p.header.Alg != oauth.AlgRS256 && p.header.Alg != oauth.AlgES256 {
		return Header{}, nil, invalid("algorithm %q not allowed", p.header.Alg)
	}
	key, err := findKey(keys, p.header.Kid, p.header.Alg)
	if err != nil {
		return Header{}, nil, err
	}
	return p.verify(key)
}

// VerifyWith checks a compact JWS against one known key (no kid needed),
// signed with one of algs (RS256, PS256, ES256): the key a client
// registered for its assertions (private_key_jwt).
func VerifyWith(token string, key crypto.PublicKey, algs []string) (Header, []byte, error) {
	p, err := parse(token)
	if err != nil {
		return Header{}, nil, err
	}
	if !slices.Contains(algs, p.header.Alg) {
		return Header{}, nil, invalid("algorithm %q not allowed", p.header.Alg)
	}
	return p.verify(key)
}

// parsed is a compact JWS split and its header decoded.
type parsed struct {
	header                 Header
	signingInput, sig, pay string
}

func parse(token string) (parsed, error) {
	encHeader, rest, ok := strings.Cut(token, ".")
	if !ok {
		return parsed{}, invalid("not a compact JWS")
	}
	encPayload, encSig, ok := strings.Cut(rest, ".")
	if !ok || strings.IndexByte(encSig, '.') >= 0 {
		return parsed{}, invalid("not a compact JWS")
	}
	rawHeader, err := decode(encHeader)
	if err != nil {
		return parsed{}, invalid("header: %v", err)
	}
	var h struct {
		Header
		// A "crit" header lists extensions the recipient must understand;
		// we understand none (RFC 7515 §4.1.11).
		Crit json.RawMessage `json:"crit"`
	}
	if err := json.Unmarshal(rawHeader, &h); err != nil {
		return parsed{}, invalid("header: %v", err)
	}
	if h.Crit != nil {
		return parsed{}, invalid("unsupported crit header")
	}
	return parsed{header: h.Header, signingInput: token[:len(encHeader)+1+len(encPayload)], sig: encSig, pay: encPayload}, nil
}

func (p parsed) verify(key crypto.PublicKey) (Header, []byte, error) {
	sig, err := decode(p.sig)
	if err != nil {
		return Header{}, nil, invalid("signature: %v", err)
	}
	digest := sha256.Sum256([]byte(p.signingInput))
	if err := verifySignature(p.header.Alg, key, digest[:], sig); err != nil {
		return Header{}, nil, err
	}
	payload, err := decode(p.pay)
	if err != nil {
		return Header{}, nil, invalid("payload: %v", err)
	}
	return p.header, payload, nil
}

func findKey(keys []oauth.PublicKey, kid, alg string) (crypto.PublicKey, error) {
	if kid == "" {
		return nil, invalid("no kid")
	}
	for _, k := range keys {
		if k.KeyID == kid {
			if k.Alg != alg {
				return nil, invalid("alg %q does not match key %q (%s)", alg, kid, k.Alg)
			}
			return k.Key, nil
		}
	}
	return nil, invalid("unknown kid %q", kid)
}

func verifySignature(alg string, key crypto.PublicKey, digest, sig []byte) error {
	switch alg {
	case oauth.AlgRS256:
		pub, ok := key.(*rsa.PublicKey)
		if !ok {
			return invalid("RS256 with a %T key", key)
		}
		if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest, sig); err != nil {
			return invalid("signature: %v", err)
		}
		return nil
	case "PS256":
		pub, ok := key.(*rsa.PublicKey)
		if !ok {
			return invalid("PS256 with a %T key", key)
		}
		if err := rsa.VerifyPSS(pub, crypto.SHA256, digest, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto}); err != nil {
			return invalid("signature: %v", err)
		}
		return nil
	case oauth.AlgES256:
		if _, err := p256Point(key); err != nil {
			return invalid("ES256 with a %T key", key)
		}
		if len(sig) != es256SigLen {
			return invalid("ES256 signature of %d bytes", len(sig))
		}
		r := new(big.Int).SetBytes(sig[:32])
		s := new(big.Int).SetBytes(sig[32:])
		if !ecdsa.Verify(key.(*ecdsa.PublicKey), digest, r, s) {
			return invalid("signature does not verify")
		}
		return nil
	default:
		return invalid("algorithm %q not allowed", alg)
	}
}

// decode is strict unpadded base64url (RFC 7515 §2): the decoder in
// encoding/base64 would skip CR and LF, so they are rejected first.
func decode(s string) ([]byte, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, errors.New("line break in base64url")
	}
	b, err := b64Strict.DecodeString(s)
	if err != nil {
		return nil, err
	}
	return b, nil
}

var b64Strict = b64.Strict()
