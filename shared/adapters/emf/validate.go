package emf

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// units are the units the EMF specification allows (CloudWatch's
// StandardUnit).
var units = []string{"Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
	"Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second", "Kilobytes/Second",
	"Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second", "Kilobits/Second", "Megabits/Second",
	"Gigabits/Second", "Terabits/Second", "Count/Second", "None"}

// Validate checks that line is an EMF record as the specification defines
// it: a JSON object whose _aws member has an integer Timestamp (ms) and
// CloudWatchMetrics directives, each with a Namespace, Dimensions (sets of
// at most 30 names, each a string member of the record) and 1 to 100
// Metrics (a Name that is a numeric member of the record, an optional
// known Unit).
func Validate(line []byte) error {
	var rec map[string]json.RawMessage
	if err := json.Unmarshal(line, &rec); err != nil {
		return fmt.Errorf("emf: not a JSON object: %w", err)
	}
	var meta struct {
		Timestamp         *json.Number `json:"Timestamp"`
		CloudWatchMetrics []struct {
			Namespace  string     `json:"Namespace"`
			Dimensions [][]string `json:"Dimensions"`
			Metrics    []struct {
				Name string `json:"Name"`
				Unit string `json:"Unit"`
			} `json:"Metrics"`
		} `json:"CloudWatchMetrics"`
	}
	raw, ok := rec["_aws"]
	if !ok {
		return errors.New("emf: no _aws member")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&meta); err != nil {
		return fmt.Errorf("emf: _aws: %w", err)
	}
	if meta.Timestamp == nil {
		return errors.New("emf: _aws.Timestamp missing")
	}
	if _, err := meta.Timestamp.Int64(); err != nil {
		return fmt.Errorf("emf: _aws.Timestamp %s is not an integer of milliseconds", *meta.Timestamp)
	}
	if len(meta.CloudWatchMetrics) == 0 {
		return errors.New("emf: _aws.CloudWatchMetrics is empty")
	}
	for i, d := range meta.CloudWatchMetrics {
		if n := len(d.Namespace); n == 0 || n > 255 {
			return fmt.Errorf("emf: directive %d: Namespace must have 1 to 255 characters", i)
		}
		if d.Dimensions == nil {
			return fmt.Errorf("emf: directive %d: Dimensions missing", i)
		}
		for _, set := range d.Dimensions {
			if len(set) > 30 {
				return fmt.Errorf("emf: directive %d: a dimension set of %d names (at most 30)", i, len(set))
			}
			for _, name := range set {
				var v string
				if err := json.Unmarshal(rec[name], &v); err != nil {
					return fmt.Errorf("emf: directive %d: dimension %s is not a string member of the record", i, name)
				}
			}
		}
		if n := len(d.Metrics); n == 0 || n > 100 {
			return fmt.Errorf("emf: directive %d: %d metrics (1 to 100)", i, n)
		}
		for _, m := range d.Metrics {
			var v float64
			var vs []float64
			if json.Unmarshal(rec[m.Name], &v) != nil && json.Unmarshal(rec[m.Name], &vs) != nil {
				return fmt.Errorf("emf: metric %s is not a numeric member of the record", m.Name)
			}
			if m.Unit != "" && !slices.Contains(units, m.Unit) {
				return fmt.Errorf("emf: metric %s: unit %q is not a CloudWatch unit", m.Name, m.Unit)
			}
		}
	}
	return nil
}
