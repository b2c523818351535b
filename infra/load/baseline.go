package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// baselineDuration is how long -baseline signs.
const baselineDuration = 2 * time.Second

// signRate measures this machine's raw signing rate for alg: GOMAXPROCS
// goroutines each hash a JWT-sized signing input and sign it (RSA-2048
// PKCS #1 v1.5 for RS256, ECDSA P-256 for ES256) for d, with nothing else
// running in this process. It is the ceiling of a server that does one
// signature per exchange and nothing else.
func signRate(ctx context.Context, alg string, d time.Duration) (float64, error) {
	var sign func(digest []byte) error
	switch alg {
	case "RS256":
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return 0, err
		}
		sign = func(digest []byte) error {
			_, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, digest)
			return err
		}
	case "ES256":
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return 0, err
		}
		sign = func(digest []byte) error {
			_, err := ecdsa.SignASN1(rand.Reader, key, digest)
			return err
		}
	default:
		return 0, fmt.Errorf("baseline: no raw signing benchmark for %s", alg)
	}
	input := make([]byte, 420) // about a base64url header and claims of an access token
	for i := range input {
		input[i] = 'a' + byte(i%26)
	}

	var n atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	stopAt := start.Add(d)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(stopAt) {
				digest := sha256.Sum256(input)
				if err := sign(digest[:]); err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				n.Add(1)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		return 0, fmt.Errorf("baseline: %w", firstErr)
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return round(float64(n.Load())/elapsed.Seconds(), 1), nil
}
