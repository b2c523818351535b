package awstest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	"github.com/google/go-cmp/cmp"
)

// fakeDynamo answers every request with an empty JSON object and counts
// the requests it saw, per X-Amz-Target.
type fakeDynamo struct {
	mu   sync.Mutex
	seen map[string]int
}

func (f *fakeDynamo) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.seen[strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "DynamoDB_20120810.")]++
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Write([]byte("{}"))
}

func (f *fakeDynamo) count(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.seen[op]
}

func newClient(t *testing.T, c *Counter, fs *Faults) (*dynamodb.Client, *fakeDynamo) {
	t.Helper()
	fake := &fakeDynamo{seen: map[string]int{}}
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	api := dynamodb.NewFromConfig(Config(srv.URL, c.Install, fs.Install), func(o *dynamodb.Options) {
		o.Retryer = retry.AddWithMaxBackoffDelay(o.Retryer, time.Millisecond)
	})
	return api, fake
}

func getItem(api *dynamodb.Client) error {
	_, err := api.GetItem(context.Background(), &dynamodb.GetItemInput{
		TableName: new("t"),
		Key:       map[string]types.AttributeValue{"PK": &types.AttributeValueMemberS{Value: "k"}},
	})
	return err
}

func TestCounter(t *testing.T) {
	c := NewCounter()
	api, _ := newClient(t, c, &Faults{})
	for range 3 {
		if err := getItem(api); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := api.PutItem(t.Context(), &dynamodb.PutItemInput{TableName: new("t"), Item: map[string]types.AttributeValue{}}); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(map[string]int{"GetItem": 3, "PutItem": 1}, c.Counts()); d != "" {
		t.Errorf("counts (-want +got):\n%s", d)
	}
	if got := c.String(); got != "GetItem=3 PutItem=1" {
		t.Errorf("String() = %q", got)
	}
	c.Reset()
	if c.Count("GetItem") != 0 {
		t.Error("Reset kept counts")
	}
}

func TestFaults(t *testing.T) {
	tests := []struct {
		name       string
		faults     []Fault
		wantErr    string // code of the API error returned, "" for success
		wantSent   int    // requests the server saw
		wantCount  int    // attempts the Counter saw
		wantFired  int
		connection bool // the error is a connection error
	}{
		{"a throttling fault on every attempt exhausts the SDK's retries", []Fault{{Op: "GetItem", Err: APIError("ThrottlingException", 400)}},
			"ThrottlingException", 0, 0, 4, false},
		{"a 500 on the first attempt is retried by the SDK", []Fault{{Op: "GetItem", Nth: 1, Err: APIError("InternalServerError", 500)}},
			"", 1, 1, 1, false},
		{"a validation error is not retried", []Fault{{Op: "GetItem", Err: APIError("ValidationException", 400)}},
			"ValidationException", 0, 0, 1, false},
		{"a fault after sending reaches the server and is retried", []Fault{{Op: "GetItem", Nth: 1, Err: ErrResponseLost, AfterSend: true}},
			"", 2, 2, 1, false},
		{"a lost response on every attempt ends as a connection error", []Fault{{Op: "GetItem", Err: ErrResponseLost, AfterSend: true}},
			"", 4, 4, 4, true},
		{"a fault of another operation does not fire", []Fault{{Op: "PutItem", Err: APIError("ThrottlingException", 400)}},
			"", 1, 1, 0, false},
		{"the second attempt fails when Nth is 2", []Fault{{Op: "GetItem", Nth: 2, Err: APIError("ValidationException", 400)}},
			"", 1, 1, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, fs := NewCounter(), &Faults{}
			api, fake := newClient(t, c, fs)
			for _, f := range tt.faults {
				fs.Add(f)
			}
			err := getItem(api)
			var apiErr smithy.APIError
			switch {
			case tt.connection:
				if !errors.Is(err, ErrResponseLost) {
					t.Errorf("error %v, want the injected connection error", err)
				}
			case tt.wantErr == "" && err != nil:
				t.Errorf("error %v, want success", err)
			case tt.wantErr != "" && (!errors.As(err, &apiErr) || apiErr.ErrorCode() != tt.wantErr):
				t.Errorf("error %v, want API error %s", err, tt.wantErr)
			}
			if n := fake.count("GetItem"); n != tt.wantSent {
				t.Errorf("server saw %d requests, want %d", n, tt.wantSent)
			}
			if n := c.Count("GetItem"); n != tt.wantCount {
				t.Errorf("counter saw %d requests, want %d", n, tt.wantCount)
			}
			if n := fs.Fired("GetItem"); n != tt.wantFired {
				t.Errorf("fired %d times, want %d", n, tt.wantFired)
			}
		})
	}
	t.Run("Clear disarms and forgets", func(t *testing.T) {
		c, fs := NewCounter(), &Faults{}
		api, _ := newClient(t, c, fs)
		fs.Add(Fault{Op: "GetItem", Err: APIError("ValidationException", 400)})
		if getItem(api) == nil {
			t.Fatal("fault did not fire")
		}
		fs.Clear()
		if err := getItem(api); err != nil || fs.Fired("GetItem") != 0 {
			t.Errorf("after Clear: %v, fired %d", err, fs.Fired("GetItem"))
		}
	})
}

