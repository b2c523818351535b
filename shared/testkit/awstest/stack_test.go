package awstest_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/mrrt-auth/mrrt/shared/adapters/dynamostore"
	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/runtime/local"
	"github.com/mrrt-auth/mrrt/shared/runtime/seed"
	"github.com/mrrt-auth/mrrt/shared/testkit/awstest"
)

// The integration tests start moto_server and local-kms themselves. In a
// user's CI, LocalStack serves both instead: MRRT_AWS_ENDPOINT is its
// endpoint (http://localhost:4566). Either way the test creates its own
// table (a fresh name: it must start empty) and keys.
const externalEndpoint = awstest.ExternalEndpoint

func TestMain(m *testing.M) {
	code := awstest.Main(m)
	builds.cleanup()
	os.Exit(code)
}

// buildCache holds the emulator and the bootstraps, built once per test
// binary.
type buildCache struct {
	once      sync.Once
	dir       string
	emulator  string
	bootstrap map[local.Function]string
	took      time.Duration
	err       error
}

var builds buildCache

// apiAuthorizer is the template's optional example authorizer, built with
// the three functions (one go build) and run by its own subtest.
const apiAuthorizer local.Function = "api-authorizer"

func (b *buildCache) cleanup() {
	if b.dir != "" {
		os.RemoveAll(b.dir)
	}
}

// build returns the emulator and the bootstraps for this machine's
// architecture, building them on first use.
func build(t *testing.T) (string, map[local.Function]string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the functions and the Lambda emulator; skipped with -short")
	}
	builds.once.Do(func() {
		start := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		if builds.dir, builds.err = os.MkdirTemp("", "rie-test-"); builds.err != nil {
			return
		}
		root, err := awstest.ModuleRoot(ctx)
		if err != nil {
			builds.err = err
			return
		}
		var wg sync.WaitGroup
		var emuErr, bootErr error
		wg.Go(func() { builds.emulator, emuErr = awstest.InstallEmulator(ctx, builds.dir) })
		wg.Go(func() {
			fns := append(slices.Clone(local.Functions), apiAuthorizer)
			builds.bootstrap, bootErr = awstest.BuildBootstraps(ctx, root, builds.dir, runtime.GOARCH, fns)
		})
		wg.Wait()
		if builds.err = emuErr; builds.err == nil {
			builds.err = bootErr
		}
		builds.took = time.Since(start)
	})
	if builds.err != nil {
		t.Fatal(builds.err)
	}
	return builds.emulator, builds.bootstrap
}

// stack is the three functions under the emulator, against emulated
// DynamoDB and KMS holding a table and keys like the template's and the
// dev server's seed, behind a front door whose URL is the issuer.
type stack struct {
	issuer  string
	fns     map[local.Function]*awstest.Function
	proxies map[local.Function]*awsRecorder
	store   oauth.Store
	keyID   string // the RSA signing key's id
	macID   string // the HMAC key's id
	keyName string // the signing key as the functions name it (an id, ARN or alias)
	macName string
	client  *http.Client
	issued  []string // tokens handed out, which must never be logged
}

