// Package oauthtest holds the conformance suites that every adapter of the
// oauth contracts must pass. Import it only from _test.go files.
package oauthtest

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// StoreHarness is what an adapter declares to the store suite, in the
// manner of go-cloud's drivertest: how to make a store and which of the
// contract's allowances it uses.
type StoreHarness struct {
	// NewStore is called once per leaf subtest and must return an empty
	// store, isolated from every other.
	NewStore func(t *testing.T) oauth.Store
	// EventualFamiliesByUser declares that FamiliesByUser reads an eventually
	// consistent index (as the contract allows): the suite then reads the
	// list until it stays the same for settleReads reads in a row.
	EventualFamiliesByUser bool
}

// RunStoreTests runs the oauth.Store conformance suite. It uses only the
// contract of shared/core/oauth/store.go, so the same suite runs against
// every adapter.
//
// The suite is deterministic: all times are whole seconds from a fixed
// base, and stored times are compared as instants at millisecond precision,
// so a store may drop the location and anything below a millisecond, but
// must return a zero time as zero. An item that expires at E is gone at any
// now >= E, as in oauth.Family.Active. Reads are strongly consistent (a
// write that has returned is visible to the next read) except where the
// harness declares otherwise.
func RunStoreTests(t *testing.T, h StoreHarness) {
	groups := []struct {
		name  string
		cases []storeCase
	}{
		{"clients", storeClientCases()},
		{"resource servers", storeResourceServerCases()},
		{"client grants", storeClientGrantCases()},
		{"users", storeUserCases()},
		{"codes", storeCodeCases()},
		{"families", storeFamilyCases()},
		{"user revocation", storeRevocationCases()},
		{"sessions", storeSessionCases()},
		{"consents", storeConsentCases()},
		{"login throttle", storeThrottleCases()},
		{"concurrency", storeConcurrencyCases()},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, c := range g.cases {
				t.Run(c.name, func(t *testing.T) {
					s := h.NewStore(t)
					if h.EventualFamiliesByUser {
						s = settledStore{s}
					}
					c.run(t, s)
				})
			}
		})
	}
}

// settleReads is how many equal FamiliesByUser results in a row count as
// settled on an eventually consistent index, and settleGap the pause
// between reads; settleLimit bounds the wait.
const (
	settleReads = 3
	settleGap   = 20 * time.Millisecond
	settleLimit = 5 * time.Second
)

// settledStore reads FamiliesByUser until the eventually consistent index
// has settled, so the suite checks the result the index converges to.
type settledStore struct{ oauth.Store }

func (s settledStore) FamiliesByUser(ctx context.Context, userID string) ([]*oauth.Family, error) {
	deadline := time.Now().Add(settleLimit)
	var last []*oauth.Family
	same := 0 // reads in a row equal to last
	for {
		list, err := s.Store.FamiliesByUser(ctx, userID)
		if err != nil {
			return nil, err
		}
		if same > 0 && cmp.Equal(last, list, cmpopts.EquateEmpty()) {
			same++
		} else {
			same = 1
		}
		last = list
		if same >= settleReads || time.Now().After(deadline) {
			return list, nil
		}
		time.Sleep(settleGap)
	}
}

// storeCase is one behaviour of the suite, run on a fresh store.
type storeCase struct {
	name string
	run  func(t *testing.T, s oauth.Store)
}

// storeBase is the suite's fixed "now".
var storeBase = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func storeAt(d time.Duration) time.Time { return storeBase.Add(d) }

// storeTimeEqual compares instants at millisecond precision (see RunStoreTests).
var storeTimeEqual = cmp.Comparer(func(a, b time.Time) bool {
	return a.Truncate(time.Millisecond).Equal(b.Truncate(time.Millisecond))
})

// storeDiff reports a mismatch between want and got; nil and empty slices
// differ.
func storeDiff(t *testing.T, what string, want, got any) {
	t.Helper()
	if d := cmp.Diff(want, got, storeTimeEqual); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", what, d)
	}
}

// storeMust stops the test when a setup step fails.
func storeMust(t *testing.T, op string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
}

// storeErrIs reports an error unless errors.Is(err, want).
func storeErrIs(t *testing.T, op string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: got error %v, want %v", op, err, want)
	}
}

// Fixtures. Every field is set (and every slice non-empty) so that a round
// trip checks them all.

