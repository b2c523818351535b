package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/mrrt-auth/mrrt/shared/testkit/awstest"
)

// The README is executable documentation. Every ```sh block carries a tag
// after the language:
//
//	walkthrough  run, in order, against `make run` (TestReadmeWalkthrough)
//	aws-mode     run around the walkthrough against the AWS mode on the
//	             emulators (TestReadmeAWSMode)
//	not-run      needs AWS, Docker or SAM: checked for the names it uses
//	             (TestReadmeNotRunBlocksNameWhatExists)
//
// The runnable blocks are run as a reader pastes them, in one bash session
// in a fresh copy of the checkout. The only edits: the ports (8080, 5000,
// 4599), which may be taken on a test machine, become free ones, and
// `make run`, which a reader leaves in the foreground of its own terminal,
// is started in the background and waited for.

const readmePath = "../../README.md"

type block struct {
	tag  string
	line int // of the opening fence
	code string
}

var fence = regexp.MustCompile("^```sh(?: (\\S+))?$")

func readmeBlocks(t *testing.T) []block {
	t.Helper()
	b, err := os.ReadFile(readmePath)
	if err != nil {
		t.Fatal(err)
	}
	var blocks []block
	var cur *block
	for i, line := range strings.Split(string(b), "\n") {
		switch {
		case cur == nil:
			if m := fence.FindStringSubmatch(line); m != nil {
				cur = &block{tag: m[1], line: i + 1}
			}
		case line == "```":
			blocks = append(blocks, *cur)
			cur = nil
		default:
			cur.code += line + "\n"
		}
	}
	return blocks
}

func blocksTagged(t *testing.T, tag string) []block {
	t.Helper()
	var out []block
	for _, b := range readmeBlocks(t) {
		if b.tag == tag {
			out = append(out, b)
		}
	}
	if len(out) == 0 {
		t.Fatalf("README has no ```sh %s block", tag)
	}
	return out
}

func TestMain(m *testing.M) {
	code := m.Run()
	if copied.dir != "" {
		os.RemoveAll(copied.dir)
	}
	os.Exit(code)
}

func TestReadmeShellBlocksAreMarked(t *testing.T) {
	for _, b := range readmeBlocks(t) {
		if !slices.Contains([]string{"walkthrough", "aws-mode", "not-run"}, b.tag) {
			t.Errorf("README.md:%d: a ```sh block must say walkthrough, aws-mode or not-run after the language, got %q", b.line, b.tag)
		}
	}
}

// TestReadmeWalkthrough runs the walkthrough's blocks twice, in one shell,
// against `make run` in a fresh copy of the checkout, and stops the server
// as Ctrl-C would.
func TestReadmeWalkthrough(t *testing.T) {
	requireTools(t, "bash", "curl", "openssl", "awk", "sed", "make", "go")
	repo := freshCopy(t)
	port := freePort(t)
	env := cleanEnv(t)

	server := exec.Command("make", "run")
	server.Dir = repo
	server.Env = append(env, "ADDR=127.0.0.1:"+port)
	var serverOut bytes.Buffer
	server.Stdout, server.Stderr = &serverOut, &serverOut
	server.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			syscall.Kill(-server.Process.Pid, syscall.SIGKILL)
			server.Wait()
		}
	})
	waitHTTP(t, "http://127.0.0.1:"+port+"/.well-known/openid-configuration", &serverOut)

	script := ports(joinBlocks(blocksTagged(t, "walkthrough")), map[string]string{"8080": port})
	for run := 1; run <= 2; run++ {
		out := runShell(t, repo, env, script)
		checkWalkthrough(t, fmt.Sprintf("run %d", run), out, "http://127.0.0.1:"+port)
	}

	// Ctrl-C: SIGINT to the foreground process group.
	syscall.Kill(-server.Process.Pid, syscall.SIGINT)
	server.Wait()
	stopped = true
	if log := serverOut.String(); !strings.Contains(log, `"msg":"stopped"`) || strings.Contains(log, "make: ***") {
		t.Errorf("make run did not stop cleanly on Ctrl-C:\n%s", log)
	}
}

