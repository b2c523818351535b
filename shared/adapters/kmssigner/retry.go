package kmssigner

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/smithy-go"
	smithytime "github.com/aws/smithy-go/time"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

const (
	// attempts bounds the tries of one KMS call.
	attempts = 3
	// attemptTimeout bounds one try (a KMS Sign takes tens of
	// milliseconds), so that three tries and their backoff (about 6.2 s)
	// end inside the function's 10 s timeout; the request's own deadline
	// (lambdahttp's budget) can end them sooner.
	attemptTimeout = 2 * time.Second
	baseBackoff    = 50 * time.Millisecond
)

// noSDKRetry turns the SDK's retryer off for one call: call retries, and
// both together would multiply the attempts.
func noSDKRetry(o *kms.Options) { o.Retryer = aws.NopRetryer{} }

// transientCodes are the KMS errors that a retry may fix.
var transientCodes = map[string]bool{
	"ThrottlingException":        true,
	"KMSInternalException":       true,
	"DependencyTimeoutException": true,
	"KeyUnavailableException":    true,
}

// transient reports whether err is worth another attempt.
func transient(err error) bool {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return transientCodes[apiErr.ErrorCode()] || apiErr.ErrorFault() == smithy.FaultServer
	}
	var status interface{ HTTPStatusCode() int }
	if errors.As(err, &status) && status.HTTPStatusCode() >= 500 {
		return true
	}
	var sendErr *smithyhttp.RequestSendError
	return errors.As(err, &sendErr) || errors.Is(err, context.DeadlineExceeded)
}

// call runs f up to attempts times while it fails transiently and ctx
// lives. Exhausted transient failures and the end of ctx wrap
// oauth.ErrUnavailable; any other failure is a configuration fault, logged
// with the key id and returned as a plain error.
func call[T any](ctx context.Context, keyID, op string, f func(context.Context) (T, error)) (T, error) {
	return callLogging(ctx, keyID, op, true, f)
}

// callLogging is call; logFault false leaves the log line of a
// configuration fault to the caller (an init that fails logs one line).
func callLogging[T any](ctx context.Context, keyID, op string, logFault bool, f func(context.Context) (T, error)) (T, error) {
	var zero T
	var lastErr error
	for attempt := range attempts {
		if attempt > 0 {
			if err := smithytime.SleepWithContext(ctx, backoff(attempt)); err != nil {
				break
			}
		}
		actx, cancel := context.WithTimeout(ctx, attemptTimeout)
		out, err := f(actx)
		cancel()
		if err == nil {
			return out, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			break
		}
		if !transient(err) {
			if !logFault {
				return zero, fmt.Errorf("kmssigner: %s %s: %w", op, keyID, err)
			}
			slog.Error("kmssigner: KMS call failed; check the key", slog.String("key_id", keyID),
				slog.String("operation", op), slog.String("error_code", errorCode(err)), slog.Any("error", err))
			return zero, fmt.Errorf("kmssigner: %s %s: %w", op, keyID, err)
		}
	}
	if lastErr == nil {
		lastErr = ctx.Err()
	}
	return zero, fmt.Errorf("kmssigner: %s %s: %w: %w", op, keyID, oauth.ErrUnavailable, lastErr)
}

func errorCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

// backoff is the jittered delay before retry attempt n (n ≥ 1): 25-50 ms,
// then 50-100 ms.
func backoff(n int) time.Duration {
	d := baseBackoff << (n - 1)
	return d/2 + rand.N(d/2)
}
