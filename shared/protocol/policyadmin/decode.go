package policyadmin

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
)

// maxBody bounds request bodies. It is also the cap on the size of an MRRT
// policy, so a client record stays far below DynamoDB's 400 KB item limit.
const maxBody = 64 << 10

// opt is a request field: Set when the member is present, Null when its
// value is null. PATCH changes exactly the members that are Set.
type opt[T any] struct {
	Set  bool
	Null bool
	V    T
}

func (o *opt[T]) UnmarshalJSON(b []byte) error {
	o.Set = true
	if string(b) == "null" {
		o.Null = true
		return nil
	}
	return json.Unmarshal(b, &o.V)
}

// valueType tells checkJSON what an opt holds.
func (opt[T]) valueType() reflect.Type { return reflect.TypeFor[T]() }

type optional interface{ valueType() reflect.Type }

var optionalType = reflect.TypeFor[optional]()

// value returns the value of a present, non-null member; null is refused
// unless the field allows it (callers check Null first where it does).
func (o opt[T]) value(field string) (T, bool, error) {
	if !o.Set {
		var zero T
		return zero, false, nil
	}
	if o.Null {
		var zero T
		return zero, false, invalidBody(field, "must not be null")
	}
	return o.V, true, nil
}

// decodeBody reads a JSON request body into v (a pointer to a struct of
// opt fields). It requires Content-Type application/json, refuses bodies over
// maxBody, duplicate keys, unknown or wrongly cased members at any depth,
// values of the wrong type and trailing data, naming the offending member.
func decodeBody(r *http.Request, v any) error {
	if err := checkContentType(r.Header.Values("Content-Type")); err != nil {
		return err
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return invalidBody("", "could not read the body")
	}
	if len(data) > maxBody {
		return newError(http.StatusRequestEntityTooLarge, "payload_too_large", "the body must not exceed %d bytes", maxBody)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return invalidBody("", "a JSON object is required")
	}
	if err := checkJSON(data, reflect.TypeOf(v).Elem()); err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		// checkJSON has seen every member and type; this is a safety net.
		return invalidBody("", "the body does not match the schema")
	}
	return nil
}

func checkContentType(values []string) error {
	if len(values) != 1 {
		return newError(http.StatusUnsupportedMediaType, "unsupported_media_type", "Content-Type must be application/json")
	}
	mt, params, err := mime.ParseMediaType(values[0])
	if err != nil || mt != "application/json" {
		return newError(http.StatusUnsupportedMediaType, "unsupported_media_type", "Content-Type must be application/json")
	}
	for k, v := range params {
		if k != "charset" || !strings.EqualFold(v, "utf-8") {
			return newError(http.StatusUnsupportedMediaType, "unsupported_media_type", "Content-Type must be application/json (charset utf-8 only)")
		}
	}
	return nil
}

// checkJSON walks the token stream of data against the Go type t, so that
// every problem is reported with its path ("refresh_token.policies[0].scope"):
// duplicate keys (RFC 8259 §4 leaves them undefined; we refuse them), members
// t does not have (matched case-sensitively, unlike encoding/json), type
// mismatches, null where t is not an opt, and anything after the value.
func checkJSON(data []byte, t reflect.Type) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := walk(dec, t, ""); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return invalidBody("", "unexpected data after the JSON value")
	}
	return nil
}

func walk(dec *json.Decoder, t reflect.Type, path string) error {
	tok, err := dec.Token()
	if err != nil {
		return syntaxError(err)
	}
	return walkValue(dec, tok, t, path)
}

func walkValue(dec *json.Decoder, tok json.Token, t reflect.Type, path string) error {
	if t.Implements(optionalType) {
		if tok == nil {
			return nil
		}
		t = reflect.Zero(t).Interface().(optional).valueType()
	}
	if tok == nil {
		return invalidBody(name(path), "must not be null")
	}
	switch t.Kind() {
	case reflect.Struct:
		if tok != json.Delim('{') {
			return invalidBody(name(path), "must be an object")
		}
		fields := jsonFields(t)
		return walkObject(dec, path, func(key string) (reflect.Type, error) {
			ft, ok := fields[key]
			if !ok {
				return nil, invalidBody(join(path, key), "unknown field")
			}
			return ft, nil
		})
	case reflect.Slice:
		if tok != json.Delim('[') {
			return invalidBody(name(path), "must be an array")
		}
		for i := 0; dec.More(); i++ {
			if err := walk(dec, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		_, err := dec.Token() // ]
		return syntaxError(err)
	case reflect.String:
		if _, ok := tok.(string); !ok {
			return invalidBody(name(path), "must be a string")
		}
	case reflect.Bool:
		if _, ok := tok.(bool); !ok {
			return invalidBody(name(path), "must be a boolean")
		}
	case reflect.Int:
		n, ok := tok.(json.Number)
		if !ok {
			return invalidBody(name(path), "must be an integer")
		}
		if _, err := strconv.ParseInt(string(n), 10, 32); err != nil {
			return invalidBody(name(path), "must be an integer between -2147483648 and 2147483647")
		}
	default:
		panic("policyadmin: checkJSON: unsupported type " + t.String())
	}
	return nil
}

// walkObject reads the members of an object whose '{' was consumed.
func walkObject(dec *json.Decoder, path string, member func(key string) (reflect.Type, error)) error {
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return syntaxError(err)
		}
		key := tok.(string) // the decoder guarantees a string key here
		if seen[key] {
			return invalidBody(join(path, key), "duplicate key")
		}
		seen[key] = true
		ft, err := member(key)
		if err != nil {
			return err
		}
		if err := walk(dec, ft, join(path, key)); err != nil {
			return err
		}
	}
	_, err := dec.Token() // }
	return syntaxError(err)
}

func syntaxError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return invalidBody("", "the body is not valid JSON: unexpected end")
	}
	return invalidBody("", "the body is not valid JSON: %v", err)
}

// jsonFields maps the JSON member names of struct t to their types.
func jsonFields(t reflect.Type) map[string]reflect.Type {
	m := make(map[string]reflect.Type, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || tag == "-" || tag == "" {
			continue
		}
		m[tag] = f.Type
	}
	return m
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func name(path string) string {
	if path == "" {
		return "body"
	}
	return path
}
