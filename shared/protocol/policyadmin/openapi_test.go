package policyadmin

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/google/go-cmp/cmp"
)

// The tests here hold openapi.yaml to the handlers: the same routes and
// scopes, request schemas listing exactly the members the decoders accept,
// and every example request answered with the documented status and a body
// that matches the documented schema.

type openAPIDoc map[string]any

func loadOpenAPI(t testing.TB) openAPIDoc {
	t.Helper()
	var d openAPIDoc
	if err := yaml.Unmarshal(openAPI, &d); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	return d
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// resolve follows a local $ref ("#/components/...").
func (d openAPIDoc) resolve(v any) any {
	for {
		m := asMap(v)
		ref, ok := m["$ref"].(string)
		if !ok {
			return v
		}
		var cur any = map[string]any(d)
		for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			cur = asMap(cur)[part]
		}
		if cur == nil {
			panic("openapi: dangling $ref " + ref)
		}
		v = cur
	}
}

type operation struct {
	method, path string
	op           map[string]any
	params       []map[string]any
}

func (o operation) route() string { return o.method + " " + o.path }

func (d openAPIDoc) operations() []operation {
	var ops []operation
	for path, item := range asMap(d["paths"]) {
		pi := asMap(item)
		for method, op := range pi {
			if method == "parameters" {
				continue
			}
			o := operation{method: strings.ToUpper(method), path: path, op: asMap(op)}
			for _, p := range append(asList(pi["parameters"]), asList(o.op["parameters"])...) {
				o.params = append(o.params, asMap(d.resolve(p)))
			}
			ops = append(ops, o)
		}
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].route() < ops[j].route() })
	return ops
}

// url fills the path parameters with their examples.
func (o operation) url(t testing.TB) string {
	t.Helper()
	p := o.path
	for _, param := range o.params {
		if param["in"] != "path" {
			continue
		}
		ex, ok := param["example"].(string)
		if !ok {
			t.Fatalf("%s: path parameter %v has no example", o.route(), param["name"])
		}
		p = strings.ReplaceAll(p, "{"+param["name"].(string)+"}", url.PathEscape(ex))
	}
	return p
}

// success is the documented 2xx status and its response.
func (o operation) success(t testing.TB) (int, map[string]any) {
	t.Helper()
	for code, resp := range asMap(o.op["responses"]) {
		var n int
		if _, err := fmt.Sscan(code, &n); err == nil && n >= 200 && n < 300 {
			return n, asMap(resp)
		}
	}
	t.Fatalf("%s: no 2xx response", o.route())
	return 0, nil
}

// scopes are the scopes the operation's security requirement names.
func (o operation) scopes() []string {
	out := []string{}
	for _, req := range asList(o.op["security"]) {
		for _, s := range asList(asMap(req)["adminToken"]) {
			out = append(out, s.(string))
		}
	}
	return out
}

type example struct {
	name string
	body any // nil when the operation has no body
}

