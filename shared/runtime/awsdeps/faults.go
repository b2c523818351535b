package awsdeps

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/middleware"

	"github.com/mrrt-auth/mrrt/shared/adapters/emf"
)

// countFaults logs one line per failed attempt of a DynamoDB or KMS
// request that is a throttle or a fault (5xx, timeout, lost connection),
// as an EMF record of emf.AWSThrottles or emf.AWSFaults by service: the
// alarms on throttling and error spikes read them. Refusals that are the
// answer (a failed condition, a validation error) are not faults.
func countFaults(stack *middleware.Stack) error {
	return stack.Deserialize.Add(middleware.DeserializeMiddlewareFunc("mrrtFaultMetrics",
		func(ctx context.Context, in middleware.DeserializeInput, next middleware.DeserializeHandler) (middleware.DeserializeOutput, middleware.Metadata, error) {
			out, md, err := next.HandleDeserialize(ctx, in)
			if err != nil {
				logFault(ctx, err)
			}
			return out, md, err
		}), middleware.Before)
}

func logFault(ctx context.Context, err error) {
	spec := &emf.AWSFaults
	switch {
	case retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) == aws.TrueTernary:
		spec = &emf.AWSThrottles
	case errors.Is(err, context.Canceled):
		return // the caller gave up; not the service's fault
	case retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) != aws.TrueTernary && !errors.Is(err, context.DeadlineExceeded):
		return
	}
	service := awsmiddleware.GetServiceID(ctx)
	attrs := []slog.Attr{slog.String("service", service), slog.String("operation", awsmiddleware.GetOperationName(ctx))}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		attrs = append(attrs, slog.String("error_code", ae.ErrorCode()))
	}
	attrs = append(attrs, emf.Attrs(time.Now(), map[*emf.Spec]float64{spec: 1}, map[string]string{"Service": service})...)
	slog.Default().LogAttrs(ctx, slog.LevelWarn, "aws request failed", attrs...)
}
