package local_test

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/goccy/go-yaml"
	"github.com/google/go-cmp/cmp"

	"github.com/mrrt-auth/mrrt/shared/adapters/dynamostore"
	"github.com/mrrt-auth/mrrt/shared/adapters/emf"
	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/runtime/awsdeps"
	"github.com/mrrt-auth/mrrt/shared/runtime/lambdahttp"
	"github.com/mrrt-auth/mrrt/shared/runtime/local"
)

// The SAM template, the router and the store must agree; these tests read
// template.yaml (its CloudFormation tags such as !Sub are dropped by the
// decoder, their values kept) and compare.

var functions = []local.Function{local.Authorize, local.Token, local.PolicyAdmin}

// apiAuthorizer is the optional example authorizer for users' own APIs:
// it serves no route of this API, but is named, built and given a role
// like the three functions.
const apiAuthorizer local.Function = "api-authorizer"

// deployed are all the functions the template can deploy.
var deployed = append(slices.Clone(functions), apiAuthorizer)

// logicalIDs are the template's names of the functions.
var logicalIDs = map[local.Function]string{
	local.Authorize:   "AuthorizeFunction",
	local.Token:       "TokenFunction",
	local.PolicyAdmin: "PolicyAdminFunction",
	apiAuthorizer:     "ApiAuthorizerFunction",
}

type template struct {
	Parameters map[string]struct {
		Type           string `yaml:"Type"`
		AllowedPattern string `yaml:"AllowedPattern"`
	} `yaml:"Parameters"`
	Globals struct {
		Function struct {
			Environment struct {
				Variables map[string]any `yaml:"Variables"`
			} `yaml:"Environment"`
		} `yaml:"Function"`
	} `yaml:"Globals"`
	Resources map[string]resource `yaml:"Resources"`
}

type resource struct {
	Type       string         `yaml:"Type"`
	Metadata   map[string]any `yaml:"Metadata"`
	Properties map[string]any `yaml:"Properties"`
}