// TestReadmeAWSMode runs the AWS mode's blocks, the walkthrough in between,
// against moto_server and local-kms as the README starts them.
func TestReadmeAWSMode(t *testing.T) {
	requireTools(t, "bash", "curl", "openssl", "awk", "sed", "make", "go")
	if _, err := exec.LookPath("moto_server"); err != nil {
		if os.Getenv("MRRT_SKIP_AWS") == "1" {
			t.Skip("SKIPPING AWS EMULATOR TEST (MRRT_SKIP_AWS=1): moto_server is not on PATH")
		}
		t.Fatalf("moto_server is not on PATH; install it with: %s (or set MRRT_SKIP_AWS=1 to skip)", awstest.MotoInstall)
	}
	repo := freshCopy(t)
	p := map[string]string{"8080": freePort(t), "5000": freePort(t), "4599": freePort(t)}
	aws := blocksTagged(t, "aws-mode")
	if len(aws) != 2 {
		t.Fatalf("want two aws-mode blocks (start, stop), got %d", len(aws))
	}
	start, stop := aws[0].code, aws[1].code
	makeRun := regexp.MustCompile(`(?m)^((?:[A-Z_]+=\S+ )*make run)\s*$`)
	if !makeRun.MatchString(start) {
		t.Fatalf("the first aws-mode block does not end with `STORE=aws make run`:\n%s", start)
	}
	start = makeRun.ReplaceAllString(start, "$1 > server.log 2>&1 &\n"+
		"__wait_http $! http://127.0.0.1:8080/.well-known/openid-configuration\n")
	script := ports(start+joinBlocks(blocksTagged(t, "walkthrough"))+
		// Ctrl-C on the server (job 3), as the README says, before the stop block.
		"kill -INT %3; wait %3 || true\n"+stop, p)
	// make run listens on ADDR, default 127.0.0.1:8080.
	out := runShell(t, repo, append(cleanEnv(t), "ADDR=127.0.0.1:"+p["8080"]), script)
	checkWalkthrough(t, "AWS mode", out, "http://127.0.0.1:"+p["8080"])

	log, err := os.ReadFile(filepath.Join(repo, "server.log"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(log), `"store":"aws"`) || strings.Contains(string(log), "data_dir") {
		t.Errorf("the AWS-mode server's start-up line should say store aws and no data_dir:\n%s", log)
	}
	if !strings.Contains(string(log), `"msg":"stopped"`) || strings.Contains(string(log), "make: ***") {
		t.Errorf("the AWS-mode server did not stop cleanly:\n%s", log)
	}
}

// checkWalkthrough asserts what the walkthrough's prose promises.
func checkWalkthrough(t *testing.T, name, out, base string) {
	t.Helper()
	for _, want := range []string{
		"https://app.example.com/callback?code=",                     // step 1: signed in, code issued
		`"refresh_token":"`,                                          // step 2
		`"scope":"openid offline_access read:billing"`,               // step 3: MRRT exchange, the seed's policy
		`"scope":"read:data write:data"`,                             // step 3: resource parameter
		`"error":"invalid_target"`,                                   // step 3: audience outside the policy
		`"jwks_uri":"` + base + `/.well-known/jwks.json"`,            // step 4
		`"scope":"openid offline_access read:billing write:billing"`, // step 5: the new policy applies at once
		"\n200\n",                  // step 6: revocation
		`{"error":"invalid_grant"`, // step 6: the family is dead
		// step 7: RBAC, the role's permissions while the user has it, then none
		`"scope":"openid offline_access read:data"`,
		`"scope":"openid offline_access read:billing"`,
		`"scope":"openid offline_access","`,
		`"error":"invalid_scope"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("%s: output lacks %q", name, want)
		}
	}
	// Only step 6 may answer invalid_grant: before it, every exchange
	// carries on with the newest refresh token.
	if n := strings.Count(out, `"error":"invalid_grant"`); n != 1 {
		t.Errorf("%s: %d invalid_grant answers, want exactly 1 (step 6)", name, n)
	}
	if t.Failed() {
		t.Logf("%s output:\n%s", name, out)
	}
}

// runShell runs script in one bash session in dir, with job control (as an
// interactive shell has it) and stopping at the first failing command, and
// returns its output. The session's process group is killed at the end.
func runShell(t *testing.T, dir string, env []string, script string) string {
	t.Helper()
	// With job control each background job is a process group of its own:
	// whatever a failing script leaves running is ended on exit. A job the
	// script ended itself may still be listed, its group already gone: that
	// kill fails, and must not fail the script (set -e runs in the trap too).
	prelude := `set -m -e -o pipefail
trap 'for p in $(jobs -p); do kill -- -$p 2>/dev/null || true; done' EXIT
__wait_http() { # pid url
  for _ in $(seq 480); do
    curl -fsS -o /dev/null "$2" 2>/dev/null && return 0
    kill -0 "$1" 2>/dev/null || { echo "the server exited:" >&2; cat server.log >&2; return 1; }
    sleep 0.25
  done
  echo "no answer from $2 within 2 minutes" >&2; cat server.log >&2; return 1
}
`
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", prelude+script)
	cmd.Dir = dir
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if cmd.Process != nil {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // anything left in the background
	}
	if err != nil {
		t.Fatalf("README blocks failed: %v\nscript:\n%s\noutput:\n%s", err, script, out.String())
	}
	return out.String()
}

func joinBlocks(bs []block) string {
	var s strings.Builder
	for _, b := range bs {
		s.WriteString(b.code)
	}
	return s.String()
}

// ports replaces the README's ports with free ones.
func ports(script string, m map[string]string) string {
	for from, to := range m {
		script = strings.ReplaceAll(script, "127.0.0.1:"+from, "127.0.0.1:"+to)
		script = strings.ReplaceAll(script, "-p "+from+" ", "-p "+to+" ")
	}
	return script
}

// cleanEnv is a reader's shell: PATH, HOME and the Go caches, a temporary
// folder of the test's own, and nothing of this machine's AWS
// configuration or of an outer make.
func cleanEnv(t *testing.T) []string {
	t.Helper()
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "TMPDIR=" + t.TempDir(), "GOTOOLCHAIN=local", "GOFLAGS="}
	for _, v := range []string{"GOCACHE", "GOMODCACHE", "GOPATH", "GOPROXY", "GONOSUMDB", "GOSUMDB", "GOPRIVATE"} {
		out, err := exec.Command("go", "env", v).Output()
		if err != nil {
			t.Fatal(err)
		}
		env = append(env, v+"="+strings.TrimSpace(string(out)))
	}
	return env
}

func requireTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the README test needs %s on PATH", tool)
		}
	}
}

var copied struct {
	once sync.Once
	dir  string
	err  error
}

// freshCopy is a copy of the checkout's files (tracked, and untracked ones
// git does not ignore), as a fresh clone with this change would have them,
// shared by the tests of this binary.
func freshCopy(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the dev server from a copy of the checkout; skipped with -short")
	}
	copied.once.Do(func() {
		root, err := filepath.Abs("../..")
		if err != nil {
			copied.err = err
			return
		}
		out, err := exec.Command("git", "-C", root, "ls-files", "-co", "--exclude-standard", "-z").Output()
		if err != nil {
			copied.err = fmt.Errorf("git ls-files: %w", err)
			return
		}
		if copied.dir, copied.err = os.MkdirTemp("", "mrrt-readme-"); copied.err != nil {
			return
		}
		for _, f := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
			if err := copyFile(filepath.Join(root, f), filepath.Join(copied.dir, f)); err != nil {
				copied.err = err
				return
			}
		}
	})
	if copied.err != nil {
		t.Fatal(copied.err)
	}
	return copied.dir
}

func copyFile(from, to string) error {
	fi, err := os.Stat(from)
	if os.IsNotExist(err) {
		return nil // deleted in the working tree
	}
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, fi.Mode().Perm())
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	return dst.Close()
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return port
}

func waitHTTP(t *testing.T, url string, log *bytes.Buffer) {
	t.Helper()
	deadline := time.Now().Add(4 * time.Minute)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("%s never answered 200:\n%s", url, log.String())
}

// TestReadmeNotRunBlocksNameWhatExists checks the blocks that need AWS,
// Docker or SAM for the names they use: make targets, files and commands
// of the repository, flags of its commands, environment variables, test
// names, template resources, outputs and the variables `sam local` passes.
func TestReadmeNotRunBlocksNameWhatExists(t *testing.T) {
	makefile := readFile(t, "../../Makefile")
	tpl := readTemplateDoc(t)
	known := knownEnvVars(t, makefile)

	for _, b := range readmeBlocks(t) {
		if b.tag == "walkthrough" {
			continue
		}
		where := fmt.Sprintf("README.md:%d", b.line)
		code := b.code
		for _, m := range regexp.MustCompile(`\bmake (?:-s )?([a-zA-Z][a-zA-Z0-9-]*)`).FindAllStringSubmatch(code, -1) {
			if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(m[1]) + `:`).MatchString(makefile) {
				t.Errorf("%s: make target %q does not exist", where, m[1])
			}
		}
		for _, m := range regexp.MustCompile(`(?:^|[\s=])\.?/?((?:infra|shared|functions|events)/[A-Za-z0-9_./-]*[A-Za-z0-9_])`).FindAllStringSubmatch(code, -1) {
			if _, err := os.Stat(filepath.Join("../..", m[1])); err != nil {
				t.Errorf("%s: %s does not exist", where, m[1])
			}
		}
		for _, line := range strings.Split(code, "\n") {
			m := regexp.MustCompile(`go run \./infra/([a-z]+)(.*)`).FindStringSubmatch(line)
			if m == nil {
				continue
			}
			src := commandSource(t, m[1])
			for _, f := range regexp.MustCompile(`\s-([a-z][a-z0-9-]*)`).FindAllStringSubmatch(m[2], -1) {
				if !strings.Contains(src, `"`+f[1]+`"`) {
					t.Errorf("%s: go run ./infra/%s has no flag -%s", where, m[1], f[1])
				}
			}
		}
		for _, m := range regexp.MustCompile(`(?:^|[\s;])([A-Z][A-Z0-9_]{2,})=`).FindAllStringSubmatch(code, -1) {
			name := m[1]
			if known[name] || strings.Contains(code, "$"+name) || strings.Contains(code, "${"+name) {
				continue // read by the code, or a variable of the block itself
			}
			t.Errorf("%s: environment variable %s is read by nothing", where, name)
		}
		for _, m := range regexp.MustCompile(`go test .*-run '([^']+)'\s*\\?\s*\n?\s*(\./\S+)`).FindAllStringSubmatch(code, -1) {
			src := testSources(t, m[2])
			for _, name := range strings.Split(m[1], "|") {
				if !strings.Contains(src, "func "+name+"(") {
					t.Errorf("%s: no test %s in %s", where, name, m[2])
				}
			}
		}
		for _, m := range regexp.MustCompile(`sam local invoke (\w+)`).FindAllStringSubmatch(code, -1) {
			if _, ok := tpl.Resources[m[1]]; !ok {
				t.Errorf("%s: template.yaml has no resource %s", where, m[1])
			}
		}
		for _, m := range regexp.MustCompile(`\$\(output (\w+)\)`).FindAllStringSubmatch(code, -1) {
			if _, ok := tpl.Outputs[m[1]]; !ok {
				t.Errorf("%s: template.yaml has no output %s", where, m[1])
			}
		}
		if _, params, ok := strings.Cut(code, `{"Parameters": {`); ok {
			params, _, _ = strings.Cut(params, "}}")
			for _, m := range regexp.MustCompile(`"([A-Z][A-Z0-9_]+)":`).FindAllStringSubmatch(params, -1) {
				if _, ok := tpl.Globals.Function.Environment.Variables[m[1]]; !ok {
					t.Errorf("%s: env.json passes %s, which template.yaml does not declare (sam local would drop it)", where, m[1])
				}
			}
		}
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

