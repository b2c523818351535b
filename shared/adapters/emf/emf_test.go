package emf_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/mrrt-auth/mrrt/shared/adapters/emf"
)

func TestEveryMetricIsAValidEMFRecord(t *testing.T) {
	dims := map[string]string{"Function": "token", "EventType": "sertft", "Service": "DynamoDB"}
	for _, s := range emf.Specs {
		t.Run(s.Name, func(t *testing.T) {
			var buf bytes.Buffer
			slog.New(slog.NewJSONHandler(&buf, nil)).LogAttrs(t.Context(), slog.LevelInfo, "m",
				emf.Attrs(time.Unix(1764806400, 0), map[*emf.Spec]float64{&s: 3}, dims)...)
			if err := emf.Validate(buf.Bytes()); err != nil {
				t.Fatalf("%v\n%s", err, buf.String())
			}
			var rec map[string]any
			json.Unmarshal(buf.Bytes(), &rec)
			if rec[s.Name] != float64(3) || rec["_aws"].(map[string]any)["Timestamp"] != float64(1764806400000) {
				t.Errorf("record %v", rec)
			}
		})
	}
}

func TestValidateRefusesWhatTheSpecificationForbids(t *testing.T) {
	for _, tc := range []struct{ name, line, want string }{
		{"no _aws", `{"a":1}`, "no _aws"},
		{"a timestamp that is not an integer", `{"_aws":{"Timestamp":1.5,"CloudWatchMetrics":[]}}`, "Timestamp"},
		{"no directives", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[]}}`, "empty"},
		{"a dimension that is not a member", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[["F"]],"Metrics":[{"Name":"M"}]}]},"M":1}`, "dimension F"},
		{"a metric that is not a number", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[[]],"Metrics":[{"Name":"M"}]}]},"M":"x"}`, "metric M"},
		{"an unknown unit", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[[]],"Metrics":[{"Name":"M","Unit":"Apples"}]}]},"M":1}`, "unit"},
		{"no namespace", `{"_aws":{"Timestamp":1,"CloudWatchMetrics":[{"Dimensions":[[]],"Metrics":[{"Name":"M"}]}]},"M":1}`, "Namespace"},
	} {
		t.Run(tc.name+" is refused", func(t *testing.T) {
			if err := emf.Validate([]byte(tc.line)); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one about %s", err, tc.want)
			}
		})
	}
}
