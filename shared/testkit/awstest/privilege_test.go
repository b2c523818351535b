package awstest_test

import (
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"

	"github.com/mrrt-auth/mrrt/shared/runtime/local"
)

// logicalIDs are the template's names of the functions.
var logicalIDs = map[local.Function]string{
	local.Authorize:   "AuthorizeFunction",
	local.Token:       "TokenFunction",
	local.PolicyAdmin: "PolicyAdminFunction",
}

// grants reads the policy statements of a function's role from
// template.yaml as action -> resource kinds ("table", "index/GSI1",
// "signing", "mac", "previous", "envelope", "logs"). CloudFormation tags are dropped by
// the decoder; their values name the resources.
func grants(t *testing.T, f local.Function) map[string][]string {
	t.Helper()
	b, err := os.ReadFile("../../../template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var tpl struct {
		Resources map[string]struct {
			Properties struct {
				Role     string `yaml:"Role"` // !GetAtt <X>Role.Arn
				Policies []struct {
					PolicyDocument struct {
						Statement []any `yaml:"Statement"`
					} `yaml:"PolicyDocument"`
				} `yaml:"Policies"`
			} `yaml:"Properties"`
		} `yaml:"Resources"`
	}
	if err := yaml.Unmarshal(b, &tpl); err != nil {
		t.Fatal(err)
	}
	role, ok := strings.CutSuffix(tpl.Resources[logicalIDs[f]].Properties.Role, ".Arn")
	if !ok {
		t.Fatalf("%s: no Role in template.yaml", logicalIDs[f])
	}
	out := map[string][]string{}
	for _, p := range tpl.Resources[role].Properties.Policies {
		for _, st := range p.PolicyDocument.Statement {
			// A conditional statement (!If [cond, statement, AWS::NoValue])
			// counts as granted.
			for _, m := range statements(st) {
				if m["Effect"] != "Allow" {
					continue
				}
				for _, action := range strs(m["Action"]) {
					for _, r := range strs(m["Resource"]) {
						if k := resourceKind(r); k != "" && !slices.Contains(out[action], k) {
							out[action] = append(out[action], k)
						}
					}
				}
			}
		}
	}
	return out
}

func statements(v any) []map[string]any {
	switch v := v.(type) {
	case map[string]any:
		return []map[string]any{v}
	case []any:
		var out []map[string]any
		for _, e := range v {
			out = append(out, statements(e)...)
		}
		return out
	}
	return nil
}

func strs(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, e := range v {
			out = append(out, strs(e)...)
		}
		return out
	}
	return nil
}

func resourceKind(r string) string {
	switch {
	case r == "Table.Arn":
		return "table"
	case strings.HasPrefix(r, "${Table.Arn}/index/"):
		return strings.TrimPrefix(r, "${Table.Arn}/")
	case strings.HasSuffix(r, "LogGroup.Arn"):
		return "logs"
	case r == "RefreshTokenMacKey.Arn" || r == "RefreshTokenKeyArn":
		return "mac"
	case r == "PreviousRefreshTokenKeyArns":
		return "previous"
	case r == "EnvelopeKey.Arn":
		return "envelope"
	case r == "PreviousSigningKeyArns":
		return "previous"
	case strings.HasSuffix(r, "SigningKey.Arn") || r == "SigningKeyArn":
		return "signing"
	}
	return ""
}

// checkLeastPrivilege holds the actions each function used while the
// other subtests ran against its policy in template.yaml: a used action
// that is not granted would fail in AWS with AccessDenied. Granted actions
// that were not used are only logged: these tests may not reach them.
func (s *stack) checkLeastPrivilege(t *testing.T) {
	for _, f := range local.Functions {
		checkGranted(t, f, s.proxies[f].Calls(), s.keyKind)
	}
}

// checkGranted checks the calls function f made against its policy;
// keyKind names the key of a KMS call (its KeyId, which may be empty).
func checkGranted(t *testing.T, f local.Function, calls []awsCall, keyKind func(action, keyID string) string) {
	t.Helper()
	granted := grants(t, f)
	if len(granted) == 0 {
		t.Errorf("%s: no policy statements in template.yaml", logicalIDs[f])
		return
	}
	if len(calls) == 0 {
		t.Errorf("%s made no AWS request: run the whole test, not one subtest alone", f)
		return
	}
	used := map[string]bool{}
	for _, c := range calls {
		kind := c.Resource
		if strings.HasPrefix(c.Action, "kms:") {
			kind = keyKind(c.Action, c.Resource)
		}
		key := c.Action + " on " + kind
		if used[key] {
			continue
		}
		used[key] = true
		if !slices.Contains(granted[c.Action], kind) {
			t.Errorf("%s used %s, which template.yaml does not grant it (grants: %v)", f, key, granted)
		}
	}
	var unused []string
	for _, action := range slices.Sorted(maps.Keys(granted)) {
		for _, kind := range granted[action] {
			if !used[action+" on "+kind] && kind != "previous" {
				unused = append(unused, action+" on "+kind)
			}
		}
	}
	t.Logf("%s used: %v", f, slices.Sorted(maps.Keys(used)))
	if len(unused) > 0 {
		t.Logf("%s is granted but did not use here: %v", f, unused)
	}
}

// keyKind names the key a KMS request's KeyId refers to.
func (s *stack) keyKind(_, keyID string) string {
	switch {
	case keyID == "":
		return "no key"
	case keyID == s.keyName || strings.Contains(keyID, s.keyID):
		return "signing"
	case keyID == s.macName || strings.Contains(keyID, s.macID):
		return "mac"
	}
	return fmt.Sprintf("unknown key %q", keyID)
}
