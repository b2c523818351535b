package token

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mrrt-auth/mrrt/shared/adapters/cachestore"
	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// A secret rotated through one instance works at once on another whose
// cache still holds the old client: a secret that does not match the
// cached client is checked once against the store (rate-limited) before
// the 401. Before, the new secret was refused for up to the cache TTL
// (measured at 30.2 s across two instances).
func TestRotatedSecretWorksAtOnceOnAnotherInstance(t *testing.T) {
	f := newFixture(t)
	other := cachestore.New(f.store, 30*time.Second, f.clock.Now) // the other instance's cache
	h := NewHandler(Deps{
		Clients: other, APIs: f.store, ClientGrants: f.store, Codes: f.store, Families: f.store, Users: f.store,
		Signer: f.signer, Issuer: issuer, Now: f.clock.Now,
		RefreshKey: func(context.Context) ([]byte, error) { return f.key, nil },
	})
	cc := func(secret string) int {
		t.Helper()
		form := url.Values{
			"grant_type": {oauth.GrantTypeClientCredentials}, "client_id": {m2mID}, "client_secret": {secret}, "audience": {apiData},
		}
		req := httptest.NewRequest(http.MethodPost, "/oauth/token", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w.Code
	}
	if got := cc(secretOf(m2mID)); got != http.StatusOK {
		t.Fatalf("before the rotation: %d", got) // the other instance now caches the client
	}
	const rotated = "rotated-secret-of-m2m"
	f.updateClient(m2mID, func(c *oauth.Client) { c.SecretHash = oauth.HashToken(rotated) })

	readsBefore := f.store.Calls("Client")
	if got := cc(rotated); got != http.StatusOK {
		t.Errorf("the new secret on the instance with the stale cache: %d, want 200 at once", got)
	}
	if got := cc("wrong-secret"); got != http.StatusUnauthorized {
		t.Errorf("a wrong secret: %d, want 401", got)
	}
	if got := cc("still-wrong"); got != http.StatusUnauthorized {
		t.Errorf("another wrong secret: %d, want 401", got)
	}
	// One read past the cache for the rotation; the wrong secrets within
	// cachestore.FreshInterval are answered from the refreshed cache.
	if reads := f.store.Calls("Client") - readsBefore; reads != 1 {
		t.Errorf("%d store reads of the client for three authentications, want 1", reads)
	}
	f.clock.Advance(cachestore.FreshInterval)
	if got := cc("wrong-again"); got != http.StatusUnauthorized {
		t.Errorf("a wrong secret later: %d, want 401", got)
	}
	if reads := f.store.Calls("Client") - readsBefore; reads != 2 {
		t.Errorf("%d store reads after the interval, want 2", reads)
	}
}
