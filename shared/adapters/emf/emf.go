// Package emf writes CloudWatch metrics as log lines in the Embedded
// Metric Format
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html):
// a JSON line whose "_aws" member tells CloudWatch Logs which of its
// members are metrics and dimensions. The functions log such lines to
// stdout; no PutMetricData request is made, so metrics cost no request on
// the hot paths.
package emf

import (
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"
)

// Namespace is the CloudWatch namespace of every metric here.
const Namespace = "MRRT"

// Spec is a metric: its name, unit and the dimension sets it is
// published under (an empty set: the metric over all values).
type Spec struct {
	Name       string
	Unit       string
	Dimensions [][]string
}

// The metrics the functions emit; template.yaml's alarms and dashboard
// name only these (a test checks).
var (
	// Events counts log events by type (Auth0's codes: sertft, ferrt,
	// limit_wc, ...), per function and over all functions.
	Events = Spec{Name: "Events", Unit: "Count", Dimensions: [][]string{{"Function", "EventType"}, {"EventType"}}}
	// ServerErrors counts answers with a 5xx status.
	ServerErrors = Spec{Name: "ServerErrors", Unit: "Count", Dimensions: [][]string{{"Function"}, {}}}
	// Latency is the handler's time per request.
	Latency = Spec{Name: "Latency", Unit: "Milliseconds", Dimensions: [][]string{{"Function"}}}
	// AWSThrottles counts DynamoDB and KMS requests refused for throttling.
	AWSThrottles = Spec{Name: "AWSThrottles", Unit: "Count", Dimensions: [][]string{{"Service"}}}
	// AWSFaults counts other failed DynamoDB and KMS requests: 5xx,
	// timeouts, connection errors.
	AWSFaults = Spec{Name: "AWSFaults", Unit: "Count", Dimensions: [][]string{{"Service"}}}
)

// Specs are all the metrics the functions emit.
var Specs = []Spec{Events, ServerErrors, Latency, AWSThrottles, AWSFaults}

// Attrs are the members that make a JSON log line (slog's JSON handler)
// an EMF record of values, each a metric of Specs, with the dimension
// values dims (every dimension the specs name must be there).
func Attrs(now time.Time, values map[*Spec]float64, dims map[string]string) []slog.Attr {
	specs := slices.SortedFunc(maps.Keys(values), func(a, b *Spec) int { return strings.Compare(a.Name, b.Name) })
	directives := make([]any, 0, len(specs))
	attrs := make([]slog.Attr, 0, 1+len(dims)+len(specs))
	for _, s := range specs {
		directives = append(directives, map[string]any{
			"Namespace":  Namespace,
			"Dimensions": s.Dimensions,
			"Metrics":    []any{map[string]any{"Name": s.Name, "Unit": s.Unit}},
		})
	}
	attrs = append(attrs, slog.Any("_aws", map[string]any{"Timestamp": now.UnixMilli(), "CloudWatchMetrics": directives}))
	for _, k := range slices.Sorted(maps.Keys(dims)) {
		attrs = append(attrs, slog.String(k, dims[k]))
	}
	for _, s := range specs {
		attrs = append(attrs, slog.Float64(s.Name, values[s]))
	}
	return attrs
}
