package jws

import (
	"errors"
)

var errDER = errors.New("jws: malformed DER ECDSA signature")

// DERToRaw converts an ASN.1 DER ECDSA P-256 signature, SEQUENCE { r INTEGER,
// s INTEGER } (RFC 3279 §2.2.3, what KMS and ecdsa.SignASN1 return), to the
// 64-byte R||S that JWS ES256 requires (RFC 7518 §3.4), each integer
// left-padded with zeros to 32 bytes. Only minimal DER is accepted.
func DERToRaw(der []byte) ([]byte, error) {
	var raw [es256SigLen]byte
	if err := derToRaw(&raw, der); err != nil {
		return nil, err
	}
	return raw[:], nil
}

func derToRaw(dst *[es256SigLen]byte, der []byte) error {
	// Two INTEGERs of at most 33 bytes make at most 70 content bytes, so DER
	// requires the short length form (X.690 §10.1).
	if len(der) < 2 || der[0] != 0x30 || der[1] >= 0x80 || int(der[1]) != len(der)-2 {
		return errDER
	}
	rest := der[2:]
	var err error
	if rest, err = derInt(dst[:32], rest); err != nil {
		return err
	}
	if rest, err = derInt(dst[32:], rest); err != nil {
		return err
	}
	if len(rest) != 0 {
		return errDER
	}
	return nil
}

// derInt reads one positive INTEGER from b into dst, right-aligned, and
// returns what follows it.
func derInt(dst, b []byte) ([]byte, error) {
	if len(b) < 2 || b[0] != 0x02 || b[1] >= 0x80 {
		return nil, errDER
	}
	n := int(b[1])
	if n == 0 || len(b)-2 < n {
		return nil, errDER
	}
	v, rest := b[2:2+n], b[2+n:]
	if v[0]&0x80 != 0 {
		return nil, errDER // negative
	}
	if v[0] == 0 {
		if n == 1 || v[1]&0x80 == 0 {
			return nil, errDER // zero, or a non-minimal leading zero
		}
		v = v[1:]
	}
	if len(v) > len(dst) {
		return nil, errDER
	}
	clear(dst[:len(dst)-len(v)])
	copy(dst[len(dst)-len(v):], v)
	return rest, nil
}