func (o operation) examples(t testing.TB) []example {
	t.Helper()
	rb := asMap(o.op["requestBody"])
	if rb == nil {
		return []example{{name: "no body"}}
	}
	exs := asMap(asMap(asMap(rb["content"])["application/json"])["examples"])
	if len(exs) == 0 {
		t.Fatalf("%s: a request body without examples", o.route())
	}
	var out []example
	for name, ex := range exs {
		out = append(out, example{name: name, body: asMap(ex)["value"]})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

func routeScope(pattern string) string {
	for _, rt := range routes {
		if rt.pattern == pattern {
			return rt.scope
		}
	}
	panic("no route " + pattern)
}

func TestOpenAPIDescribesExactlyTheRoutes(t *testing.T) {
	d := loadOpenAPI(t)
	if v := d["openapi"]; v != "3.1.0" {
		t.Errorf("openapi = %v, want 3.1.0", v)
	}
	var documented []string
	for _, o := range d.operations() {
		documented = append(documented, o.route())
	}
	want := slices.Clone(Routes)
	slices.Sort(want)
	if diff := cmp.Diff(want, documented); diff != "" {
		t.Errorf("Routes (-) vs openapi.yaml paths (+):\n%s", diff)
	}
}

func TestOpenAPISecurityNamesEachRoutesScope(t *testing.T) {
	d := loadOpenAPI(t)
	defined := asMap(asMap(asMap(asMap(asMap(d["components"])["securitySchemes"])["adminToken"])["flows"])["clientCredentials"])
	for _, s := range Scopes {
		if _, ok := asMap(defined["scopes"])[s]; !ok {
			t.Errorf("scope %s is not defined in the security scheme", s)
		}
	}
	for _, o := range d.operations() {
		want := []string{}
		if s := routeScope(o.route()); s != "" {
			want = []string{s}
		}
		if diff := cmp.Diff(want, o.scopes()); diff != "" {
			t.Errorf("%s: scopes (-route +doc):\n%s", o.route(), diff)
		}
	}
}

func TestOpenAPIRequestSchemasListTheDecodedMembers(t *testing.T) {
	d := loadOpenAPI(t)
	schemas := asMap(asMap(d["components"])["schemas"])
	for name, typ := range map[string]reflect.Type{
		"ClientCreate":              reflect.TypeFor[clientBody](),
		"ClientUpdate":              reflect.TypeFor[clientBody](),
		"RefreshTokenConfiguration": reflect.TypeFor[refreshTokenBody](),
		"RefreshTokenPolicy":        reflect.TypeFor[policyBody](),
		"ResourceServerCreate":      reflect.TypeFor[apiBody](),
		"ResourceServerUpdate":      reflect.TypeFor[apiBody](),
		"Scope":                     reflect.TypeFor[scopeBody](),
		"ClientGrantCreate":         reflect.TypeFor[grantBody](),
		"ClientGrantUpdate":         reflect.TypeFor[grantBody](),
		"UserCreate":                reflect.TypeFor[userBody](),
		"UserUpdate":                reflect.TypeFor[userBody](),
	} {
		s := asMap(schemas[name])
		if s["additionalProperties"] != false {
			t.Errorf("%s: additionalProperties must be false (unknown members are refused)", name)
		}
		var documented, decoded []string
		for k := range asMap(s["properties"]) {
			documented = append(documented, k)
		}
		for k := range jsonFields(typ) {
			decoded = append(decoded, k)
		}
		slices.Sort(documented)
		slices.Sort(decoded)
		if diff := cmp.Diff(decoded, documented); diff != "" {
			t.Errorf("%s: members (-decoder +doc):\n%s", name, diff)
		}
	}
}

// TestOpenAPIExamplesAreAnsweredAsDocumented sends every example request,
// with a token carrying exactly the operation's scope, to a freshly seeded
// store, and checks the status and the response body against the document.
func TestOpenAPIExamplesAreAnsweredAsDocumented(t *testing.T) {
	d := loadOpenAPI(t)
	for _, o := range d.operations() {
		status, resp := o.success(t)
		for _, ex := range o.examples(t) {
			t.Run(o.route()+" "+ex.name, func(t *testing.T) {
				e := newEnv(t)
				var w *httptest.ResponseRecorder
				if sc := o.scopes(); len(sc) > 0 {
					w = e.callWith(e.token(sc...), o.method, o.url(t), ex.body)
				} else {
					w = e.serve(request(o.method, o.url(t), ex.body))
				}
				wantStatus(t, w, status)
				if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
					t.Errorf("Cache-Control = %q", cc)
				}
				content := asMap(resp["content"])
				if content == nil {
					if w.Body.Len() != 0 {
						t.Errorf("documented without a body, got %s", w.Body)
					}
					return
				}
				if js, ok := content["application/json"]; ok {
					var body any
					if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
						t.Fatalf("body: %v", err)
					}
					for _, p := range d.check(asMap(js)["schema"], body, "body") {
						t.Error(p)
					}
				}
			})
		}
	}
}

