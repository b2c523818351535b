package main

import (
	"fmt"
	"math"
	"strings"
)

// prices are AWS list prices in us-east-1, in USD.
type prices struct {
	Date    string   // when they were read
	Sources []string // where
	// Lambda (arm64, as template.yaml deploys).
	LambdaPerRequest float64
	LambdaPerGBs     float64
	// API Gateway HTTP API, first 300 million requests a month.
	APIPerRequest float64
	// DynamoDB on-demand.
	PerWRU, PerRRU float64
	// KMS requests: asymmetric with RSA_2048 keys, with ECC keys; symmetric
	// and HMAC (Decrypt, GenerateMac).
	KMSPerRSARequest       float64
	KMSPerECCRequest       float64
	KMSPerSymmetricRequest float64
	// Default request quotas per second, shared by every caller in the
	// account and Region: RSA and ECC Sign/Verify, symmetric operations.
	KMSRSAQuota       float64
	KMSECCQuota       float64
	KMSSymmetricQuota float64
	// LambdaConcurrency is the default concurrent executions per account
	// and Region.
	LambdaConcurrency float64
}

// fullCPUMB is the memory size at which a Lambda function has one full
// vCPU; below it, CPU time stretches by fullCPUMB/memory.
const fullCPUMB = 1769

// memorySizes are the function sizes the cost table shows.
var memorySizes = []int{128, 512, 1024}

// lambdaMS models a warm invocation's billed duration in a Region at
// memoryMB: each counted AWS request takes the simulated delay (moto's
// and local-kms's own processing time is left out: it is not DynamoDB's
// or KMS's), plus the measured CPU time stretched to the size's CPU
// share, rounded up to Lambda's 1 ms billing granularity.
func lambdaMS(r *result, memoryMB int) float64 {
	var calls float64
	for _, c := range r.Requests {
		calls += c
	}
	stretch := max(float64(fullCPUMB)/float64(memoryMB), 1)
	return math.Ceil(calls*r.DelayMS + r.CPUMS*stretch)
}

// costPerMillion is the cost of a million invocations of r's grant at
// memoryMB, by service.
type costPerMillion struct {
	Lambda, API, DynamoDB, KMS float64
}

func (c costPerMillion) total() float64 { return c.Lambda + c.API + c.DynamoDB + c.KMS }

// cost prices r's counted requests; ecc prices its Signs as requests
// with ECC keys (ES256 in kms mode) instead of RSA_2048 ones.
func cost(r *result, memoryMB int, p prices, ecc bool) costPerMillion {
	const m = 1e6
	var c costPerMillion
	c.Lambda = m * (p.LambdaPerRequest + p.LambdaPerGBs*float64(memoryMB)/1024*lambdaMS(r, memoryMB)/1000)
	c.API = m * p.APIPerRequest
	c.DynamoDB = m * (r.WRU*p.PerWRU + r.RRU*p.PerRRU)
	sign := p.KMSPerRSARequest
	if ecc {
		sign = p.KMSPerECCRequest
	}
	c.KMS = m * (r.Requests["Sign"]*sign + (r.Requests["Decrypt"]+r.Requests["GenerateMac"])*p.KMSPerSymmetricRequest)
	return c
}

// ceiling is the requests per second one account reaches for r's grant
// under the default quotas, and what bounds it.
func ceiling(r *result, p prices, ecc bool) (float64, string) {
	if s := r.Requests["Sign"]; s > 0 {
		quota, kind := p.KMSRSAQuota, "RSA"
		if ecc {
			quota, kind = p.KMSECCQuota, "ECC"
		}
		return quota / s, fmt.Sprintf("KMS %s quota (%s/s) ÷ %.0f Sign", kind, thousands(quota), s)
	}
	// No KMS request per exchange: the next account-wide default is
	// Lambda's concurrency, each warm instance serving one request at a
	// time for its duration (at 1024 MB here).
	return p.LambdaConcurrency * 1000 / lambdaMS(r, 1024), fmt.Sprintf("Lambda concurrency (%.0f) ÷ duration at 1024 MB; no KMS request", p.LambdaConcurrency)
}

// markdown renders the latency table, the cost table and the quota ceilings.
func markdown(rs []*result, cfg config, p prices) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Latency under the Lambda emulator, %v added to every AWS request, %d invocations per row (ms, as the caller of the emulator sees it; \"modelled\": the billed duration of lambdaMS, each AWS request taking the delay and the CPU time stretched to the size's CPU share):\n\n", cfg.delay, cfg.n)
	b.WriteString("| signing mode | grant | AWS requests per call | p50 | p99 | mean | of it in AWS requests | function CPU | modelled: 128 MB / 1024 MB |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rs {
		fmt.Fprintf(&b, "| %s | %s | %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.0f / %.0f |\n", r.Mode, r.Grant, requests(r), r.P50MS, r.P99MS, r.MeanMS, r.AWSMS, r.CPUMS, lambdaMS(r, 128), lambdaMS(r, 1024))
	}
	fmt.Fprintf(&b, "\nUSD per million requests, us-east-1 list prices of %s (Lambda arm64 + API Gateway HTTP API + DynamoDB on-demand + KMS):\n\n", p.Date)
	b.WriteString("| signing mode | grant |")
	for _, mb := range memorySizes {
		fmt.Fprintf(&b, " %d MB |", mb)
	}
	b.WriteString(" of which KMS | of which DynamoDB | ceiling per account (req/s) |\n|---|---|")
	for range memorySizes {
		b.WriteString("---|")
	}
	b.WriteString("---|---|---|\n")
	row := func(r *result, mode string, ecc bool) {
		fmt.Fprintf(&b, "| %s | %s |", mode, r.Grant)
		for _, mb := range memorySizes {
			fmt.Fprintf(&b, " %.2f |", cost(r, mb, p, ecc).total())
		}
		c := cost(r, memorySizes[0], p, ecc)
		n, why := ceiling(r, p, ecc)
		fmt.Fprintf(&b, " %.2f | %.2f | %s (%s) |\n", c.KMS, c.DynamoDB, thousands(n), why)
	}
	for _, r := range rs {
		row(r, r.Mode, false)
	}
	// The same counted requests with ES256 keys in kms mode: ECC Sign
	// requests are priced higher (latency not measured: the CPU is the
	// function's, the signature KMS's).
	for _, r := range rs {
		if r.Mode == modeKMS && r.Requests["Sign"] > 0 {
			row(r, "kms, ES256 keys (priced, not run)", true)
		}
	}
	return b.String()
}

// requests renders a result's requests per call, "TransactWriteItems 1, Sign 2".
func requests(r *result) string {
	var parts []string
	for _, op := range []string{"GetItem", "Query", "PutItem", "UpdateItem", "TransactWriteItems", "Sign", "Decrypt", "GenerateMac"} {
		if v := r.Requests[op]; v > 0 {
			parts = append(parts, fmt.Sprintf("%s %g", op, v))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// thousands renders n rounded down, with comma separators.
func thousands(n float64) string {
	s := fmt.Sprintf("%d", int64(n))
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
