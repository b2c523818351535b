package main

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"
)

// report is the JSON line of one run.
type report struct {
	Grant          string         `json:"grant"`
	Alg            string         `json:"alg"` // of the access tokens received
	Chains         int            `json:"chains"`
	AudienceSwitch bool           `json:"audience_switch"`
	DurationS      float64        `json:"duration_s"`
	Exchanges      int64          `json:"exchanges"` // successful requests
	ExchangesPerS  float64        `json:"exchanges_per_s"`
	P50ms          float64        `json:"p50_ms"`
	P90ms          float64        `json:"p90_ms"`
	P99ms          float64        `json:"p99_ms"`
	Errors         map[string]int `json:"errors"` // by OAuth error code, or transport / http_NNN
	// Cores is the machine's CPU count; DriverCores, ServerCores and
	// OtherCores are the average cores busy during the measured phase in
	// this process, in the server started here (null for a -url target,
	// whose CPU is then in OtherCores, or in DriverCores when in-process),
	// and in everything else.
	Cores       int      `json:"cores"`
	DriverCores float64  `json:"driver_cores"`
	ServerCores *float64 `json:"server_cores"`
	OtherCores  float64  `json:"other_cores"`
	// ServerPeakRSSMB is VmHWM of the dev server this run started, in MiB;
	// null for a -url target.
	ServerPeakRSSMB *float64 `json:"server_peak_rss_mb"`
	// ServerPeakRSSBeforeMB is the same just before the load phase (start,
	// seed with its argon2id hashing, and the sign-ins): what the load
	// itself added is the difference.
	ServerPeakRSSBeforeMB *float64 `json:"server_peak_rss_before_load_mb,omitempty"`
	// RawSignsPerS is the -baseline signing rate of this process with
	// GOMAXPROCS goroutines, measured in the same run just before and just
	// after the load while the server was idle (the higher of the two);
	// Ratio is ExchangesPerS / RawSignsPerS.
	RawSignsPerS *float64 `json:"raw_signs_per_s,omitempty"`
	Ratio        *float64 `json:"ratio,omitempty"`
	// ServerRatio relates the rate to the CPU the server actually had:
	// ExchangesPerS / (RawSignsPerS × ServerCores / Cores). The driver
	// runs on the same cores, so Ratio also counts the driver's CPU
	// against the server; ServerRatio does not.
	ServerRatio *float64 `json:"server_ratio,omitempty"`
}

func (r *report) errorCount() int {
	n := 0
	for _, v := range r.Errors {
		n += v
	}
	return n
}

// human is the one-line summary.
func (r *report) human() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s, %d chains", r.Grant, r.Alg, r.Chains)
	if r.AudienceSwitch {
		b.WriteString(", audience switch")
	}
	fmt.Fprintf(&b, ": %.0f exchanges/s (%d in %.1f s), p50 %.2f ms, p90 %.2f ms, p99 %.2f ms",
		r.ExchangesPerS, r.Exchanges, r.DurationS, r.P50ms, r.P90ms, r.P99ms)
	if n := r.errorCount(); n == 0 {
		b.WriteString(", no errors")
	} else {
		var parts []string
		for _, code := range slices.Sorted(maps.Keys(r.Errors)) {
			parts = append(parts, fmt.Sprintf("%s=%d", code, r.Errors[code]))
		}
		fmt.Fprintf(&b, ", %d errors (%s)", n, strings.Join(parts, " "))
	}
	fmt.Fprintf(&b, "; CPU of %d cores: driver %.2f", r.Cores, r.DriverCores)
	if r.ServerCores != nil {
		fmt.Fprintf(&b, ", server %.2f", *r.ServerCores)
	}
	fmt.Fprintf(&b, ", other %.2f", r.OtherCores)
	if r.ServerPeakRSSMB != nil {
		fmt.Fprintf(&b, ", server peak RSS %.1f MiB", *r.ServerPeakRSSMB)
		if r.ServerPeakRSSBeforeMB != nil {
			fmt.Fprintf(&b, " (%.1f before the load)", *r.ServerPeakRSSBeforeMB)
		}
	}
	if r.RawSignsPerS != nil {
		fmt.Fprintf(&b, "; raw %s signing %.0f/s, ratio %.2f", r.Alg, *r.RawSignsPerS, *r.Ratio)
		if r.ServerRatio != nil {
			fmt.Fprintf(&b, " (%.2f of the server's CPU share)", *r.ServerRatio)
		}
	}
	return b.String()
}

// percentile returns the p-th percentile (0 < p <= 100) of sorted by the
// nearest-rank method: the smallest value with at least p% of the values
// at or below it. Zero for no values.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = max(1, min(rank, len(sorted)))
	return sorted[rank-1]
}

func ms(d time.Duration) float64 {
	return math.Round(float64(d)/float64(time.Microsecond)) / 1000
}

func round(x float64, places int) float64 {
	f := math.Pow(10, float64(places))
	return math.Round(x*f) / f
}
