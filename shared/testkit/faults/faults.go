// Package faults wraps any store or signer so tests can make chosen calls
// fail: the decorators stand between a handler and a real adapter, so the
// adapters themselves carry no test machinery.
package faults

import (
	"context"
	"fmt"
	"reflect"
	"sync"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// queue holds injected errors per key, first in first out, and counts calls.
type queue struct {
	mu     sync.Mutex
	faults map[string][]error
	calls  map[string]int
}

func (q *queue) push(key string, err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.faults == nil {
		q.faults = map[string][]error{}
	}
	q.faults[key] = append(q.faults[key], err)
}

// pop counts a call of keys[0] and returns the first error queued under
// any of keys, if any.
func (q *queue) pop(keys ...string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.calls == nil {
		q.calls = map[string]int{}
	}
	q.calls[keys[0]]++
	for _, k := range keys {
		if errs := q.faults[k]; len(errs) > 0 {
			q.faults[k] = errs[1:]
			return errs[0]
		}
	}
	return nil
}

// take returns the first error queued under key, if any, without
// counting a call.
func (q *queue) take(key string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if errs := q.faults[key]; len(errs) > 0 {
		q.faults[key] = errs[1:]
		return errs[0]
	}
	return nil
}

func (q *queue) count(key string) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.calls[key]
}

// storeMethods is the method set of oauth.Store, for FailNext's check.
var storeMethods = func() map[string]bool {
	t := reflect.TypeFor[oauth.Store]()
	m := make(map[string]bool, t.NumMethod())
	for i := range t.NumMethod() {
		m[t.Method(i).Name] = true
	}
	return m
}()

// Store is an oauth.Store that fails injected calls and passes the others
// to the store it wraps.
type Store struct {
	oauth.Store
	q queue
}

var _ oauth.Store = (*Store)(nil)

// NewStore wraps inner.
func NewStore(inner oauth.Store) *Store { return &Store{Store: inner} }

// FailNext makes the next call of the named oauth.Store method (for example
// "AdvanceFamily") return err without reaching the wrapped store. Calls
// queue up. It panics on a name oauth.Store does not have, so a typo cannot
// silently disable a fault.
func (s *Store) FailNext(method string, err error) {
	if !storeMethods[method] {
		panic(fmt.Sprintf("faults: oauth.Store has no method %q", method))
	}
	s.q.push(method, err)
}

// LoseNextAnswer makes the next successful call of a write method
// (AdvanceFamily, RedeemCode) reach the wrapped store and then return err:
// the write is applied but its answer lost, as when every reply of a
// DynamoDB write is dropped.
func (s *Store) LoseNextAnswer(method string, err error) {
	if method != "AdvanceFamily" && method != "RedeemCode" {
		panic(fmt.Sprintf("faults: LoseNextAnswer does not cover %q", method))
	}
	s.q.push("lost:"+method, err)
}

// answer is the result of a write that reached the wrapped store: err, or
// a lost answer queued by LoseNextAnswer under lostKey ("lost:" and the
// method, spelled out so the hot path builds no string).
func (s *Store) answer(lostKey string, err error) error {
	if err != nil {
		return err
	}
	return s.q.take(lostKey)
}

// Calls reports how many times the named method was called, failed calls
// included.
func (s *Store) Calls(method string) int { return s.q.count(method) }

// Signer is an oauth.Signer that fails injected Sign calls and counts them.
type Signer struct {
	oauth.Signer
	q queue
}

var _ oauth.Signer = (*Signer)(nil)

// NewSigner wraps inner.
func NewSigner(inner oauth.Signer) *Signer { return &Signer{Signer: inner} }

// FailNext makes the next Sign of a token of type typ ("" = any type)
// return err. Calls queue up per type.
func (s *Signer) FailNext(typ string, err error) { s.q.push("typ:"+typ, err) }

// Signs reports how many times Sign was called, failed calls included.
func (s *Signer) Signs() int { return s.q.count("sign") }

func (s *Signer) Sign(ctx context.Context, alg, typ string, claims any) (string, error) {
	if err := s.q.pop("sign", "typ:"+typ, "typ:"); err != nil {
		return "", err
	}
	return s.Signer.Sign(ctx, alg, typ, claims)
}
