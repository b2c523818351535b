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
		{"handlers may import the domain and layer 1", []pkg{p("shared/token", module+"/shared/oauth", module+"/shared/jws", "net/http")}, nil},
		{"siblings never import each other", []pkg{p("shared/token", module+"/shared/memstore")}, []string{"imports must point down"}},
		{"the domain imports nothing of the module", []pkg{p("shared/oauth", module+"/shared/jws")}, []string{"imports must point down"}},
		{"the domain uses the standard library only", []pkg{p("shared/oauth", "github.com/google/uuid")}, []string{"standard library only"}},
		{"handlers never import the AWS SDK", []pkg{p("shared/token", "github.com/aws/aws-sdk-go-v2/service/kms")}, []string{"only the AWS adapters"}},
		{"adapters may import the AWS SDK", []pkg{p("shared/kmssigner", "github.com/aws/aws-sdk-go-v2/service/kms")}, nil},
		{"test support is for tests only", []pkg{p("shared/app", module+"/shared/oauthtest")}, []string{"tests only"}},
		{"unknown packages must be given a layer", []pkg{p("shared/utils")}, []string{"has no layer"}},
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