func storeClient(id string) *oauth.Client {
	return &oauth.Client{
		ClientID:                id,
		Name:                    "App " + id,
		AppType:                 oauth.AppTypeRegularWeb,
		IsFirstParty:            true,
		Callbacks:               []string{"https://app.example/callback", "http://127.0.0.1/callback"},
		GrantTypes:              []string{oauth.GrantTypeAuthorizationCode, oauth.GrantTypeRefreshToken},
		TokenEndpointAuthMethod: oauth.AuthMethodClientSecretPost,
		RefreshToken: oauth.RefreshTokenConfig{
			RotationType:              oauth.RotationRotating,
			ExpirationType:            oauth.ExpirationExpiring,
			Leeway:                    30,
			TokenLifetime:             2592000,
			IdleTokenLifetime:         1296000,
			InfiniteTokenLifetime:     false,
			InfiniteIdleTokenLifetime: true,
			Policies: []oauth.Policy{
				{Audience: "https://api.one.example", Scope: []string{"read:one", "write:one"}},
				{Audience: "https://api.two.example", Scope: []string{"read:two"}},
			},
		},
		SecretHash: oauth.HashToken("secret of " + id),
	}
}

func storeResourceServer(identifier string) *oauth.ResourceServer {
	return &oauth.ResourceServer{
		ID:         "rs-" + identifier,
		Identifier: identifier,
		Name:       "API " + identifier,
		Scopes: []oauth.Scope{
			{Value: "read:things", Description: "Read things"},
			{Value: "write:things", Description: "Write things"},
		},
		TokenLifetime: 600,
		SkipConsentForVerifiableFirstPartyClients: true,
		AllowOfflineAccess:                        true,
		SigningAlg:                                oauth.AlgES256,
	}
}

func storeClientGrant(id, clientID, audience string) *oauth.ClientGrant {
	return &oauth.ClientGrant{ID: id, ClientID: clientID, Audience: audience, Scope: []string{"read:things", "write:things"}}
}

func storeUser(id, email string) *oauth.User {
	return &oauth.User{
		UserID:       id,
		Email:        email,
		Name:         "User " + id,
		PasswordHash: "$argon2id$v=19$m=65536,t=3,p=2$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA",
		CreatedAt:    storeAt(-48 * time.Hour),
	}
}

func storeCode(code string) *oauth.AuthCode {
	return &oauth.AuthCode{
		Hash:                oauth.HashToken(code),
		ClientID:            "client-1",
		RedirectURI:         "https://app.example/callback",
		CodeChallenge:       "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		CodeChallengeMethod: oauth.CodeChallengeS256,
		Audience:            "https://api.one.example",
		Scopes:              []string{oauth.ScopeOpenID, oauth.ScopeOfflineAccess, "read:one"},
		Nonce:               "n-0S6_WzA2Mj",
		UserID:              "user-1",
		AuthTime:            storeAt(-time.Minute),
		ExpiresAt:           storeAt(oauth.CodeLifetime),
	}
}

// storeFamily is a fresh family of userID at generation 0, head "<id>/0".
func storeFamily(id, userID string) *oauth.Family {
	return &oauth.Family{
		ID:            id,
		ClientID:      "client-1",
		UserID:        userID,
		Audience:      "https://api.one.example",
		Scopes:        []string{oauth.ScopeOpenID, oauth.ScopeOfflineAccess, "read:one"},
		AuthTime:      storeAt(-time.Minute),
		CreatedAt:     storeBase,
		ExpiresAt:     storeAt(30 * 24 * time.Hour),
		IdleExpiresAt: storeAt(24 * time.Hour),
		HeadHash:      storeHead(id, 0),
	}
}

// storeHead is the hash of refresh token n of family id.
func storeHead(id string, n int) string {
	return oauth.HashToken(fmt.Sprintf("%s/%d", id, n))
}

func storeSession(value string) *oauth.Session {
	return &oauth.Session{
		Hash:      oauth.HashToken(value),
		UserID:    "user-1",
		AuthTime:  storeAt(-time.Minute),
		ExpiresAt: storeAt(time.Hour),
	}
}

func storeConsent(userID, clientID, audience string) *oauth.Consent {
	return &oauth.Consent{
		UserID:    userID,
		ClientID:  clientID,
		Audience:  audience,
		Scopes:    []string{oauth.ScopeOpenID, "read:one"},
		GrantedAt: storeBase,
	}
}

// storeIDs returns key(v) for the items of list whose key is in keep, in
// list order: list tests check only what they created.
func storeIDs[T any](list []*T, key func(*T) string, keep ...string) []string {
	want := map[string]bool{}
	for _, k := range keep {
		want[k] = true
	}
	var out []string
	for _, v := range list {
		if want[key(v)] {
			out = append(out, key(v))
		}
	}
	return out
}
