package main

import (
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseFlags(t *testing.T) {
	cfg, err := parseFlags(nil, io.Discard)
	if err != nil || cfg.n != 200 || cfg.delay != 3*time.Millisecond {
		t.Errorf("defaults: %+v, %v", cfg, err)
	}
	for _, args := range [][]string{{"-n", "0"}, {"-n", "5001"}, {"-delay", "-1ms"}, {"-delay", "2s"}, {"extra"}} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}

// testPrices are round figures, so the expected costs can be worked out
// by hand.
var testPrices = prices{
	LambdaPerRequest: 0.2 / 1e6, LambdaPerGBs: 0.00001, APIPerRequest: 1 / 1e6,
	PerWRU: 0.5 / 1e6, PerRRU: 0.25 / 1e6, KMSPerRSARequest: 0.03 / 1e4, KMSPerECCRequest: 0.15 / 1e4, KMSPerSymmetricRequest: 0.01 / 1e4,
	KMSRSAQuota: 500, KMSECCQuota: 300, LambdaConcurrency: 1000,
}

func TestCostMultipliesCountedRequestsByPrices(t *testing.T) {
	r := &result{DelayMS: 3, CPUMS: 1, Requests: map[string]float64{"TransactWriteItems": 1, "Sign": 2}, WRU: 4}
	// Duration at 128 MB: 3 requests × 3 ms + 1 ms CPU × 1769/128 = 22.82 ms, billed 23 ms.
	if got := lambdaMS(r, 128); got != 23 {
		t.Errorf("128 MB: %v ms, want 23", got)
	}
	// At 1024 MB: 9 + 1.73 = 10.73, billed 11 ms; at 2048 MB the CPU is not stretched: 10 ms.
	if got := lambdaMS(r, 1024); got != 11 {
		t.Errorf("1024 MB: %v ms, want 11", got)
	}
	if got := lambdaMS(r, 2048); got != 10 {
		t.Errorf("2048 MB: %v ms, want 10", got)
	}
	got := cost(r, 128, testPrices, false)
	want := costPerMillion{
		Lambda:   0.2 + 1e6*0.00001*0.125*0.023, // requests + 0.125 GB × 23 ms
		API:      1,
		DynamoDB: 4 * 0.5,
		KMS:      2 * 3,
	}
	approx := cmp.Comparer(func(a, b float64) bool { return math.Abs(a-b) < 1e-9 })
	if d := cmp.Diff(want, got, approx); d != "" {
		t.Errorf("cost (-want +got):\n%s", d)
	}
	want.KMS = 2 * 15 // ES256 keys: ECC Sign requests
	if d := cmp.Diff(want, cost(r, 128, testPrices, true), approx); d != "" {
		t.Errorf("cost with ECC keys (-want +got):\n%s", d)
	}
	if d := cmp.Diff(0.2+10*0.125*0.023+1+2+6, got.total(), approx); d != "" {
		t.Errorf("total (-want +got):\n%s", d)
	}
}

func TestCeilingIsTheKMSQuotaOverSignsOrLambdaConcurrency(t *testing.T) {
	kmsMode := &result{DelayMS: 3, CPUMS: 1, Requests: map[string]float64{"TransactWriteItems": 1, "Sign": 2}}
	if n, _ := ceiling(kmsMode, testPrices, false); n != 250 {
		t.Errorf("two Signs per exchange: %v/s, want 250", n)
	}
	if n, why := ceiling(kmsMode, testPrices, true); n != 150 || !strings.Contains(why, "ECC") {
		t.Errorf("two ECC Signs per exchange: %v/s (%s), want 150 under the ECC quota", n, why)
	}
	envelope := &result{DelayMS: 3, CPUMS: 1, Requests: map[string]float64{"TransactWriteItems": 1}}
	// 1000 instances, each 3 + 1.73 → 5 ms per exchange: 200,000/s.
	if n, why := ceiling(envelope, testPrices, false); n != 200000 || !strings.Contains(why, "no KMS request") {
		t.Errorf("envelope: %v/s (%s), want 200000 bounded by Lambda concurrency", n, why)
	}
}

func TestPercentile(t *testing.T) {
	xs := []float64{5, 1, 4, 2, 3, 10, 9, 8, 7, 6}
	for p, want := range map[float64]float64{50: 5, 90: 9, 99: 10, 100: 10, 1: 1} {
		if got := percentile(xs, p); got != want {
			t.Errorf("p%v = %v, want %v", p, got, want)
		}
	}
	if percentile(nil, 50) != 0 {
		t.Error("percentile of nothing")
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[float64]string{0: "0", 999: "999", 1000: "1,000", 41666.7: "41,666", 1234567: "1,234,567"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%v) = %q, want %q", n, got, want)
		}
	}
}

// TestRunCountsEachGrantInBothModes runs the whole measurement briefly:
// the token bootstrap under the emulator, every AWS request through the
// delaying proxies, which count them independently of the function.
func TestRunCountsEachGrantInBothModes(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the token bootstrap and starts moto_server and local-kms")
	}
	rs, err := run(t.Context(), config{delay: time.Millisecond, n: 3}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]map[string]float64{}
	for _, r := range rs {
		got[r.Mode+" / "+r.Grant] = r.Requests
		if r.P50MS <= 0 || r.P99MS < r.P50MS || r.CPUMS <= 0 {
			t.Errorf("%s / %s: p50 %v, p99 %v, CPU %v", r.Mode, r.Grant, r.P50MS, r.P99MS, r.CPUMS)
		}
		if len(r.Requests) > 0 && r.AWSMS < r.DelayMS {
			t.Errorf("%s / %s: %v ms in AWS requests, below the %v ms delay", r.Mode, r.Grant, r.AWSMS, r.DelayMS)
		}
	}
	transact, sign := map[string]float64{"TransactWriteItems": 1}, map[string]float64{"TransactWriteItems": 1, "Sign": 1}
	want := map[string]map[string]float64{
		"kms / " + grantRefresh:           sign,
		"kms / " + grantRefreshOther:      sign,
		"kms / " + grantRefreshOIDC:       {"TransactWriteItems": 1, "Sign": 2},
		"kms / " + grantCode:              {"GetItem": 1, "TransactWriteItems": 1, "Sign": 1},
		"kms / " + grantClient:            {"Sign": 1},
		"envelope / " + grantRefresh:      transact,
		"envelope / " + grantRefreshOther: transact,
		"envelope / " + grantRefreshOIDC:  transact,
		"envelope / " + grantCode:         {"GetItem": 1, "TransactWriteItems": 1},
		"envelope / " + grantClient:       {},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("AWS requests per call, counted at the proxies (-want +got):\n%s", d)
	}
}