func readTemplate(t *testing.T) *template {
	t.Helper()
	b, err := os.ReadFile("../../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var tpl template
	if err := yaml.Unmarshal(b, &tpl); err != nil {
		t.Fatalf("template.yaml: %v", err)
	}
	return &tpl
}

// get walks nested maps: get(m, "a", "b") is m["a"]["b"].
func get(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// templateRoute converts a ServeMux pattern ("GET /api/v2/clients/{id}")
// to the HttpApi route key ("GET /api/v2/clients/{id}"); a wildcard
// "{name...}" becomes the greedy "{name+}". Patterns that an HttpApi route
// cannot express are an error.
func templateRoute(pattern string) (string, error) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok || method == "" || !strings.HasPrefix(path, "/") || strings.Contains(path, " ") {
		return "", fmt.Errorf("%q: want METHOD /path", pattern)
	}
	if strings.Contains(path, "{$}") || (strings.HasSuffix(path, "/") && path != "/") {
		return "", fmt.Errorf("%q: subtree or {$} patterns have no HttpApi route", pattern)
	}
	segs := strings.Split(path, "/")
	for i, s := range segs {
		if name, ok := strings.CutSuffix(strings.TrimPrefix(s, "{"), "...}"); ok && strings.HasPrefix(s, "{") {
			if i != len(segs)-1 {
				return "", fmt.Errorf("%q: wildcard not last", pattern)
			}
			segs[i] = "{" + name + "+}"
		}
	}
	return method + " " + strings.Join(segs, "/"), nil
}

func TestTemplateRoutesMatchTheRouter(t *testing.T) {
	tpl := readTemplate(t)
	body := tpl.Resources["HttpApi"].Properties["DefinitionBody"]
	paths, ok := get(body, "paths").(map[string]any)
	if !ok || len(paths) == 0 {
		t.Fatal("HttpApi has no DefinitionBody paths")
	}

	// Every route of the template, with the integration (function) it calls.
	inTemplate := map[string]string{}
	for path, ops := range paths {
		for method, op := range ops.(map[string]any) {
			if method == "parameters" {
				continue // the path's parameters, shared by its operations
			}
			ref, _ := get(op, "x-amazon-apigateway-integration", "$ref").(string)
			name, ok := strings.CutPrefix(ref, "#/components/x-amazon-apigateway-integrations/")
			if !ok {
				t.Errorf("%s %s: integration is not a $ref to a shared integration: %v", method, path, op)
			}
			inTemplate[strings.ToUpper(method)+" "+path] = name
		}
	}
	// Every route of the router, with its function.
	inRouter := map[string]string{}
	for _, f := range functions {
		for _, p := range local.RoutesOf(f) {
			route, err := templateRoute(p)
			if err != nil {
				t.Errorf("%s: %v", f, err)
				continue
			}
			inRouter[route] = string(f)
		}
	}
	if len(inRouter) == 0 {
		t.Fatal("the router has no routes")
	}

	t.Run("every router route is in the template, on its function", func(t *testing.T) {
		for _, r := range slices.Sorted(maps.Keys(inRouter)) {
			if got, ok := inTemplate[r]; !ok {
				t.Errorf("template.yaml lacks route %q (function %s)", r, inRouter[r])
			} else if got != inRouter[r] {
				t.Errorf("route %q goes to %s in template.yaml, but the router serves it from %s", r, got, inRouter[r])
			}
		}
	})
	t.Run("every template route is served by the router", func(t *testing.T) {
		for _, r := range slices.Sorted(maps.Keys(inTemplate)) {
			if _, ok := inRouter[r]; !ok {
				t.Errorf("template.yaml routes %q, which no function serves", r)
			}
		}
	})
	t.Run("each integration invokes the function of its name", func(t *testing.T) {
		integrations, _ := get(body, "components", "x-amazon-apigateway-integrations").(map[string]any)
		for _, f := range functions {
			in := integrations[string(f)]
			uri, uriID := sub(t, get(in, "uri"))
			want := ":function:" + functionName(f) + "/invocations"
			if !strings.HasSuffix(uri, want) {
				t.Errorf("integration %s: uri %q does not end in %q", f, uri, want)
			}
			if get(in, "type") != "aws_proxy" || get(in, "payloadFormatVersion") != "2.0" {
				t.Errorf("integration %s: want type aws_proxy and payload format 2.0, got %v", f, in)
			}
			name, nameID := sub(t, tpl.Resources[logicalIDs[f]].Properties["FunctionName"])
			if name != functionName(f) || !cmp.Equal(nameID, uriID) {
				t.Errorf("%s: FunctionName %q with %v, want %q with the integration's %v", logicalIDs[f], name, nameID, functionName(f), uriID)
			}
		}
	})
}

// functionName is the name template.yaml gives function f, before
// CloudFormation puts the stack id's first 8 hex digits for ${Id}.
func functionName(f local.Function) string { return "mrrt-${Id}-" + string(f) }

// stackIDPrefix is how the template computes ${Id}, as the decoder reads
// !Select [0, !Split ["-", !Select [2, !Split ["/", !Ref AWS::StackId]]]].
var stackIDPrefix = []any{uint64(0), []any{"-", []any{uint64(2), []any{"/", "AWS::StackId"}}}}

// sub reads a !Sub [format, {Id: expression}] and checks the expression
// is the stack id's prefix.
func sub(t *testing.T, v any) (string, any) {
	t.Helper()
	l, ok := v.([]any)
	if !ok || len(l) != 2 {
		t.Errorf("want !Sub [format, {Id: ...}], got %#v", v)
		return "", nil
	}
	format, _ := l[0].(string)
	id := get(l[1], "Id")
	if !cmp.Equal(id, stackIDPrefix) {
		t.Errorf("%s: Id is %#v, want the stack id's first 8 hex digits %#v", format, id, stackIDPrefix)
	}
	return format, id
}

// Lambda limits a function name to 64 characters. Names made of the stack
// name capped stack names at about 51 characters with no check; names made
// of the stack id have a fixed length, and a stack created again gets new
// names, so it never meets log groups an earlier stack left behind.
func TestFunctionAndLogGroupNamesDoNotDependOnTheStackName(t *testing.T) {
	tpl := readTemplate(t)
	for _, f := range deployed {
		name, _ := sub(t, tpl.Resources[logicalIDs[f]].Properties["FunctionName"])
		if n := len(strings.Replace(name, "${Id}", "0123abcd", 1)); n > 64 {
			t.Errorf("%s: name %q is %d characters, over Lambda's 64", f, name, n)
		}
		group, ok := strings.CutSuffix(fmt.Sprint(get(tpl.Resources[logicalIDs[f]].Properties, "LoggingConfig", "LogGroup")), "")
		lg := tpl.Resources[group]
		if !ok || lg.Type != "AWS::Logs::LogGroup" {
			t.Fatalf("%s: LoggingConfig.LogGroup %q is not a log group of the template", f, group)
		}
		if lgName, _ := sub(t, lg.Properties["LogGroupName"]); lgName != "/aws/lambda/"+name {
			t.Errorf("%s: log group %q, want /aws/lambda/%s", f, lgName, name)
		}
	}
	b, err := os.ReadFile("../../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.Contains(line, "${AWS::StackName}-") && (strings.Contains(line, "FunctionName") || strings.Contains(line, "LogGroupName") || strings.Contains(line, ":function:")) {
			t.Errorf("a function or log group name depends on the stack name: %s", strings.TrimSpace(line))
		}
	}
}

