package password

import (
	"bytes"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestHashVerify(t *testing.T) {
	phc, err := Hash("correct horse battery staple", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(phc, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("Hash = %q, want the argon2id PHC prefix with the documented parameters", phc)
	}
	tests := []struct {
		name     string
		password string
		want     bool
	}{
		{"the same password verifies", "correct horse battery staple", true},
		{"a different password does not verify", "correct horse battery stapler", false},
		{"a case change does not verify", "Correct horse battery staple", false},
		{"the empty password does not verify", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Verify(phc, tc.password)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("Verify = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestHashUsesTheSaltFromTheReader(t *testing.T) {
	salt := bytes.Repeat([]byte{7}, saltLen)
	a, err := Hash("pw", bytes.NewReader(salt))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Hash("pw", bytes.NewReader(salt))
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Errorf("same salt gave different hashes: %q, %q", a, b)
	}
	c, err := Hash("pw", bytes.NewReader(bytes.Repeat([]byte{8}, saltLen)))
	if err != nil {
		t.Fatal(err)
	}
	if a == c {
		t.Error("different salts gave the same hash")
	}
}

func TestHashFailsWhenRandomnessFails(t *testing.T) {
	if _, err := Hash("pw", bytes.NewReader([]byte{1, 2, 3})); err == nil {
		t.Error("Hash with a short reader succeeded")
	}
}

func TestVerifyAcceptsOtherValidParameters(t *testing.T) {
	// A hash made elsewhere with other (bounded) parameters still verifies,
	// so the cost can be raised later without resetting passwords.
	p := params{memory: 64, time: 1, threads: 2, salt: []byte("saltsaltsalt"), keyLen: 16}
	phc := p.encode(p.key("pw"))
	for pw, want := range map[string]bool{"pw": true, "pW": false} {
		got, err := Verify(phc, pw)
		if err != nil || got != want {
			t.Errorf("Verify(%q, %q) = %v, %v; want %v, nil", phc, pw, got, err, want)
		}
	}
}

func TestVerifyRejectsMalformedHashes(t *testing.T) {
	good := "$argon2id$v=19$m=19456,t=2,p=1$ZHVtbXktc2FsdC0xMjM0NQ$FzdKPrf01KPtM+Y1Stc7nPJhSkOIl0935nX3q3E3T0M"
	tests := []struct{ name, phc string }{
		{"empty string", ""},
		{"argon2i instead of argon2id", strings.Replace(good, "argon2id", "argon2i", 1)},
		{"bcrypt hash", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy"},
		{"old argon2 version", strings.Replace(good, "v=19", "v=16", 1)},
		{"missing version", strings.Replace(good, "$v=19", "", 1)},
		{"parameters out of order", strings.Replace(good, "m=19456,t=2,p=1", "t=2,m=19456,p=1", 1)},
		{"memory above the bound", strings.Replace(good, "m=19456", "m=4194304", 1)},
		{"time zero", strings.Replace(good, "t=2", "t=0", 1)},
		{"time above the bound", strings.Replace(good, "t=2", "t=100", 1)},
		{"zero threads", strings.Replace(good, "p=1", "p=0", 1)},
		{"negative memory", strings.Replace(good, "m=19456", "m=-1", 1)},
		{"leading zero", strings.Replace(good, "t=2", "t=02", 1)},
		{"memory below 8 per thread", strings.Replace(good, "m=19456,t=2,p=1", "m=8,t=1,p=2", 1)},
		{"padded base64 salt", strings.Replace(good, "MjM0NQ$", "MjM0NQ==$", 1)},
		{"salt not base64", strings.Replace(good, "ZHVtbXktc2FsdC0xMjM0NQ", "!!!!", 1)},
		{"salt too short", strings.Replace(good, "ZHVtbXktc2FsdC0xMjM0NQ", "c2FsdA", 1)},
		{"hash too short", strings.Replace(good, "FzdKPrf01KPtM+Y1Stc7nPJhSkOIl0935nX3q3E3T0M", "c2FsdA", 1)},
		{"extra field", good + "$x"},
		{"trailing space", good + " "},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ok, err := Verify(tc.phc, "dummy")
			if !errors.Is(err, ErrMalformed) || ok {
				t.Errorf("Verify(%q) = %v, %v; want false, ErrMalformed", tc.phc, ok, err)
			}
		})
	}
}

func TestDummyHashMatchesTheCurrentParameters(t *testing.T) {
	// VerifyDummy hides unknown users only if it costs what a real Verify
	// costs, so its hash must use the parameters Hash writes.
	p, key, err := decode(dummyHash)
	if err != nil {
		t.Fatal(err)
	}
	if p.memory != Memory || p.time != Time || p.threads != Threads || len(p.salt) != saltLen || len(key) != keyLen {
		t.Errorf("dummy hash parameters m=%d t=%d p=%d salt=%d key=%d differ from Hash's", p.memory, p.time, p.threads, len(p.salt), len(key))
	}
	VerifyDummy("anything") // must not panic
}

func TestVerifyCost(t *testing.T) {
	if testing.Short() {
		t.Skip("timing")
	}
	phc, err := Hash("pw", rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	const n = 5
	for range n {
		if _, err := Verify(phc, "pw"); err != nil {
			t.Fatal(err)
		}
	}
	per := time.Since(start) / n
	t.Logf("argon2id m=%d KiB t=%d p=%d: %v per verification", Memory, Time, Threads, per)
	// A lower bound only: a fast machine is fine, an accidentally cheap
	// parameter set is not.
	if per < 2*time.Millisecond {
		t.Errorf("verification took %v; the parameters are too cheap", per)
	}
}

func FuzzVerify(f *testing.F) {
	f.Add("$argon2id$v=19$m=19456,t=2,p=1$ZHVtbXktc2FsdC0xMjM0NQ$FzdKPrf01KPtM+Y1Stc7nPJhSkOIl0935nX3q3E3T0M", "dummy")
	f.Add("$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$c2FsdHNhbHRzYWx0c2FsdA", "pw")
	f.Add("$argon2id$v=19$m=9999999,t=1,p=1$c2FsdHNhbHQ$c2FsdHNhbHRzYWx0c2FsdA", "")
	f.Add("$$$$$", "x")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, phc, pw string) {
		ok, err := Verify(phc, pw)
		if err != nil && ok {
			t.Fatal("Verify returned true with an error")
		}
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Fatalf("unexpected error %v", err)
		}
		if err == nil {
			// Whatever decoded must be within the bounds.
			p, _, _ := decode(phc)
			if p.memory > maxMemory || p.time > maxTime || p.threads > maxThreads {
				t.Fatalf("accepted out-of-bounds parameters %+v", p)
			}
		}
	})
}
