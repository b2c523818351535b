package awstest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/mrrt-auth/mrrt/shared/adapters/dynamostore"
	"github.com/mrrt-auth/mrrt/shared/adapters/kmssigner"
	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/runtime/local"
	"github.com/mrrt-auth/mrrt/shared/testkit/awstest"
)

// badEnv has no function configuration at all.
func badEnv(t *testing.T) []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "AWS_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true"}
}

func TestConfigurationErrorFailsTheInit(t *testing.T) {
	emulator, boots := build(t)
	for _, f := range local.Functions {
		t.Run(string(f)+" logs one JSON error line and exits 1", func(t *testing.T) {
			cmd := exec.Command(boots[f])
			cmd.Env = badEnv(t)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Fatalf("exit: %v, want status 1", err)
			}
			lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
			if len(lines) != 1 || stderr.Len() != 0 {
				t.Fatalf("want exactly one line on stdout and nothing on stderr; stdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
			}
			var line map[string]any
			if err := json.Unmarshal([]byte(lines[0]), &line); err != nil {
				t.Fatalf("not JSON: %s", lines[0])
			}
			msg, _ := line["error"].(string)
			if line["level"] != "ERROR" || line["function"] != string(f) ||
				!strings.Contains(msg, "missing environment variables: TABLE_NAME, KMS_KEY_ID, KMS_MAC_KEY_ID, ISSUER") {
				t.Errorf("line %v: want level ERROR, the function and the missing variables", line)
			}
		})
	}

	t.Run("under the emulator the first invocation fails with Runtime.ExitError", func(t *testing.T) {
		fn, err := awstest.StartFunction(context.Background(), emulator, boots[local.Token], badEnv(t))
		if err != nil {
			t.Fatal(err)
		}
		defer fn.Stop()
		// The emulator answers a failed init with 502 and no body.
		if inv, err := fn.Invoke(context.Background(), readEvent(t, "token-discovery.json")); err == nil {
			t.Fatalf("Invoke succeeded: %s", inv.Raw)
		}
		if _, err := fn.WaitLog(context.Background(), regexp.MustCompile(`Runtime\.ExitError`)); err != nil {
			t.Error(err)
		}
	})
}

// TestInitMakesNoAWSCalls runs each bootstrap against a fake Runtime API
// that never hands out an event: by the time the runtime asks for its
// first event, init is over, and AWS must not have been called (keys and
// configuration are fetched by the first request that needs them).
func TestInitMakesNoAWSCalls(t *testing.T) {
	_, boots := build(t)
	for _, f := range local.Functions {
		t.Run(string(f), func(t *testing.T) {
			var awsCalls atomic.Int32
			aws := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				awsCalls.Add(1)
				http.Error(w, "not during init", http.StatusInternalServerError)
			}))
			next := make(chan struct{}, 1)
			runtimeAPI := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/2018-06-01/runtime/invocation/next" {
					http.NotFound(w, r)
					return
				}
				select {
				case next <- struct{}{}:
				default:
				}
				<-r.Context().Done() // no event, ever
			}))
			env := awstest.FunctionConfig{
				Name: string(f), Table: "t", KeyID: "alias/signing", MACKeyID: "alias/mac", Issuer: "https://auth.example.com",
				DynamoDB: "http://" + aws, KMS: "http://" + aws, HomeDir: t.TempDir(),
			}.Env()
			cmd := exec.Command(boots[f])
			cmd.Env = append(env, "AWS_LAMBDA_RUNTIME_API="+runtimeAPI)
			var out lockedBuffer // written by exec's copying goroutine while the test reads it
			cmd.Stdout, cmd.Stderr = &out, &out
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer func() {
				cmd.Process.Kill()
				cmd.Wait()
			}()
			select {
			case <-next:
			case <-time.After(30 * time.Second):
				t.Fatalf("the runtime never asked for an event:\n%s", out.String())
			}
			time.Sleep(200 * time.Millisecond) // let anything started during init arrive
			if n := awsCalls.Load(); n != 0 {
				t.Errorf("%d AWS requests during init, want none; output:\n%s", n, out.String())
			}
		})
	}
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// serve runs h on a loopback port until the test ends and returns its
// host:port.
func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// In the envelope signing mode the token function unwraps its key pair at
// init: a pair KMS cannot decrypt fails the init, with one JSON line.
func TestEnvelopeKeyThatCannotBeUnwrappedFailsTheInit(t *testing.T) {
	_, boots := build(t)
	ctx := context.Background()
	ddbURL, kmsURL := awstest.StartMoto(t), awstest.StartKMS(t)
	db := dynamodb.NewFromConfig(awstest.Config(ddbURL))
	kc := kms.NewFromConfig(awstest.Config(kmsURL))
	table := "envelope-init"
	if err := dynamostore.CreateTable(ctx, db, table); err != nil {
		t.Fatal(err)
	}
	wrap, err := kc.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: kmstypes.KeySpecSymmetricDefault, KeyUsage: kmstypes.KeyUsageTypeEncryptDecrypt})
	if err != nil {
		t.Fatal(err)
	}
	k, err := kmssigner.NewWrappedKey(ctx, kc, *wrap.KeyMetadata.Arn, oauth.AlgRS256, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	k.Current = true
	k.PrivateKey[len(k.PrivateKey)-1] ^= 1 // the stored ciphertext is damaged
	if err := dynamostore.New(db, table).PutWrappedKey(ctx, k); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(boots[local.Token])
	cmd.Env = awstest.FunctionConfig{Name: "token", Table: table, KeyID: "alias/unused", MACKeyID: "alias/unused",
		Issuer: "https://auth.example.com", DynamoDB: ddbURL, KMS: kmsURL, HomeDir: t.TempDir(),
		Extra: []string{"SIGNING_MODE=envelope"}}.Env()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("exit: %v, want status 1; stdout:\n%s", err, stdout.String())
	}
	var errorLines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(stdout.String()), "\n") {
		var line map[string]any
		if json.Unmarshal([]byte(l), &line) == nil && line["level"] == "ERROR" {
			errorLines = append(errorLines, line)
		}
	}
	if len(errorLines) != 1 || errorLines[0]["msg"] != "configuration error; function not started" ||
		!strings.Contains(errorLines[0]["error"].(string), "Decrypt") {
		t.Errorf("want one ERROR line naming the failed Decrypt; stdout:\n%s", stdout.String())
	}
}
