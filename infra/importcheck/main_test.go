package main

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCheck(t *testing.T) {
	p := func(rel string, imports ...string) pkg {
		return pkg{ImportPath: module + "/" + rel, Imports: imports}
	}
	tests := []struct {
		name string
		pkgs []pkg
		want []string // substrings, one per violation
	}{
		{"handlers may import the domain, crypto and httpx", []pkg{p("shared/protocol/token", module+"/shared/core/oauth", module+"/shared/crypto/jws", module+"/shared/protocol/httpx", "net/http")}, nil},
		{"handlers never import one another", []pkg{p("shared/protocol/token", module+"/shared/protocol/authorize")}, []string{"never import one another"}},
		{"handlers never import adapters", []pkg{p("shared/protocol/token", module+"/shared/adapters/memstore")}, []string{"imports must point down"}},
		{"adapters never import one another", []pkg{p("shared/adapters/cachestore", module+"/shared/adapters/dynamostore")}, []string{"never import one another"}},
		{"the domain imports nothing of the module", []pkg{p("shared/core/oauth", module+"/shared/crypto/jws")}, []string{"imports must point down"}},
		{"the domain uses the standard library only", []pkg{p("shared/core/oauth", "github.com/google/uuid")}, []string{"standard library only"}},
		{"crypto may use golang.org/x/crypto", []pkg{p("shared/crypto/password", "golang.org/x/crypto/argon2")}, nil},
		{"handlers never import the AWS SDK", []pkg{p("shared/protocol/token", "github.com/aws/aws-sdk-go-v2/service/kms")}, []string{"AWS SDK"}},
		{"adapters may import the AWS SDK", []pkg{p("shared/adapters/kmssigner", "github.com/aws/aws-sdk-go-v2/service/kms")}, nil},
		{"runtime code never imports the testkit", []pkg{p("shared/runtime/local", module+"/shared/testkit/oauthtest")}, []string{"tests and infra commands only"}},
		{"functions never import the testkit", []pkg{p("functions/token", module+"/shared/testkit/awstest")}, []string{"tests and infra commands only"}},
		{"infra commands may import the testkit", []pkg{p("infra/coldstart", module+"/shared/testkit/localaws")}, nil},
		{"infra commands never import one another", []pkg{p("infra/load", module+"/infra/devserver")}, []string{"never import one another"}},
		{"the local runtime composes the other runtime packages", []pkg{p("shared/runtime/local", module+"/shared/runtime/seed")}, nil},
		{"other runtime packages never import one another", []pkg{p("shared/runtime/awsdeps", module+"/shared/runtime/seed")}, []string{"never import one another"}},
		{"a package outside the role folders is refused", []pkg{p("shared/utils")}, []string{"not in a role folder"}},
		{"an unknown role folder is refused", []pkg{p("shared/misc/x")}, []string{"not in a role folder"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := check(tt.pkgs)
			if len(got) != len(tt.want) {
				t.Fatalf("check() = %q, want %d violations", got, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("violation %q does not mention %q", got[i], w)
				}
			}
		})
	}
}

// TestModule runs the check on this module, so `go test ./...` enforces it too.
func TestModule(t *testing.T) {
	pkgs, err := list("../..")
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	if diff := cmp.Diff([]string(nil), check(pkgs)); diff != "" {
		t.Errorf("import violations (-want +got):\n%s", diff)
	}
}
