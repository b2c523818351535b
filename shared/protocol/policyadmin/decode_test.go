package policyadmin

import (
	"encoding/json"
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

func TestBodyRules(t *testing.T) {
	const path = "/api/v2/clients/" + spaID
	big := `{"name":"` + strings.Repeat("a", maxBody) + `"}`
	for _, c := range []struct {
		name        string
		contentType []string // nil: application/json
		body        string
		status      int
		code        string
		msg         string
	}{
		{"a missing Content-Type is refused", []string{}, `{"name":"x"}`, 415, "unsupported_media_type", "application/json"},
		{"a form body is refused", []string{"application/x-www-form-urlencoded"}, `name=x`, 415, "unsupported_media_type", "application/json"},
		{"a non-UTF-8 charset is refused", []string{"application/json; charset=latin1"}, `{"name":"x"}`, 415, "unsupported_media_type", "utf-8"},
		{"two Content-Type headers are refused", []string{"application/json", "application/json"}, `{"name":"x"}`, 415, "unsupported_media_type", ""},
		{"charset utf-8 is accepted", []string{"application/json; charset=UTF-8"}, `{"name":"Renamed"}`, 200, "", ""},
		{"a body over 64 KiB is refused", nil, big, 413, "payload_too_large", "65536"},
		{"an empty body is refused", nil, ``, 400, "invalid_body", "a JSON object is required"},
		{"malformed JSON is refused", nil, `{"name":`, 400, "invalid_body", "not valid JSON"},
		{"a syntax error is refused", nil, `{"name" "x"}`, 400, "invalid_body", "not valid JSON"},
		{"an array body is refused", nil, `[]`, 400, "invalid_body", "body: must be an object"},
		{"a null body is refused", nil, `null`, 400, "invalid_body", "body: must not be null"},
		{"trailing data is refused", nil, `{"name":"x"} {}`, 400, "invalid_body", "after the JSON value"},
		{"an unknown member is refused", nil, `{"name":"x","custom_login_page":"<html>"}`, 400, "invalid_body", "custom_login_page: unknown field"},
		{"an unknown nested member is refused", nil, `{"refresh_token":{"rotation_type":"rotating","type":"rotating"}}`, 400, "invalid_body", "refresh_token.type: unknown field"},
		{"an unknown member of a policy is refused", nil, `{"refresh_token":{"policies":[{"audience":"` + apiData + `","scope":["read:data"],"extra":1}]}}`, 400, "invalid_body", "refresh_token.policies[0].extra: unknown field"},
		{"a member in the wrong case is refused", nil, `{"Name":"x"}`, 400, "invalid_body", "Name: unknown field"},
		{"a duplicate key is refused", nil, `{"name":"a","name":"b"}`, 400, "invalid_body", "name: duplicate key"},
		{"a duplicate nested key is refused", nil, `{"refresh_token":{"leeway":0,"leeway":5}}`, 400, "invalid_body", "refresh_token.leeway: duplicate key"},
		{"a duplicate key inside a policy is refused", nil, `{"refresh_token":{"policies":[{"audience":"a","audience":"b","scope":[]}]}}`, 400, "invalid_body", "refresh_token.policies[0].audience: duplicate key"},
		{"a string where a boolean belongs is refused", nil, `{"is_first_party":"true"}`, 400, "invalid_body", "is_first_party: must be a boolean"},
		{"a number where a string belongs is refused", nil, `{"name":5}`, 400, "invalid_body", "name: must be a string"},
		{"a fraction where an integer belongs is refused", nil, `{"refresh_token":{"leeway":1.5}}`, 400, "invalid_body", "refresh_token.leeway: must be an integer"},
		{"an exponent where an integer belongs is refused", nil, `{"refresh_token":{"leeway":1e3}}`, 400, "invalid_body", "refresh_token.leeway: must be an integer"},
		{"an integer out of range is refused", nil, `{"refresh_token":{"token_lifetime":99999999999}}`, 400, "invalid_body", "refresh_token.token_lifetime: must be an integer between"},
		{"a string where an array belongs is refused", nil, `{"callbacks":"https://a.example.com"}`, 400, "invalid_body", "callbacks: must be an array"},
		{"null inside an array is refused", nil, `{"callbacks":[null]}`, 400, "invalid_body", "callbacks[0]: must not be null"},
		{"null for a plain member is refused", nil, `{"name":null}`, 400, "invalid_body", "name: must not be null"},
		{"null for a nested plain member is refused", nil, `{"refresh_token":{"leeway":null}}`, 400, "invalid_body", "refresh_token.leeway: must not be null"},
		{"an object where a string belongs is refused", nil, `{"name":{"a":1}}`, 400, "invalid_body", "name: must be a string"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t)
			r := request(http.MethodPatch, path, c.body)
			r.Header.Del("Content-Type")
			cts := c.contentType
			if cts == nil {
				cts = []string{"application/json"}
			}
			for _, ct := range cts {
				r.Header.Add("Content-Type", ct)
			}
			r.Header.Set("Authorization", "Bearer "+e.token(Scopes...))
			w := e.serve(r)
			if c.status == 200 {
				wantStatus(t, w, 200)
				return
			}
			wantError(t, w, c.status, c.code, c.msg)
			if got := e.client(spaID).Name; got != "SPA" {
				t.Errorf("a refused request changed the client: name %q", got)
			}
		})
	}
}

func TestCheckJSONAgreesWithUnmarshal(t *testing.T) {
	// Whatever checkJSON accepts, encoding/json decodes into the same type.
	for _, body := range []string{
		`{}`,
		`{"name":"x","is_first_party":false,"callbacks":[],"refresh_token":null}`,
		`{"refresh_token":{"leeway":-1,"policies":null}}`,
		`{"refresh_token":{"policies":[{"audience":"a","scope":["b","c"]}]}}`,
		" \n{\"name\":\"\\u00e9\"}\n ",
	} {
		if err := checkJSON([]byte(body), reflect.TypeFor[clientBody]()); err != nil {
			t.Errorf("%s: checkJSON: %v", body, err)
			continue
		}
		var b clientBody
		if err := json.Unmarshal([]byte(body), &b); err != nil {
			t.Errorf("%s: Unmarshal: %v", body, err)
		}
	}
}

func FuzzCheckJSON(f *testing.F) {
	for _, s := range []string{
		`{"name":"x"}`, `{"refresh_token":{"policies":[{"audience":"a","scope":["s"]}]}}`,
		`{"a":1,"a":2}`, `[1,2]`, `{"callbacks":[null]}`, `{"refresh_token":{"leeway":1e2}}`, `"x"`, `{`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		err := checkJSON(data, reflect.TypeFor[clientBody]())
		if err != nil {
			var e *apiError
			if !errors.As(err, &e) || e.Status != http.StatusBadRequest || e.Message == "" {
				t.Fatalf("checkJSON error %v is not a 400", err)
			}
			return
		}
		// Accepted bodies decode, and have no duplicate keys.
		var b clientBody
		if err := json.Unmarshal(data, &b); err != nil {
			t.Fatalf("checkJSON accepted %q, Unmarshal: %v", data, err)
		}
	})
}