// Each function runs under a role of the template's own (not SAM's, which
// attaches AWSLambdaBasicExecutionRole with log actions on "*"), and no
// statement of it names "*": logs go to the function's own log group.
func TestFunctionRolesNameNoWildcardResource(t *testing.T) {
	tpl := readTemplate(t)
	for _, f := range deployed {
		fn := tpl.Resources[logicalIDs[f]].Properties
		roleRef, _ := fn["Role"].(string)
		role, ok := strings.CutSuffix(roleRef, ".Arn")
		if !ok || tpl.Resources[role].Type != "AWS::IAM::Role" {
			t.Errorf("%s: Role %v is not !GetAtt <an AWS::IAM::Role of the template>.Arn", logicalIDs[f], fn["Role"])
			continue
		}
		for _, k := range []string{"Policies", "ManagedPolicyArns", "PermissionsBoundary"} {
			if fn[k] != nil {
				t.Errorf("%s: %s next to Role (SAM would add to the role, or ignore it)", logicalIDs[f], k)
			}
		}
		rp := tpl.Resources[role].Properties
		if rp["ManagedPolicyArns"] != nil {
			t.Errorf("%s: managed policies %v", role, rp["ManagedPolicyArns"])
		}
		logGroup := fmt.Sprint(get(fn, "LoggingConfig", "LogGroup"))
		var logs bool
		for _, st := range flatten(get(rp, "Policies")) {
			for _, stmt := range flatten(get(st, "PolicyDocument", "Statement")) {
				resources := flatten(get(stmt, "Resource"))
				if len(resources) == 0 {
					t.Errorf("%s: statement %v has no Resource", role, stmt)
				}
				for _, r := range resources {
					if s := fmt.Sprint(r); s == "*" || strings.HasSuffix(s, ":*") || strings.Contains(s, "/*") {
						t.Errorf("%s: statement %v grants on %q", role, get(stmt, "Sid"), s)
					}
				}
				for _, a := range flatten(get(stmt, "Action")) {
					switch act := fmt.Sprint(a); {
					case act == "logs:FilterLogEvents":
						// Reading events back (/api/v2/logs): the stack's own log groups only.
						for _, r := range resources {
							group, _ := strings.CutSuffix(fmt.Sprint(r), ".Arn")
							if tpl.Resources[group].Type != "AWS::Logs::LogGroup" {
								t.Errorf("%s: %s on %v, want log groups of the template only", role, act, r)
							}
						}
					case strings.HasPrefix(act, "logs:"):
						logs = true
						if len(resources) != 1 || resources[0] != logGroup+".Arn" {
							t.Errorf("%s: %v on %v, want only the function's own log group %s", role, a, resources, logGroup)
						}
					}
				}
			}
		}
		if !logs {
			t.Errorf("%s: no log actions on the function's log group: the function could not log", role)
		}
	}
}

