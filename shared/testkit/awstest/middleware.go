package awstest

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Region is the region of every test config; the servers accept any.
const Region = "us-east-1"

// Config returns an SDK config for a test server at endpoint, with dummy
// credentials, and apiOptions (for example Counter.Install and
// Faults.Install) added to every client made from it. It reads no
// environment or shared config file, so a developer's AWS profile can never
// leak into a test.
func Config(endpoint string, apiOptions ...func(*middleware.Stack) error) aws.Config {
	return aws.Config{
		Region:       Region,
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(endpoint),
		APIOptions:   apiOptions,
	}
}

// Counter counts the requests an SDK client sends, per operation name
// ("GetItem", "Sign"). It counts every attempt that reaches the wire, so
// SDK retries count; attempts that Faults fails before sending do not.
type Counter struct {
	mu sync.Mutex
	n  map[string]int
}

// NewCounter returns a Counter with no counts.
func NewCounter() *Counter { return &Counter{n: map[string]int{}} }

// Install adds the counter to an operation's middleware stack; pass it in
// aws.Config.APIOptions.
func (c *Counter) Install(stack *middleware.Stack) error {
	// Deserialize-step middleware runs once per attempt, inside the retry
	// loop; added last, this one sits next to the transport.
	return stack.Deserialize.Add(middleware.DeserializeMiddlewareFunc("awstest.Counter",
		func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
			c.add(awsmiddleware.GetOperationName(ctx))
			return next.HandleDeserialize(ctx, in)
		}), middleware.After)
}

func (c *Counter) add(op string) {
	c.mu.Lock()
	c.n[op]++
	c.mu.Unlock()
}

// Count returns how many requests of operation op were sent.
func (c *Counter) Count(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[op]
}

// Counts returns a copy of all counts.
func (c *Counter) Counts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.n)
}

// Reset sets every count to zero.
func (c *Counter) Reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.n)
}

// String renders the counts as "GetItem=1 Sign=1 UpdateItem=1", sorted.
func (c *Counter) String() string {
	counts := c.Counts()
	var parts []string
	for _, op := range slices.Sorted(maps.Keys(counts)) {
		parts = append(parts, fmt.Sprintf("%s=%d", op, counts[op]))
	}
	return strings.Join(parts, " ")
}

// Fault is one injected failure.
type Fault struct {
	Op string // operation name, for example "UpdateItem" or "Sign"
	// Nth is the attempt of Op that fails, counting from 1 at Add; 0 fails
	// every attempt until Clear.
	Nth int
	// Err is what the attempt returns; see APIError and ErrResponseLost.
	Err error
	// AfterSend sends the request first and then returns Err in place of
	// whatever the server answered: the server may have applied a write
	// the client never hears about (an ambiguous failure).
	AfterSend bool
	// Hang holds the attempt this long (or until its context ends) before
	// it returns Err: a server that never answers, cut off by the client's
	// per-attempt timeout.
	Hang time.Duration
}

// Faults injects failures into SDK clients, per attempt: the SDK's own
// retryer sees them as it would see the server's.
type Faults struct {
	mu     sync.Mutex
	faults []*activeFault
	fired  map[string]int
}

type activeFault struct {
	Fault
	seen int
}

// Add arms f.
func (fs *Faults) Add(f Fault) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.faults = append(fs.faults, &activeFault{Fault: f})
}

// Clear disarms every fault and forgets what fired.
func (fs *Faults) Clear() {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.faults = nil
	clear(fs.fired)
}

// Fired returns how many attempts of op failed by injection.
func (fs *Faults) Fired(op string) int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return fs.fired[op]
}

// next returns the fault for this attempt of op, if any.
func (fs *Faults) next(op string) *Fault {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	var hit *Fault
	for _, f := range fs.faults {
		if f.Op != op {
			continue
		}
		f.seen++
		if hit == nil && (f.Nth == 0 || f.Nth == f.seen) {
			hit = &f.Fault
		}
	}
	if hit != nil {
		if fs.fired == nil {
			fs.fired = map[string]int{}
		}
		fs.fired[op]++
	}
	return hit
}

// Install adds the injector to an operation's middleware stack; pass it in
// aws.Config.APIOptions.
func (fs *Faults) Install(stack *middleware.Stack) error {
	// Before: the outermost deserialize middleware, so an AfterSend fault
	// replaces the already deserialized result (or error) of the server.
	return stack.Deserialize.Add(middleware.DeserializeMiddlewareFunc("awstest.Faults",
		func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
			f := fs.next(awsmiddleware.GetOperationName(ctx))
			if f == nil {
				return next.HandleDeserialize(ctx, in)
			}
			if f.AfterSend {
				next.HandleDeserialize(ctx, in)
			}
			if f.Hang > 0 {
				select {
				case <-time.After(f.Hang):
				case <-ctx.Done():
				}
			}
			return middleware.DeserializeOutput{}, middleware.Metadata{}, f.Err
		}), middleware.Before)
}

// APIError returns an error shaped like the SDK's for an AWS error response
// with code (for example "ThrottlingException") and HTTP status, so the
// SDK's retryer and errors.As(err, *smithy.APIError) treat it like the real
// one.
func APIError(code string, status int) error {
	fault := smithy.FaultClient
	if status >= 500 {
		fault = smithy.FaultServer
	}
	return &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status, Header: http.Header{}}},
			Err:      &smithy.GenericAPIError{Code: code, Message: "injected by awstest", Fault: fault},
		},
		RequestID: "awstest",
	}
}

// ErrResponseLost is a connection reset while reading the response: the
// request may have been applied. The SDK retries it.
var ErrResponseLost error = &smithyhttp.RequestSendError{Err: errors.New("read tcp: connection reset by peer (injected by awstest)")}
