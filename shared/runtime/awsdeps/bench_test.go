package awsdeps_test

import (
	"maps"
	"net/http"
	"slices"
	"testing"

	"github.com/mrrt-auth/mrrt/shared/adapters/dynamostore"
)

// BenchmarkGrantsOnAWS reports the AWS requests per exchange of each grant
// on a warm instance (metrics "GetItem/op", "Sign/op", ...) against moto and
// local-kms; the timings measure the emulators, not AWS.
func BenchmarkGrantsOnAWS(b *testing.B) {
	e := newEndpoint(b)
	wantStatus(b, "warm-up refresh", e.refresh(b, strictID, e.refreshToken(b, strictID)), http.StatusOK)
	wantStatus(b, "warm-up client credentials", e.clientCredentials(b), http.StatusOK)
	// Codes are stored through an unobserved client: creating them is the
	// authorize Lambda's work, not the token endpoint's.
	setup := dynamostore.New(e.stack.db, e.stack.table)

	b.Run("refresh_token", func(b *testing.B) {
		rt := e.refreshToken(b, strictID)
		e.counter.Reset()
		for b.Loop() {
			r := e.refresh(b, strictID, rt)
			wantStatus(b, "refresh", r, http.StatusOK)
			rt = r.str("refresh_token")
		}
		report(b, e)
	})
	b.Run("authorization_code", func(b *testing.B) {
		codes := make([]string, 0, 64)
		e.counter.Reset()
		for b.Loop() {
			b.StopTimer()
			if len(codes) == 0 {
				for range cap(codes) {
					codes = append(codes, e.newCodeIn(b, setup, strictID))
				}
			}
			code := codes[len(codes)-1]
			codes = codes[:len(codes)-1]
			b.StartTimer()
			wantStatus(b, "code exchange", e.redeem(b, strictID, code), http.StatusOK)
		}
		report(b, e)
	})
	b.Run("client_credentials", func(b *testing.B) {
		e.counter.Reset()
		for b.Loop() {
			wantStatus(b, "client credentials", e.clientCredentials(b), http.StatusOK)
		}
		report(b, e)
	})
}

func report(b *testing.B, e *endpoint) {
	counts := e.counter.Counts()
	for _, op := range slices.Sorted(maps.Keys(counts)) {
		b.ReportMetric(float64(counts[op])/float64(b.N), op+"/op")
	}
}