type templateDoc struct {
	Globals struct {
		Function struct {
			Environment struct {
				Variables map[string]any `yaml:"Variables"`
			} `yaml:"Environment"`
		} `yaml:"Function"`
	} `yaml:"Globals"`
	Resources map[string]any `yaml:"Resources"`
	Outputs   map[string]any `yaml:"Outputs"`
}

func readTemplateDoc(t *testing.T) templateDoc {
	t.Helper()
	var doc templateDoc
	if err := yaml.Unmarshal([]byte(readFile(t, "../../template.yaml")), &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// knownEnvVars are the variables something reads: a quoted name in the
// Go code, a template variable, a Makefile variable, or one the AWS SDK
// reads.
func knownEnvVars(t *testing.T, makefile string) map[string]bool {
	t.Helper()
	known := map[string]bool{
		"AWS_REGION": true, "AWS_ACCESS_KEY_ID": true, "AWS_SECRET_ACCESS_KEY": true, "AWS_PROFILE": true,
		"AWS_ENDPOINT_URL": true, "AWS_ENDPOINT_URL_DYNAMODB": true, "AWS_ENDPOINT_URL_KMS": true,
	}
	for _, m := range regexp.MustCompile(`(?m)^([A-Z][A-Z0-9_]+)\s*[?:]?=`).FindAllStringSubmatch(makefile, -1) {
		known[m[1]] = true
	}
	for name := range readTemplateDoc(t).Globals.Function.Environment.Variables {
		known[name] = true
	}
	quoted := regexp.MustCompile(`"([A-Z][A-Z0-9_]{2,})"`)
	for _, dir := range []string{"../../shared", "../../infra", "../../functions"} {
		filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			for _, m := range quoted.FindAllStringSubmatch(readFile(t, path), -1) {
				known[m[1]] = true
			}
			return nil
		})
	}
	return known
}

func commandSource(t *testing.T, cmd string) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join("../../infra", cmd, "*.go"))
	var src strings.Builder
	for _, f := range files {
		if !strings.HasSuffix(f, "_test.go") {
			src.WriteString(readFile(t, f))
		}
	}
	if src.Len() == 0 {
		t.Errorf("no command infra/%s", cmd)
	}
	return src.String()
}

func testSources(t *testing.T, pkg string) string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join("../..", pkg, "*_test.go"))
	var src strings.Builder
	for _, f := range files {
		src.WriteString(readFile(t, f))
	}
	return src.String()
}
