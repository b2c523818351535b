package dynamostore

import (
	"testing"
	"time"
)

func TestJoinKey(t *testing.T) {
	tests := []struct {
		a, b []string
	}{
		{[]string{"a#b", "c"}, []string{"a", "b#c"}},
		{[]string{"a%23b", "c"}, []string{"a#b", "c"}},
		{[]string{"", "a#"}, []string{"#a", ""}},
	}
	for _, tt := range tests {
		t.Run(joinKey(tt.a...)+" differs from "+joinKey(tt.b...), func(t *testing.T) {
			if joinKey(tt.a...) == joinKey(tt.b...) {
				t.Errorf("%q and %q share key %q", tt.a, tt.b, joinKey(tt.a...))
			}
		})
	}
	if got := joinKey("spa", "https://api.example.com/"); got != "spa#https://api.example.com/" {
		t.Errorf("plain parts are kept readable: %q", got)
	}
}

func TestTTLNeverExpiresEarly(t *testing.T) {
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, d := range []time.Duration{0, time.Nanosecond, 999 * time.Millisecond, time.Second} {
		at := base.Add(d)
		if got := time.Unix(ttl(at), 0); got.Before(at) || got.Sub(at) >= time.Second {
			t.Errorf("ttl(%v) = %v", at, got)
		}
	}
}