func TestSerialize(t *testing.T) {
	var inFlight, maxInFlight, served atomic.Int64
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		for {
			m := maxInFlight.Load()
			if n <= m || maxInFlight.CompareAndSwap(m, n) {
				break
			}
		}
		time.Sleep(2 * time.Millisecond)
		inFlight.Add(-1)
		served.Add(1)
		w.Write([]byte(r.Host))
	}))
	t.Cleanup(backend.Close)
	front := serialize(t, backend.URL)
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			resp, err := http.Get(front + "/x")
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
		})
	}
	wg.Wait()
	if served.Load() != 20 || maxInFlight.Load() != 1 {
		t.Errorf("served %d, at most %d at once; want 20, one at a time", served.Load(), maxInFlight.Load())
	}
}

// recorder is a testing.TB whose Skipf and Fatalf only record the first
// message, so the code after them can be observed.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper() {}
func (r *recorder) Skipf(format string, args ...any) {
	if r.skipped == "" && r.failed == "" {
		r.skipped = fmt.Sprintf(format, args...)
	}
}
func (r *recorder) Fatalf(format string, args ...any) {
	if r.skipped == "" && r.failed == "" {
		r.failed = fmt.Sprintf(format, args...)
	}
}

func TestExternalEndpointReplacesTheEmulators(t *testing.T) {
	t.Setenv(ExternalEndpoint, "http://localhost:4566")
	t.Setenv("PATH", t.TempDir()) // neither emulator could start
	if got := StartMoto(t); got != "http://localhost:4566" {
		t.Errorf("StartMoto = %q", got)
	}
	if got := StartKMS(t); got != "http://localhost:4566" {
		t.Errorf("StartKMS = %q", got)
	}
}

func TestMissingMoto(t *testing.T) {
	t.Setenv(ExternalEndpoint, "")
	t.Setenv("PATH", t.TempDir())
	t.Run("fails and says how to install it", func(t *testing.T) {
		t.Setenv("MRRT_SKIP_AWS", "")
		r := &recorder{TB: t}
		StartMoto(r)
		if !strings.Contains(r.failed, MotoInstall) || r.skipped != "" {
			t.Errorf("failed %q, skipped %q", r.failed, r.skipped)
		}
	})
	t.Run("skips loudly with MRRT_SKIP_AWS=1", func(t *testing.T) {
		t.Setenv("MRRT_SKIP_AWS", "1")
		r := &recorder{TB: t}
		StartMoto(r)
		if !strings.Contains(r.skipped, "SKIPPING") || !strings.Contains(r.skipped, MotoInstall) || r.failed != "" {
			t.Errorf("failed %q, skipped %q", r.failed, r.skipped)
		}
	})
}

// The functions under the emulator are built exactly as `make build`
// builds them: BuildFlags are the Makefile's LAMBDA_FLAGS, word by word.
func TestBuildFlagsAreTheMakefiles(t *testing.T) {
	b, err := os.ReadFile("../../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^LAMBDA_FLAGS\s*:?=(.*)$`).FindSubmatch(b)
	if m == nil {
		t.Fatal("Makefile: no LAMBDA_FLAGS")
	}
	if diff := cmp.Diff(shellWords(string(m[1])), BuildFlags); diff != "" {
		t.Errorf("BuildFlags differ from the Makefile's LAMBDA_FLAGS (-makefile +BuildFlags):\n%s", diff)
	}
}

// shellWords splits s as a POSIX shell would, for the quoting the
// Makefile uses (single quotes).
func shellWords(s string) []string {
	var words []string
	var w strings.Builder
	inWord, quoted := false, false
	for _, r := range s {
		switch {
		case r == '\'':
			quoted, inWord = !quoted, true
		case (r == ' ' || r == '\t') && !quoted:
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		default:
			w.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words
}