func TestOpenAPIIsServedWithoutToken(t *testing.T) {
	e := newEnv(t)
	w := e.serve(request(http.MethodGet, "/api/v2/openapi.yaml", nil))
	wantStatus(t, w, http.StatusOK)
	if ct := w.Header().Get("Content-Type"); ct != "application/yaml" {
		t.Errorf("Content-Type = %q", ct)
	}
	if w.Body.String() != string(openAPI) {
		t.Error("served document differs from openapi.yaml")
	}
}

// check validates a decoded JSON value against a schema: type, enum,
// required, additionalProperties false, items, oneOf/anyOf, date-time.
func (d openAPIDoc) check(schema, v any, path string) []string {
	s := asMap(d.resolve(schema))
	for _, key := range []string{"oneOf", "anyOf"} {
		if alts := asList(s[key]); alts != nil {
			for _, alt := range alts {
				if len(d.check(alt, v, path)) == 0 {
					return nil
				}
			}
			return []string{path + ": matches none of " + key}
		}
	}
	var probs []string
	if types := schemaTypes(s["type"]); len(types) > 0 && !slices.Contains(types, jsonType(v)) &&
		!(jsonType(v) == "integer" && slices.Contains(types, "number")) {
		return []string{fmt.Sprintf("%s: %s, want %v", path, jsonType(v), types)}
	}
	if enum := asList(s["enum"]); enum != nil && !slices.ContainsFunc(enum, func(x any) bool { return fmt.Sprint(x) == fmt.Sprint(v) }) {
		probs = append(probs, fmt.Sprintf("%s: %v not in %v", path, v, enum))
	}
	if s["format"] == "date-time" {
		if str, _ := v.(string); str != "" {
			if _, err := time.Parse(time.RFC3339Nano, str); err != nil {
				probs = append(probs, path+": not a date-time")
			}
		}
	}
	switch x := v.(type) {
	case map[string]any:
		props := asMap(s["properties"])
		for _, r := range asList(s["required"]) {
			if _, ok := x[r.(string)]; !ok {
				probs = append(probs, fmt.Sprintf("%s: missing required %s", path, r))
			}
		}
		for k, val := range x {
			ps, ok := props[k]
			if !ok {
				if s["additionalProperties"] == false {
					probs = append(probs, fmt.Sprintf("%s.%s: not in the schema", path, k))
				}
				continue
			}
			probs = append(probs, d.check(ps, val, path+"."+k)...)
		}
	case []any:
		if items, ok := s["items"]; ok {
			for i, it := range x {
				probs = append(probs, d.check(items, it, fmt.Sprintf("%s[%d]", path, i))...)
			}
		}
	}
	return probs
}

func schemaTypes(v any) []string {
	switch t := v.(type) {
	case string:
		return []string{t}
	case []any:
		out := make([]string, len(t))
		for i, x := range t {
			out[i] = fmt.Sprint(x)
		}
		return out
	}
	return nil
}

func jsonType(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case float64:
		if x == math.Trunc(x) {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

func TestSchemaCheckCatchesDrift(t *testing.T) {
	d := loadOpenAPI(t)
	client := map[string]any{}
	if err := json.Unmarshal([]byte(`{"client_id":"x","name":"n","app_type":"spa","is_first_party":true,"callbacks":[],
		"grant_types":["password"],"token_endpoint_auth_method":"none","refresh_token":{"rotation_type":"rotating","expiration_type":"expiring","leeway":0,
		"infinite_token_lifetime":false,"infinite_idle_token_lifetime":false,"policies":null},"secret_hash":"x"}`), &client); err != nil {
		t.Fatal(err)
	}
	probs := d.check(map[string]any{"$ref": "#/components/schemas/Client"}, client, "body")
	want := []string{"body.grant_types[0]: password not in", "body.secret_hash: not in the schema"}
	for _, w := range want {
		if !slices.ContainsFunc(probs, func(p string) bool { return strings.HasPrefix(p, w) }) {
			t.Errorf("problems %q lack %q", probs, w)
		}
	}
}
