// Command importcheck enforces the layout of the module by folder: every
// package under shared/ lives in the folder of its role, and a role may
// import only the roles below it (README, "Code map"). `make lint` runs it.
//
//	shared/core/*      the domain: standard library only
//	shared/crypto/*    JWS and password hashing: core (+ golang.org/x/crypto)
//	shared/protocol/*  HTTP handlers: core, crypto, and protocol/httpx, their
//	                   common base; never one another, never an adapter
//	shared/adapters/*  stores and signers: core, crypto; never one another
//	shared/runtime/*   wiring: everything above but testkit; only
//	                   runtime/local (the local composition) imports other
//	                   runtime packages
//	shared/testkit/*   test support: imported by _test.go files and by the
//	                   infra/ commands only
//	functions/*        one Lambda main each: everything but testkit
//	infra/*            commands: anything in shared/, never one another
//
// Only adapters, runtime, testkit, functions and infra may import the AWS SDK.
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
)

const module = "github.com/mrrt-auth/mrrt"

// rule is what the packages of one folder may import.
type rule struct {
	// imports lists the roles this role may import; a role is the folder
	// that holds its packages ("shared/core", "functions", ...).
	imports []string
	// stdlibOnly: nothing outside the standard library and the module,
	// except the module path prefixes in allowExternal.
	stdlibOnly    bool
	allowExternal []string
	aws           bool
}

var rules = map[string]rule{
	"shared/core":     {stdlibOnly: true},
	"shared/crypto":   {imports: []string{"shared/core"}, stdlibOnly: true, allowExternal: []string{"golang.org/x/crypto/"}},
	"shared/protocol": {imports: []string{"shared/core", "shared/crypto"}},
	"shared/adapters": {imports: []string{"shared/core", "shared/crypto"}, aws: true},
	"shared/runtime":  {imports: []string{"shared/core", "shared/crypto", "shared/protocol", "shared/adapters"}, aws: true},
	"shared/testkit":  {imports: []string{"shared/core", "shared/crypto", "shared/protocol", "shared/adapters", "shared/runtime", "shared/testkit"}, aws: true},
	"functions":       {imports: []string{"shared/core", "shared/crypto", "shared/protocol", "shared/adapters", "shared/runtime"}, aws: true},
	"infra":           {imports: []string{"shared/core", "shared/crypto", "shared/protocol", "shared/adapters", "shared/runtime", "shared/testkit"}, aws: true},
}

// Named exceptions to "siblings never import each other".
var siblingImports = map[string]string{
	"shared/protocol": "shared/protocol/httpx", // the protocol handlers' common base
}

// siblingImporters may import any package of their own role.
var siblingImporters = map[string]bool{"shared/runtime/local": true}

// roleOf returns the role folder of a package path relative to the module:
// shared/<role> for shared/<role>/<pkg>[/...], else the top folder.
func roleOf(rel string) (string, bool) {
	parts := strings.Split(rel, "/")
	switch {
	case parts[0] == "shared" && len(parts) >= 3:
		r := "shared/" + parts[1]
		_, ok := rules[r]
		return r, ok
	case parts[0] == "functions" || parts[0] == "infra":
		return parts[0], len(parts) >= 2
	}
	return "", false
}

// pkgRoot is the package a path belongs to at the depth its role gives
// it: shared/<role>/<pkg>, functions/<fn>, infra/<cmd>.
func pkgRoot(rel string) string {
	parts := strings.Split(rel, "/")
	n := 2
	if parts[0] == "shared" {
		n = 3
	}
	if len(parts) > n {
		parts = parts[:n]
	}
	return strings.Join(parts, "/")
}

type pkg struct {
	ImportPath string
	Standard   bool
	Imports    []string
}

// check returns one line per violation.
func check(pkgs []pkg) []string {
	var bad []string
	for _, p := range pkgs {
		rel, ok := strings.CutPrefix(p.ImportPath, module+"/")
		if !ok {
			continue
		}
		from, known := roleOf(rel)
		if !known {
			bad = append(bad, fmt.Sprintf("%s: not in a role folder (shared/{core,crypto,protocol,adapters,runtime,testkit}/<pkg>, functions/<fn>, infra/<cmd>)", rel))
			continue
		}
		r := rules[from]
		for _, imp := range p.Imports {
			if irel, ok := strings.CutPrefix(imp, module+"/"); ok {
				if msg := checkModuleImport(rel, from, r, irel); msg != "" {
					bad = append(bad, msg)
				}
				continue
			}
			if strings.HasPrefix(imp, "github.com/aws/") && !r.aws {
				bad = append(bad, fmt.Sprintf("%s imports %s: only adapters, runtime, testkit, functions and infra may import the AWS SDK", rel, imp))
				continue
			}
			if r.stdlibOnly && !isStd(imp) && !hasAnyPrefix(imp, r.allowExternal) {
				bad = append(bad, fmt.Sprintf("%s imports %s: %s uses the standard library only", rel, imp, from))
			}
		}
	}
	return bad
}

func checkModuleImport(rel, from string, r rule, irel string) string {
	to, known := roleOf(irel)
	switch {
	case !known:
		return fmt.Sprintf("%s imports %s, which is in no role folder", rel, irel)
	case to == from:
		if pkgRoot(irel) == pkgRoot(rel) || siblingImports[from] == pkgRoot(irel) || siblingImporters[pkgRoot(rel)] || from == "shared/testkit" {
			return ""
		}
		return fmt.Sprintf("%s imports %s: packages of %s never import one another", rel, irel, from)
	case to == "shared/testkit" && from != "infra":
		return fmt.Sprintf("%s imports %s: testkit is for tests and infra commands only", rel, irel)
	case !slices.Contains(r.imports, to):
		return fmt.Sprintf("%s (%s) imports %s (%s): imports must point down", rel, from, irel, to)
	}
	return ""
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
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
