package jws_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"encoding/asn1"
	"math/big"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mrrt-auth/mrrt/shared/crypto/jws"
)

// derSig is the ASN.1 shape of an ECDSA signature (RFC 3279 §2.2.3).
type derSig struct{ R, S *big.Int }

func marshalDER(t testing.TB, r, s *big.Int) []byte {
	t.Helper()
	b, err := asn1.Marshal(derSig{r, s})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDERToRaw(t *testing.T) {
	high := new(big.Int).SetBytes(bytes.Repeat([]byte{0xff}, 32)) // needs a 0x00 prefix in DER
	one := big.NewInt(1)
	short := new(big.Int).SetBytes(append([]byte{0x7f}, bytes.Repeat([]byte{0x11}, 30)...)) // 31 bytes
	for _, tc := range []struct {
		name string
		r, s *big.Int
	}{
		{"short R and S are left-padded to 32 bytes", one, big.NewInt(258)},
		{"a 31-byte R is left-padded to 32 bytes", short, high},
		{"a high-bit R and S lose their DER sign byte", high, high},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := jws.DERToRaw(marshalDER(t, tc.r, tc.s))
			if err != nil {
				t.Fatal(err)
			}
			want := make([]byte, 64)
			tc.r.FillBytes(want[:32])
			tc.s.FillBytes(want[32:])
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("R||S (-want +got):\n%s", diff)
			}
		})
	}

	t.Run("a real ecdsa.SignASN1 signature converts to what ecdsa.Sign's R and S give", func(t *testing.T) {
		digest := make([]byte, 32)
		der, err := ecdsa.SignASN1(rand.Reader, ecKey(), digest)
		if err != nil {
			t.Fatal(err)
		}
		var sig derSig
		if _, err := asn1.Unmarshal(der, &sig); err != nil {
			t.Fatal(err)
		}
		got, err := jws.DERToRaw(der)
		if err != nil {
			t.Fatal(err)
		}
		want := make([]byte, 64)
		sig.R.FillBytes(want[:32])
		sig.S.FillBytes(want[32:])
		if !bytes.Equal(got, want) {
			t.Errorf("DERToRaw = %x, want %x", got, want)
		}
	})
}

func TestDERToRawRejects(t *testing.T) {
	valid := marshalDER(t, big.NewInt(5), big.NewInt(6)) // 30 06 02 01 05 02 01 06
	big33 := new(big.Int).Lsh(big.NewInt(1), 256)        // needs 33 bytes without a sign byte
	for _, tc := range []struct {
		name string
		der  []byte
	}{
		{"empty input", nil},
		{"a tag other than SEQUENCE", append([]byte{0x31}, valid[1:]...)},
		{"a sequence length longer than the input", append([]byte{0x30, 0x07}, valid[2:]...)},
		{"a sequence length shorter than the input", append(append([]byte{}, valid...), 0x00)},
		{"a long-form sequence length", append([]byte{0x30, 0x81, 0x06}, valid[2:]...)},
		{"an element that is not an INTEGER", []byte{0x30, 0x06, 0x04, 0x01, 0x05, 0x02, 0x01, 0x06}},
		{"a missing S", []byte{0x30, 0x03, 0x02, 0x01, 0x05}},
		{"a third integer", []byte{0x30, 0x09, 0x02, 0x01, 0x05, 0x02, 0x01, 0x06, 0x02, 0x01, 0x07}},
		{"an empty INTEGER", []byte{0x30, 0x05, 0x02, 0x00, 0x02, 0x01, 0x06}},
		{"a zero R", []byte{0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x06}},
		{"a negative S", []byte{0x30, 0x06, 0x02, 0x01, 0x05, 0x02, 0x01, 0x86}},
		{"a non-minimal leading zero", []byte{0x30, 0x07, 0x02, 0x02, 0x00, 0x05, 0x02, 0x01, 0x06}},
		{"an INTEGER wider than 32 bytes", marshalDER(t, big33, big.NewInt(6))},
		{"an INTEGER length past the sequence", []byte{0x30, 0x06, 0x02, 0x05, 0x05, 0x02, 0x01, 0x06}},
	} {
		t.Run(tc.name+" is rejected", func(t *testing.T) {
			if got, err := jws.DERToRaw(tc.der); err == nil {
				t.Errorf("DERToRaw(%x) = %x, want an error", tc.der, got)
			}
		})
	}
}

// FuzzDERToRaw checks DERToRaw against encoding/asn1: whatever it accepts is
// the canonical DER of the R and S it returns, and every canonical DER
// signature with 0 < R, S < 2^256 is accepted.
func FuzzDERToRaw(f *testing.F) {
	f.Add(marshalDER(f, big.NewInt(1), big.NewInt(2)))
	f.Add(marshalDER(f, new(big.Int).SetBytes(bytes.Repeat([]byte{0xff}, 32)), big.NewInt(2)))
	f.Add([]byte{0x30, 0x81, 0x06, 0x02, 0x01, 0x05, 0x02, 0x01, 0x06})
	f.Add([]byte{0x30, 0x07, 0x02, 0x02, 0x00, 0x05, 0x02, 0x01, 0x06})
	limit := new(big.Int).Lsh(big.NewInt(1), 256)
	f.Fuzz(func(t *testing.T, der []byte) {
		raw, err := jws.DERToRaw(der)
		var sig derSig
		rest, asnErr := asn1.Unmarshal(der, &sig)
		canonical := asnErr == nil && len(rest) == 0 &&
			sig.R.Sign() > 0 && sig.S.Sign() > 0 && sig.R.Cmp(limit) < 0 && sig.S.Cmp(limit) < 0 &&
			bytes.Equal(marshalDER(t, sig.R, sig.S), der)
		if err != nil {
			if canonical {
				t.Fatalf("DERToRaw(%x) rejected a canonical signature: %v", der, err)
			}
			return
		}
		if len(raw) != 64 {
			t.Fatalf("DERToRaw(%x) returned %d bytes", der, len(raw))
		}
		r, s := new(big.Int).SetBytes(raw[:32]), new(big.Int).SetBytes(raw[32:])
		if again := marshalDER(t, r, s); !bytes.Equal(again, der) {
			t.Fatalf("DERToRaw(%x) = R %x S %x, whose DER is %x", der, r, s, again)
		}
	})
}