func startStack(t *testing.T) *stack {
	t.Helper()
	emulator, boots := build(t)
	ctx := context.Background()

	ddbURL, kmsURL := os.Getenv(externalEndpoint), os.Getenv(externalEndpoint)
	if ddbURL == "" {
		ddbURL, kmsURL = awstest.StartMoto(t), awstest.StartKMS(t)
	}
	db := dynamodb.NewFromConfig(awstest.Config(ddbURL))
	kc := kms.NewFromConfig(awstest.Config(kmsURL))
	table := "mrrt-rie-" + oauth.HashToken(fmt.Sprint(time.Now().UnixNano()))[:8]
	if err := dynamostore.CreateTable(ctx, db, table); err != nil {
		t.Fatal(err)
	}
	// The functions name the signing key by an alias, as the template's
	// functions do, and the MAC key by its ARN; the recorder matches KMS
	// requests by the bare key ids.
	key, err := kc.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: kmstypes.KeySpecRsa2048, KeyUsage: kmstypes.KeyUsageTypeSignVerify})
	if err != nil {
		t.Fatal(err)
	}
	keyID := "alias/" + table + "-signing"
	if _, err := kc.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: &keyID, TargetKeyId: key.KeyMetadata.KeyId}); err != nil {
		t.Fatal(err)
	}
	mac, err := kc.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: kmstypes.KeySpecHmac256, KeyUsage: kmstypes.KeyUsageTypeGenerateVerifyMac})
	if err != nil {
		t.Fatal(err)
	}
	macID := *mac.KeyMetadata.Arn
	bare := func(id string) string {
		out, err := kc.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: &id})
		if err != nil {
			t.Fatal(err)
		}
		return *out.KeyMetadata.KeyId
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &stack{
		issuer:  "http://" + ln.Addr().String(),
		fns:     map[local.Function]*awstest.Function{},
		proxies: map[local.Function]*awsRecorder{},
		store:   dynamostore.New(db, table),
		keyID:   bare(keyID),
		macID:   bare(macID),
		keyName: keyID,
		macName: macID,
		client:  &http.Client{Timeout: time.Minute},
	}
	doc, err := seed.Default(s.issuer)
	if err != nil {
		t.Fatal(err)
	}
	if err := seed.Load(ctx, s.store, doc, rand.Reader, time.Now()); err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, fn := range local.Functions {
		rec := newAWSRecorder(t, ddbURL, kmsURL)
		s.proxies[fn] = rec
		env := awstest.FunctionConfig{
			Name: string(fn), Table: table, KeyID: keyID, MACKeyID: macID, Issuer: s.issuer,
			DynamoDB: rec.URL, KMS: rec.URL, HomeDir: t.TempDir(),
			CacheTTL: "0", // the policy-admin event changes a client the token function then reads
		}.Env()
		wg.Go(func() {
			started, err := awstest.StartFunction(ctx, emulator, boots[fn], env)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			s.fns[fn] = started
			mu.Unlock()
		})
	}
	wg.Wait()
	t.Cleanup(func() {
		for fn, f := range s.fns {
			f.Stop()
			if t.Failed() {
				t.Logf("output of %s under the emulator:\n%s", fn, tail(f.Log(), 6000))
			}
		}
	})
	if t.Failed() {
		t.FailNow()
	}

	invokers := map[local.Function]awstest.Invoker{}
	for fn, f := range s.fns {
		invokers[fn] = f
	}
	logger := slog.New(slog.NewTextHandler(testWriter{t}, nil))
	srv := &http.Server{Handler: awstest.FrontDoor(invokers, local.RoutesOf, logger), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

// awsCall is one permission an AWS request needed: an IAM action and the
// resource kind it acted on ("table", "index/GSI1", or a KMS key id).
type awsCall struct {
	Action   string
	Resource string
}

// awsRecorder sits between one function and the emulated services: it
// forwards every request and records which IAM actions it needed, so a
// test can hold them against the function's policy in template.yaml.
type awsRecorder struct {
	URL   string
	mu    sync.Mutex
	calls []awsCall
}

func newAWSRecorder(t *testing.T, ddbURL, kmsURL string) *awsRecorder {
	t.Helper()
	ddb, err := url.Parse(ddbURL)
	if err != nil {
		t.Fatal(err)
	}
	km, err := url.Parse(kmsURL)
	if err != nil {
		t.Fatal(err)
	}
	rec := &awsRecorder{}
	proxy := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
		if strings.HasPrefix(pr.In.Header.Get("X-Amz-Target"), "TrentService.") {
			pr.SetURL(km)
		} else {
			pr.SetURL(ddb)
		}
	}}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rec.record(r.Header.Get("X-Amz-Target"), body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		proxy.ServeHTTP(w, r)
	})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	rec.URL = "http://" + ln.Addr().String()
	return rec
}

// record notes the IAM actions of one request: a DynamoDB transaction
// needs the item-level action of each of its items.
func (r *awsRecorder) record(target string, body []byte) {
	service, op, _ := strings.Cut(target, ".")
	var in struct {
		TableName     string
		IndexName     string
		KeyId         string
		TransactItems []map[string]struct{ TableName string }
		RequestItems  map[string]json.RawMessage
	}
	json.Unmarshal(body, &in)
	var calls []awsCall
	switch {
	case strings.HasPrefix(service, "TrentService"):
		calls = append(calls, awsCall{"kms:" + op, in.KeyId})
	case op == "TransactWriteItems" || op == "TransactGetItems":
		itemAction := map[string]string{"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem", "Get": "GetItem"}
		for _, item := range in.TransactItems {
			for kind := range item {
				calls = append(calls, awsCall{"dynamodb:" + itemAction[kind], "table"})
			}
		}
	case op == "BatchGetItem" || op == "BatchWriteItem":
		calls = append(calls, awsCall{"dynamodb:" + op, "table"})
	case in.IndexName != "":
		calls = append(calls, awsCall{"dynamodb:" + op, "index/" + in.IndexName})
	default:
		calls = append(calls, awsCall{"dynamodb:" + op, "table"})
	}
	r.mu.Lock()
	r.calls = append(r.calls, calls...)
	r.mu.Unlock()
}

// Calls returns the permissions used so far.
func (r *awsRecorder) Calls() []awsCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]awsCall(nil), r.calls...)
}
