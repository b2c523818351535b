package httpx

import (
	"errors"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// MaxFormBytes is the largest request body ParseForm reads.
const MaxFormBytes = 64 << 10

// ParseForm reads the parameters of a token-style request (RFC 6749 §3.2,
// OAuth 2.1 §3.2): POST, an application/x-www-form-urlencoded UTF-8 body of
// at most MaxFormBytes, nothing in the query string, no parameter twice.
// Empty values are dropped: a parameter sent without a value is treated as
// omitted (RFC 6749 §3.1). Every failure is an invalid_request *oauth.Error.
func ParseForm(r *http.Request) (url.Values, error) {
	if r.Method != http.MethodPost {
		return nil, oauth.Errorf(oauth.InvalidRequest, "method must be POST")
	}
	if r.URL != nil && r.URL.RawQuery != "" {
		return nil, oauth.Errorf(oauth.InvalidRequest, "parameters must be sent in the request body, not the query string")
	}
	if err := checkContentType(r.Header.Get("Content-Type")); err != nil {
		return nil, err
	}
	var body []byte
	if r.Body != nil {
		var err error
		body, err = io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxFormBytes))
		if err != nil {
			var tooLarge *http.MaxBytesError
			if errors.As(err, &tooLarge) {
				return nil, oauth.Errorf(oauth.InvalidRequest, "request body too large")
			}
			return nil, oauth.Errorf(oauth.InvalidRequest, "request body unreadable").WithCause(err)
		}
	}
	return parseFormBody(string(body))
}

func checkContentType(ct string) error {
	if ct == "" {
		return oauth.Errorf(oauth.InvalidRequest, "content type must be application/x-www-form-urlencoded")
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return oauth.Errorf(oauth.InvalidRequest, "malformed content type")
	}
	switch mt {
	case "application/x-www-form-urlencoded":
	case "application/json":
		return oauth.Errorf(oauth.InvalidRequest, "JSON bodies are not accepted, use application/x-www-form-urlencoded")
	default:
		return oauth.Errorf(oauth.InvalidRequest, "content type must be application/x-www-form-urlencoded")
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return oauth.Errorf(oauth.InvalidRequest, "charset must be utf-8")
	}
	return nil
}

// parseFormBody is url.ParseQuery made strict: invalid percent-encoding,
// invalid UTF-8, empty names and repeated names are refused instead of
// being skipped or merged.
func parseFormBody(body string) (url.Values, error) {
	form := make(url.Values, 8)
	empties := false
	for body != "" {
		var pair string
		pair, body, _ = strings.Cut(body, "&")
		if pair == "" {
			continue
		}
		rawName, rawValue, _ := strings.Cut(pair, "=")
		name, err := url.QueryUnescape(rawName)
		if err != nil {
			return nil, oauth.Errorf(oauth.InvalidRequest, "malformed percent-encoding in parameter name")
		}
		value, err := url.QueryUnescape(rawValue)
		if err != nil {
			return nil, oauth.Errorf(oauth.InvalidRequest, "malformed percent-encoding in parameter %s", describeName(name))
		}
		if !utf8.ValidString(name) || !utf8.ValidString(value) {
			return nil, oauth.Errorf(oauth.InvalidRequest, "parameters must be UTF-8")
		}
		if name == "" {
			return nil, oauth.Errorf(oauth.InvalidRequest, "parameter without a name")
		}
		if _, dup := form[name]; dup {
			return nil, oauth.Errorf(oauth.InvalidRequest, "parameter %s must not be repeated", describeName(name))
		}
		if value == "" {
			form[name] = nil // absent, but still counted for repeats
			empties = true
		} else {
			form[name] = []string{value}
		}
	}
	if empties {
		maps.DeleteFunc(form, func(_ string, v []string) bool { return v == nil })
	}
	return form, nil
}

// describeName returns a parameter name fit for an error_description
// (RFC 6749 §5.2 limits it to %x20-21 / %x23-5B / %x5D-7E).
func describeName(name string) string {
	if len(name) > 64 || !isDescriptionSafe(name) {
		return "(unprintable name)"
	}
	return name
}

func isDescriptionSafe(s string) bool {
	for i := 0; i < len(s); i++ {
		if !descriptionChar(s[i]) {
			return false
		}
	}
	return true
}

func descriptionChar(c byte) bool {
	return c == 0x20 || c == 0x21 || (c >= 0x23 && c <= 0x5B) || (c >= 0x5D && c <= 0x7E)
}
