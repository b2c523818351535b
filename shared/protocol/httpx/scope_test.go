package httpx

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

func TestParseScope(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []string
		wantErr bool
	}{
		{name: "empty string is no scope", in: "", want: nil},
		{name: "single scope", in: "openid", want: []string{"openid"}},
		{name: "scopes keep their order", in: "write:data openid read:data", want: []string{"write:data", "openid", "read:data"}},
		{name: "duplicates are dropped keeping the first", in: "a b a c b", want: []string{"a", "b", "c"}},
		{name: "all allowed punctuation is accepted", in: "!#$%&'()*+,-./:;<=>?@[]^_`{|}~", want: []string{"!#$%&'()*+,-./:;<=>?@[]^_`{|}~"}},
		{name: "leading space is refused", in: " a", wantErr: true},
		{name: "trailing space is refused", in: "a ", wantErr: true},
		{name: "double space is refused", in: "a  b", wantErr: true},
		{name: "tab is refused", in: "a\tb", wantErr: true},
		{name: "double quote is refused", in: `a"b`, wantErr: true},
		{name: "backslash is refused", in: `a\b`, wantErr: true},
		{name: "non-ASCII is refused", in: "é", wantErr: true},
		{name: "DEL is refused", in: "a\x7f", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseScope(tt.in)
			if tt.wantErr {
				if !errors.Is(err, oauth.ErrInvalidScope) {
					t.Fatalf("ParseScope(%q) error = %v, want invalid_scope", tt.in, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseScope(%q): %v", tt.in, err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseScope(%q) (-want +got):\n%s", tt.in, diff)
			}
		})
	}
}

func TestParseScopeDedupesLongLists(t *testing.T) {
	var b strings.Builder
	for i := range 5000 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString([]string{"a", "b", "c"}[i%3])
	}
	got, err := ParseScope(b.String())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a", "b", "c"}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestJoinScope(t *testing.T) {
	if got := JoinScope([]string{"openid", "read:data"}); got != "openid read:data" {
		t.Errorf("JoinScope = %q", got)
	}
	if got := JoinScope(nil); got != "" {
		t.Errorf("JoinScope(nil) = %q", got)
	}
}

func FuzzParseScope(f *testing.F) {
	for _, s := range []string{"", "openid profile", "a  b", " a", "a b a", "\x00", "é", `a"b`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseScope(s)
		if err != nil {
			if !errors.Is(err, oauth.ErrInvalidScope) {
				t.Fatalf("error %v is not invalid_scope", err)
			}
			return
		}
		seen := map[string]bool{}
		for _, tok := range got {
			if tok == "" || seen[tok] {
				t.Fatalf("ParseScope(%q) = %q: empty or repeated token", s, got)
			}
			seen[tok] = true
			for i := 0; i < len(tok); i++ {
				if !scopeChar(tok[i]) {
					t.Fatalf("ParseScope(%q) returned token %q with byte %#x", s, tok, tok[i])
				}
			}
		}
		again, err := ParseScope(JoinScope(got))
		if err != nil || !cmp.Equal(got, again) {
			t.Fatalf("round trip of %q: %q, %v", got, again, err)
		}
		if len(seen) == len(strings.Split(s, " ")) && JoinScope(got) != s {
			t.Fatalf("JoinScope(ParseScope(%q)) = %q", s, JoinScope(got))
		}
	})
}
