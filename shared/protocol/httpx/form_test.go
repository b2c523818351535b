package httpx

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

const formType = "application/x-www-form-urlencoded"

func TestParseForm(t *testing.T) {
	tests := []struct {
		name        string
		method      string
		target      string
		contentType string
		body        string
		want        url.Values
		wantDesc    string // substring of the invalid_request description; "" means success
	}{
		{name: "plain body is parsed", body: "grant_type=refresh_token&scope=a+b%20c",
			want: url.Values{"grant_type": {"refresh_token"}, "scope": {"a b c"}}},
		{name: "charset utf-8 is accepted in any case", contentType: formType + "; charset=UTF-8", body: "a=1",
			want: url.Values{"a": {"1"}}},
		{name: "empty value is treated as omitted", body: "a=&b=2&c",
			want: url.Values{"b": {"2"}}},
		{name: "empty pairs are skipped", body: "&&a=1&",
			want: url.Values{"a": {"1"}}},
		{name: "empty body gives no parameters", body: "", want: url.Values{}},
		{name: "utf-8 values are kept", body: "name=%C3%A9t%C3%A9", want: url.Values{"name": {"été"}}},
		{name: "repeated parameter is refused and named", body: "scope=a&grant_type=x&scope=b", wantDesc: "parameter scope must not be repeated"},
		{name: "repeated parameter with empty value is refused", body: "audience=&audience=x", wantDesc: "audience must not be repeated"},
		{name: "repeated parameter spelled with escapes is refused", body: "scope=a&sc%6Fpe=b", wantDesc: "scope must not be repeated"},
		{name: "unprintable repeated name is not echoed", body: "%22x=1&%22x=2", wantDesc: "(unprintable name) must not be repeated"},
		{name: "query string parameters are refused", target: "/oauth/token?client_id=x", body: "a=1", wantDesc: "query string"},
		{name: "JSON body is refused", contentType: "application/json", body: `{"grant_type":"x"}`, wantDesc: "JSON"},
		{name: "missing content type is refused", contentType: "-", body: "a=1", wantDesc: "content type"},
		{name: "multipart body is refused", contentType: "multipart/form-data; boundary=x", body: "a=1", wantDesc: "content type"},
		{name: "malformed content type is refused", contentType: "application/x-www-form-urlencoded; charset", body: "a=1", wantDesc: "malformed content type"},
		{name: "other charset is refused", contentType: formType + "; charset=iso-8859-1", body: "a=1", wantDesc: "charset"},
		{name: "body over 64 KiB is refused", body: "a=" + strings.Repeat("x", MaxFormBytes), wantDesc: "request body too large"},
		{name: "invalid percent-encoding in a value is refused", body: "a=%zz", wantDesc: "percent-encoding"},
		{name: "invalid percent-encoding in a name is refused", body: "%4=1", wantDesc: "percent-encoding"},
		{name: "invalid UTF-8 is refused", body: "a=%ff%fe", wantDesc: "UTF-8"},
		{name: "parameter without a name is refused", body: "=x", wantDesc: "without a name"},
		{name: "GET is refused", method: http.MethodGet, body: "a=1", wantDesc: "POST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method, target, ct := tt.method, tt.target, tt.contentType
			if method == "" {
				method = http.MethodPost
			}
			if target == "" {
				target = "/oauth/token"
			}
			r := httptest.NewRequest(method, target, strings.NewReader(tt.body))
			switch ct {
			case "":
				r.Header.Set("Content-Type", formType)
			case "-":
			default:
				r.Header.Set("Content-Type", ct)
			}
			got, err := ParseForm(r)
			if tt.wantDesc == "" {
				if err != nil {
					t.Fatalf("ParseForm: %v", err)
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("form (-want +got):\n%s", diff)
				}
				return
			}
			var oe *oauth.Error
			if !errors.As(err, &oe) || oe.Code != oauth.InvalidRequest {
				t.Fatalf("ParseForm error = %v, want invalid_request", err)
			}
			if !strings.Contains(oe.Description, tt.wantDesc) {
				t.Errorf("description %q does not contain %q", oe.Description, tt.wantDesc)
			}
			if !isDescriptionSafe(oe.Description) {
				t.Errorf("description %q has characters RFC 6749 §5.2 forbids", oe.Description)
			}
		})
	}
}

func TestParseFormReadsAtMostTheLimit(t *testing.T) {
	body := &countingReader{r: strings.NewReader("a=" + strings.Repeat("x", 10*MaxFormBytes))}
	r := httptest.NewRequest(http.MethodPost, "/oauth/token", body)
	r.Header.Set("Content-Type", formType)
	if _, err := ParseForm(r); err == nil {
		t.Fatal("ParseForm accepted an oversized body")
	}
	if body.n > MaxFormBytes+64<<10 {
		t.Errorf("read %d bytes of an oversized body, want about %d", body.n, MaxFormBytes)
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func FuzzParseForm(f *testing.F) {
	for _, s := range []string{
		"grant_type=refresh_token&refresh_token=abc", "a=1&a=2", "a=%zz", "=", "&&&", "a=%ff",
		"scope=a+b&Scope=c", "x=1;y=2", "a=1&b=&a=", "%61=1&a=2",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		r := httptest.NewRequest(http.MethodPost, "/oauth/token", strings.NewReader(body))
		r.Header.Set("Content-Type", formType)
		form, err := ParseForm(r)
		// Count decoded names independently of the parser.
		names := map[string]int{}
		for _, pair := range strings.Split(body, "&") {
			if pair == "" {
				continue
			}
			n, _, _ := strings.Cut(pair, "=")
			if dn, derr := url.QueryUnescape(n); derr == nil {
				names[dn]++
			}
		}
		for n, c := range names {
			if c > 1 && err == nil {
				t.Fatalf("parameter %q appears %d times but ParseForm accepted %q", n, c, body)
			}
		}
		if err != nil {
			var oe *oauth.Error
			if !errors.As(err, &oe) || oe.Code != oauth.InvalidRequest {
				t.Fatalf("error %v is not invalid_request", err)
			}
			return
		}
		for k, vs := range form {
			if len(vs) != 1 || vs[0] == "" {
				t.Fatalf("parameter %q has values %q", k, vs)
			}
			if names[k] != 1 {
				t.Fatalf("parameter %q returned but appears %d times in %q", k, names[k], body)
			}
		}
	})
}

func TestParseFormManyParametersIsFast(t *testing.T) {
	var b strings.Builder
	for i := 0; b.Len() < MaxFormBytes-16; i++ {
		fmt.Fprintf(&b, "p%d=&", i)
	}
	r := httptest.NewRequest(http.MethodPost, "/oauth/token", strings.NewReader(b.String()))
	r.Header.Set("Content-Type", formType)
	start := time.Now()
	form, err := ParseForm(r)
	if err != nil || len(form) != 0 {
		t.Fatalf("form %d entries, err %v", len(form), err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("parsing %d empty parameters took %v", strings.Count(b.String(), "&"), d)
	}
}