// flatten turns a statement list with conditional entries (!If [cond, a,
// AWS::NoValue]) into its possible entries.
func flatten(v any) []any {
	switch v := v.(type) {
	case nil:
		return nil
	case []any:
		var out []any
		for _, e := range v {
			if s, ok := e.(string); ok && (s == "AWS::NoValue" || strings.HasPrefix(s, "Has") || strings.HasPrefix(s, "With")) {
				continue // !If's condition name or its empty branch
			}
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []any{v}
}

// Sample ARNs against the key parameters' AllowedPattern: what AWS issues
// passes (single-Region and multi-Region keys, every partition), what ends
// up as a useless IAM Resource (aliases, bare key ids) does not.
// PreviousSigningKeyArns is a CommaDelimitedList: CloudFormation matches
// its pattern against each value.
func TestKeyARNParametersAcceptWhatAWSIssues(t *testing.T) {
	tpl := readTemplate(t)
	valid := []string{
		"arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
		"arn:aws:kms:us-east-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab",
		"arn:aws-cn:kms:cn-north-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
		"arn:aws-us-gov:kms:us-gov-west-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab",
	}
	invalid := []string{
		"alias/mrrt-signing",
		"arn:aws:kms:eu-west-1:123456789012:alias/mrrt-signing",
		"1234abcd-12ab-34cd-56ef-1234567890ab",
		"mrk-1234abcd12ab34cd56ef1234567890ab",
		"arn:aws:kms:eu-west-1:12345:key/1234abcd-12ab-34cd-56ef-1234567890ab",
		"arn:aws:kms:eu-west-1:123456789012:key/mrk-1234",
		"arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab ",
		"arn:aws:s3:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
		"*",
	}
	for _, name := range []string{"SigningKeyArn", "PreviousSigningKeyArns"} {
		p := tpl.Parameters[name]
		if p.AllowedPattern == "" {
			t.Errorf("%s has no AllowedPattern", name)
			continue
		}
		re := regexp.MustCompile(p.AllowedPattern)
		for _, v := range append(valid, "") { // "" is the default: no key
			if !re.MatchString(v) {
				t.Errorf("%s refuses %q", name, v)
			}
		}
		for _, v := range invalid {
			if re.MatchString(v) {
				t.Errorf("%s accepts %q", name, v)
			}
		}
	}
	if typ := tpl.Parameters["PreviousSigningKeyArns"].Type; typ != "CommaDelimitedList" {
		t.Errorf("PreviousSigningKeyArns is %s: its pattern applies to each value only on a CommaDelimitedList", typ)
	}
}

func TestTemplateRouteConversion(t *testing.T) {
	tests := []struct {
		name, pattern, want string
		wantErr             bool
	}{
		{name: "a plain route keeps method and path", pattern: "POST /oauth/token", want: "POST /oauth/token"},
		{name: "a path parameter keeps its braces", pattern: "GET /api/v2/clients/{id}", want: "GET /api/v2/clients/{id}"},
		{name: "a trailing wildcard becomes greedy", pattern: "GET /files/{rest...}", want: "GET /files/{rest+}"},
		{name: "a pattern without a method is refused", pattern: "/authorize", wantErr: true},
		{name: "an exact-match {$} pattern is refused", pattern: "GET /{$}", wantErr: true},
		{name: "a subtree pattern is refused", pattern: "GET /static/", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := templateRoute(tt.pattern)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("templateRoute(%q) = %q, %v; want %q, error %v", tt.pattern, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

// tableRecorder captures what dynamostore.CreateTable asks for.
type tableRecorder struct {
	create *dynamodb.CreateTableInput
	ttl    *dynamodb.UpdateTimeToLiveInput
}

func (r *tableRecorder) CreateTable(_ context.Context, in *dynamodb.CreateTableInput, _ ...func(*dynamodb.Options)) (*dynamodb.CreateTableOutput, error) {
	r.create = in
	return &dynamodb.CreateTableOutput{}, nil
}

func (r *tableRecorder) DescribeTable(_ context.Context, in *dynamodb.DescribeTableInput, _ ...func(*dynamodb.Options)) (*dynamodb.DescribeTableOutput, error) {
	return &dynamodb.DescribeTableOutput{Table: &types.TableDescription{TableName: in.TableName, TableStatus: types.TableStatusActive}}, nil
}

func (r *tableRecorder) DescribeTimeToLive(context.Context, *dynamodb.DescribeTimeToLiveInput, ...func(*dynamodb.Options)) (*dynamodb.DescribeTimeToLiveOutput, error) {
	return &dynamodb.DescribeTimeToLiveOutput{}, nil
}

func (r *tableRecorder) UpdateTimeToLive(_ context.Context, in *dynamodb.UpdateTimeToLiveInput, _ ...func(*dynamodb.Options)) (*dynamodb.UpdateTimeToLiveOutput, error) {
	r.ttl = in
	return &dynamodb.UpdateTimeToLiveOutput{}, nil
}

// tableShape is what the template and CreateTable must agree on.
type tableShape struct {
	BillingMode string
	Attributes  []string // "NAME:TYPE", sorted
	Keys        []string // "NAME:HASH", "NAME:RANGE"
	Indexes     map[string][]string
	Projections map[string]string
	TTL         string
}

func TestTemplateTableMatchesCreateTable(t *testing.T) {
	var rec tableRecorder
	if err := dynamostore.CreateTable(context.Background(), &rec, "t"); err != nil {
		t.Fatal(err)
	}
	if rec.create == nil || rec.ttl == nil {
		t.Fatal("CreateTable did not create the table and enable TTL")
	}
	fromCode := tableShape{
		BillingMode: string(rec.create.BillingMode),
		Indexes:     map[string][]string{},
		Projections: map[string]string{},
		TTL:         aws.ToString(rec.ttl.TimeToLiveSpecification.AttributeName),
	}
	for _, a := range rec.create.AttributeDefinitions {
		fromCode.Attributes = append(fromCode.Attributes, aws.ToString(a.AttributeName)+":"+string(a.AttributeType))
	}
	keys := func(ks []types.KeySchemaElement) []string {
		var out []string
		for _, k := range ks {
			out = append(out, aws.ToString(k.AttributeName)+":"+string(k.KeyType))
		}
		return out
	}
	fromCode.Keys = keys(rec.create.KeySchema)
	for _, g := range rec.create.GlobalSecondaryIndexes {
		fromCode.Indexes[aws.ToString(g.IndexName)] = keys(g.KeySchema)
		fromCode.Projections[aws.ToString(g.IndexName)] = string(g.Projection.ProjectionType)
	}
	sort.Strings(fromCode.Attributes)

	tpl := readTemplate(t)
	table := tpl.Resources["Table"]
	if table.Type != "AWS::DynamoDB::Table" {
		t.Fatalf("Table is %q", table.Type)
	}
	p := table.Properties
	fromTemplate := tableShape{
		BillingMode: fmt.Sprint(p["BillingMode"]),
		Indexes:     map[string][]string{},
		Projections: map[string]string{},
		TTL:         fmt.Sprint(get(p, "TimeToLiveSpecification", "AttributeName")),
	}
	for _, a := range p["AttributeDefinitions"].([]any) {
		fromTemplate.Attributes = append(fromTemplate.Attributes, fmt.Sprint(get(a, "AttributeName"))+":"+fmt.Sprint(get(a, "AttributeType")))
	}
	tkeys := func(ks any) []string {
		var out []string
		for _, k := range ks.([]any) {
			out = append(out, fmt.Sprint(get(k, "AttributeName"))+":"+fmt.Sprint(get(k, "KeyType")))
		}
		return out
	}
	fromTemplate.Keys = tkeys(p["KeySchema"])
	for _, g := range p["GlobalSecondaryIndexes"].([]any) {
		name := fmt.Sprint(get(g, "IndexName"))
		fromTemplate.Indexes[name] = tkeys(get(g, "KeySchema"))
		fromTemplate.Projections[name] = fmt.Sprint(get(g, "Projection", "ProjectionType"))
	}
	sort.Strings(fromTemplate.Attributes)

	if diff := cmp.Diff(fromCode, fromTemplate); diff != "" {
		t.Errorf("template.yaml's Table differs from dynamostore.CreateTable (-code +template):\n%s", diff)
	}
	if get(p, "TimeToLiveSpecification", "Enabled") != true || get(p, "PointInTimeRecoverySpecification", "PointInTimeRecoveryEnabled") != true {
		t.Error("Table must enable TTL and point-in-time recovery")
	}
}

func TestTemplateEnvironmentIsWhatAWSDepsReads(t *testing.T) {
	vars := readTemplate(t).Globals.Function.Environment.Variables
	if len(vars) == 0 {
		t.Fatal("no Globals.Function.Environment.Variables")
	}
	read := map[string]bool{}
	getenv := func(name string) string {
		read[name] = true
		if _, ok := vars[name]; !ok {
			return ""
		}
		switch name {
		case "KMS_KEY_ALG": // a literal in the template
			return fmt.Sprint(vars[name])
		case "CONFIG_CACHE_TTL":
			return "30s"
		case "SIGNING_MODE":
			return "kms"
		case "ISSUER":
			return "https://auth.example.com"
		}
		return "x"
	}
	if _, err := awsdeps.FromConfig(aws.Config{Region: "eu-west-1"}, getenv); err != nil {
		t.Fatalf("the template's variables do not satisfy awsdeps: %v", err)
	}
	// Read by the AWS SDK itself, declared for `sam local --env-vars`.
	sdkReads := map[string]bool{"AWS_ENDPOINT_URL": true}
	for _, name := range slices.Sorted(maps.Keys(vars)) {
		if !read[name] && !sdkReads[name] {
			t.Errorf("template sets %s, which awsdeps never reads", name)
		}
	}
}

// The example authorizer's own variables and the global ISSUER are what
// lambdahttp.AuthorizerFromEnv reads, and satisfy it.
func TestAuthorizerEnvironmentIsWhatItReads(t *testing.T) {
	tpl := readTemplate(t)
	own, _ := get(tpl.Resources[logicalIDs[apiAuthorizer]].Properties, "Environment", "Variables").(map[string]any)
	if len(own) == 0 {
		t.Fatal("ApiAuthorizerFunction sets no Environment.Variables")
	}
	read := map[string]bool{}
	values := map[string]string{"ISSUER": "https://auth.example.com/", "API_AUDIENCE": "https://api.example.com", "API_BASE_URL": "https://api.example.com"}
	getenv := func(name string) string {
		read[name] = true
		_, global := tpl.Globals.Function.Environment.Variables[name]
		if _, ok := own[name]; !ok && !global {
			return ""
		}
		return values[name]
	}
	if _, err := lambdahttp.AuthorizerFromEnv(getenv); err != nil {
		t.Fatalf("the template's variables do not satisfy the authorizer: %v", err)
	}
	for name := range own {
		if !read[name] {
			t.Errorf("ApiAuthorizerFunction sets %s, which the authorizer never reads", name)
		}
	}
}

func TestMakefileBuildsEveryFunction(t *testing.T) {
	b, err := os.ReadFile("../../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	makefile := string(b)
	flags := regexp.MustCompile(`(?m)^LAMBDA_FLAGS\s*:?=(.*)$`).FindStringSubmatch(makefile)
	if flags == nil || !strings.Contains(flags[1], "-tags lambda.norpc") || !strings.Contains(flags[1], "-trimpath") {
		t.Fatalf("Makefile: LAMBDA_FLAGS must build with -tags lambda.norpc -trimpath, got %v", flags)
	}
	tpl := readTemplate(t)
	for _, f := range deployed {
		id := logicalIDs[f]
		t.Run(id+" is built by its makefile target", func(t *testing.T) {
			fn := tpl.Resources[id]
			if fn.Type != "AWS::Serverless::Function" || fn.Metadata["BuildMethod"] != "makefile" {
				t.Fatalf("%s: want an AWS::Serverless::Function with Metadata.BuildMethod makefile", id)
			}
			// The target's recipe: the lines after "build-ID:" that start with a tab.
			m := regexp.MustCompile(`(?m)^build-` + id + `:.*\n((?:\t.*\n)+)`).FindStringSubmatch(makefile)
			if m == nil {
				t.Fatalf("Makefile has no target build-%s", id)
			}
			for _, want := range []string{"./functions/" + string(f), "$(ARTIFACTS_DIR)/bootstrap", "GOOS=linux", "$(LAMBDA_FLAGS)"} {
				if !strings.Contains(m[1], want) {
					t.Errorf("build-%s recipe lacks %q:\n%s", id, want, m[1])
				}
			}
		})
	}
}

// The HttpApi's body is imported with FailOnWarnings, so it must be valid
// OpenAPI 3: every operation answers, every path parameter is declared.
func TestTemplateAPIBodyIsValidOpenAPI(t *testing.T) {
	tpl := readTemplate(t)
	api := tpl.Resources["HttpApi"].Properties
	if api["FailOnWarnings"] != true {
		t.Errorf("HttpApi: FailOnWarnings = %v, want true", api["FailOnWarnings"])
	}
	body, err := json.Marshal(api["DefinitionBody"])
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(body)
	if err != nil {
		t.Fatalf("DefinitionBody: %v", err)
	}
	if err := doc.Validate(t.Context()); err != nil {
		t.Errorf("DefinitionBody is not valid OpenAPI 3: %v", err)
	}
}

// Every metric the alarms and the dashboard name is one the functions
// emit (emf.Specs), under one of the dimension sets it is published with,
// and with dimension values the code uses.
func TestAlarmsAndDashboardNameOnlyMetricsTheCodeEmits(t *testing.T) {
	tpl := readTemplate(t)
	known := map[string]func(string) bool{
		"EventType": func(v string) bool { _, ok := oauth.EventTypes[v]; return ok },
		"Service":   func(v string) bool { return v == "DynamoDB" || v == "KMS" },
		"Function":  func(v string) bool { return slices.Contains(functions, local.Function(v)) },
	}
	check := func(where, namespace, name string, dims map[string]string) {
		t.Helper()
		if namespace != emf.Namespace {
			return // AWS's own metrics
		}
		i := slices.IndexFunc(emf.Specs, func(s emf.Spec) bool { return s.Name == name })
		if i < 0 {
			t.Errorf("%s: metric %s is not one the code emits", where, name)
			return
		}
		names := slices.Sorted(maps.Keys(dims))
		if !slices.ContainsFunc(emf.Specs[i].Dimensions, func(set []string) bool { return slices.Equal(slices.Sorted(slices.Values(set)), names) }) {
			t.Errorf("%s: %s by %v, but it is published by %v", where, name, names, emf.Specs[i].Dimensions)
		}
		for k, v := range dims {
			if ok := known[k]; ok == nil || !ok(v) {
				t.Errorf("%s: %s=%s is no value the code emits", where, k, v)
			}
		}
	}
	alarms := 0
	for id, r := range tpl.Resources {
		switch r.Type {
		case "AWS::CloudWatch::Alarm":
			alarms++
			dims := map[string]string{}
			for _, d := range flatten(r.Properties["Dimensions"]) {
				dims[fmt.Sprint(get(d, "Name"))] = fmt.Sprint(get(d, "Value"))
			}
			if r.Properties["MetricName"] != nil {
				check(id, fmt.Sprint(r.Properties["Namespace"]), fmt.Sprint(r.Properties["MetricName"]), dims)
			}
			// A metric-math alarm names its metrics in Metrics[].MetricStat.
			for _, m := range flatten(r.Properties["Metrics"]) {
				metric := get(m, "MetricStat", "Metric")
				if metric == nil {
					continue // an expression
				}
				dims := map[string]string{}
				for _, d := range flatten(get(metric, "Dimensions")) {
					dims[fmt.Sprint(get(d, "Name"))] = fmt.Sprint(get(d, "Value"))
				}
				check(id, fmt.Sprint(get(metric, "Namespace")), fmt.Sprint(get(metric, "MetricName")), dims)
			}
		case "AWS::CloudWatch::Dashboard":
			body, _ := r.Properties["DashboardBody"].(string) // !Sub of a string: the tag is dropped
			var dash struct {
				Widgets []struct {
					Properties struct {
						Metrics [][]any `json:"metrics"`
					} `json:"properties"`
				} `json:"widgets"`
			}
			if err := json.Unmarshal([]byte(body), &dash); err != nil {
				t.Fatalf("%s: DashboardBody is not JSON: %v", id, err)
			}
			for _, w := range dash.Widgets {
				for _, m := range w.Properties.Metrics {
					dims := map[string]string{}
					for i := 2; i+1 < len(m); i += 2 {
						k, ok := m[i].(string)
						if !ok {
							break // the options object
						}
						dims[k] = fmt.Sprint(m[i+1])
					}
					check(id, fmt.Sprint(m[0]), fmt.Sprint(m[1]), dims)
				}
			}
		}
	}
	if alarms < 8 {
		t.Errorf("%d alarms, want those on reuse, blocked sign-ins, 5xx, throttles and faults", alarms)
	}
}
