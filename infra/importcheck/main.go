// Command importcheck enforces the import direction of the module: every
// package imports only packages of lower layers, the domain and layer-1
// packages use the standard library only, only the AWS adapters and the
// Lambda entry points import the AWS SDK, and the test-support packages are
// imported from tests only. `make lint` runs it.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

const module = "github.com/mrrt-auth/mrrt"

// layers of the shared packages; functions/* and infra/* are layer 4.
var layers = map[string]int{
	"shared/oauth":       0,
	"shared/jws":         1,
	"shared/httpx":       1,
	"shared/password":    1,
	"shared/childproc":   1,
	"shared/token":       2,
	"shared/authorize":   2,
	"shared/policyadmin": 2,
	"shared/memstore":    2,
	"shared/dynamostore": 2,
	"shared/localsigner": 2,
	"shared/kmssigner":   2,
	"shared/cachestore":  2,
	"shared/seed":        2,
	"shared/oauthtest":   2,
	"shared/awstest":     2,
	"shared/app":         3,
	"shared/awsdeps":     3,
	"shared/lambdahttp":  3,
}

// stdlibOnly packages may import only the standard library (and lower
// packages of this module).
var stdlibOnly = map[string]bool{"shared/oauth": true, "shared/jws": true, "shared/httpx": true, "shared/childproc": true}

// testOnly packages may be imported only from _test.go files.
var testOnly = map[string]bool{"shared/oauthtest": true, "shared/awstest": true}

// awsAllowed may import github.com/aws/...
func awsAllowed(rel string) bool {
	switch rel {
	case "shared/dynamostore", "shared/kmssigner", "shared/awsdeps", "shared/lambdahttp", "shared/awstest":
		return true
	}
	return strings.HasPrefix(rel, "functions/") || strings.HasPrefix(rel, "infra/")
}

type pkg struct {
	ImportPath string
	Standard   bool
	Imports    []string
}

func layer(rel string) (int, bool) {
	if l, ok := layers[rel]; ok {
		return l, true
	}
	if strings.HasPrefix(rel, "functions/") || strings.HasPrefix(rel, "infra/") {
		return 4, true
	}
	return 0, false
}

// check returns one line per violation.
func check(pkgs []pkg) []string {
	std := map[string]bool{}
	for _, p := range pkgs {
		if p.Standard {
			std[p.ImportPath] = true
		}
	}
	var bad []string
	for _, p := range pkgs {
		rel, ok := strings.CutPrefix(p.ImportPath, module+"/")
		if !ok {
			continue
		}
		from, known := layer(rel)
		if !known {
			bad = append(bad, fmt.Sprintf("%s: package has no layer; add it to infra/importcheck", rel))
			continue
		}
		for _, imp := range p.Imports {
			if irel, ok := strings.CutPrefix(imp, module+"/"); ok {
				to, known := layer(irel)
				switch {
				case testOnly[irel]:
					bad = append(bad, fmt.Sprintf("%s imports %s, which is for tests only", rel, irel))
				case !known || to >= from:
					bad = append(bad, fmt.Sprintf("%s (layer %d) imports %s (layer %d): imports must point down", rel, from, irel, to))
				}
				continue
			}
			if stdlibOnly[rel] && !std[imp] && !isStd(imp) {
				bad = append(bad, fmt.Sprintf("%s imports %s: it must use the standard library only", rel, imp))
			}
			if strings.HasPrefix(imp, "github.com/aws/") && !awsAllowed(rel) {
				bad = append(bad, fmt.Sprintf("%s imports %s: only the AWS adapters and entry points may", rel, imp))
			}
		}
	}
	return bad
}

// isStd reports whether an import path is in the standard library (no dot
// in its first element).
func isStd(path string) bool {
	first, _, _ := strings.Cut(path, "/")
	return !strings.Contains(first, ".")
}

func list(dir string) ([]pkg, error) {
	cmd := exec.Command("go", "list", "-json=ImportPath,Standard,Imports", "./...")
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("go list: %v: %s", err, errb.String())
	}
	var pkgs []pkg
	dec := json.NewDecoder(&out)
	for {
		var p pkg
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			return nil, err
		}
		pkgs = append(pkgs, p)
	}
	return pkgs, nil
}

func main() {
	dir := "."
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	pkgs, err := list(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "importcheck:", err)
		os.Exit(2)
	}
	if bad := check(pkgs); len(bad) > 0 {
		for _, b := range bad {
			fmt.Fprintln(os.Stderr, "importcheck:", b)
		}
		os.Exit(1)
	}
	fmt.Println("importcheck: ok")
}
