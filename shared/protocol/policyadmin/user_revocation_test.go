package policyadmin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// A blocked or deleted user gets no token and no refresh (SECURITY.md
// RT-11, R6), whatever was in flight when the administrator acted.

// pendingCode is an authorization code the user got before the block,
// not yet redeemed.
type pendingCode struct{ raw, verifier string }

func (te *tokenEnv) newCode(clientID, audience, scope string) pendingCode {
	te.t.Helper()
	raw, err := oauth.NewOpaque(rand.Reader)
	must(te.t, err)
	verifier, err := oauth.NewOpaque(rand.Reader)
	must(te.t, err)
	sum := sha256.Sum256([]byte(verifier))
	now := te.clock.Now()
	must(te.t, te.store.CreateCode(context.Background(), &oauth.AuthCode{
		Hash: oauth.HashToken(raw), ClientID: clientID, RedirectURI: "https://app.example.com/callback",
		CodeChallenge: base64.RawURLEncoding.EncodeToString(sum[:]), CodeChallengeMethod: oauth.CodeChallengeS256,
		Audience: audience, Scopes: strings.Fields(scope), UserID: exUserID, AuthTime: now, ExpiresAt: now.Add(oauth.CodeLifetime),
	}))
	return pendingCode{raw: raw, verifier: verifier}
}

func (te *tokenEnv) redeem(clientID string, c pendingCode) tokenResult {
	return te.post(url.Values{"grant_type": {"authorization_code"}, "client_id": {clientID}, "code": {c.raw},
		"redirect_uri": {"https://app.example.com/callback"}, "code_verifier": {c.verifier}})
}

var userPath = "/api/v2/users/" + url.PathEscape(exUserID)

func TestBlockedOrDeletedUserGetsNoTokens(t *testing.T) {
	for _, c := range []struct {
		name   string
		revoke func(te *tokenEnv, t *testing.T)
	}{
		{"blocked", func(te *tokenEnv, t *testing.T) {
			wantStatus(t, te.call(http.MethodPatch, userPath, `{"blocked":true}`), 200)
		}},
		{"deleted", func(te *tokenEnv, t *testing.T) {
			wantStatus(t, te.call(http.MethodDelete, userPath, nil), 204)
		}},
	} {
		t.Run(c.name+" user: pending codes, refreshes and MRRT exchanges are refused", func(t *testing.T) {
			te := newTokenEnv(t)
			wantStatus(t, te.call(http.MethodPatch, "/api/v2/clients/"+spaID,
				`{"refresh_token":{"policies":[{"audience":"`+apiBilling+`","scope":["read:billing"]}]}}`), 200)
			rt := te.login(spaID, apiData, "openid offline_access read:data").RefreshToken
			withRT := te.newCode(spaID, apiData, "openid offline_access read:data")
			withoutRT := te.newCode(spaID, apiData, "openid read:data")
			te.clock.Advance(time.Second)

			c.revoke(te, t)
			wantGrantError(t, te.redeem(spaID, withRT), "invalid_grant")
			wantGrantError(t, te.redeem(spaID, withoutRT), "invalid_grant")
			wantGrantError(t, te.refresh(rt, ""), "invalid_grant")
			wantGrantError(t, te.refresh(rt, apiBilling), "invalid_grant")
		})
	}

	t.Run("revocation by user id works after the user is deleted", func(t *testing.T) {
		te := newTokenEnv(t)
		wantStatus(t, te.call(http.MethodDelete, userPath, nil), 204)
		wantStatus(t, te.call(http.MethodDelete, userPath+"/refresh-tokens", nil), 204)
		w := te.call(http.MethodGet, userPath+"/refresh-tokens", nil)
		wantStatus(t, w, 200)
		if got := decode[map[string][]familyView](t, w)["tokens"]; len(got) != 0 {
			t.Errorf("tokens of the deleted user = %v", got)
		}
	})

	t.Run("unblocking lets the user sign in again but does not revive tokens issued before the block", func(t *testing.T) {
		te := newTokenEnv(t)
		rt := te.login(spaID, apiData, "offline_access read:data").RefreshToken
		te.clock.Advance(time.Second)
		wantStatus(t, te.call(http.MethodPatch, userPath, `{"blocked":true}`), 200)
		te.clock.Advance(time.Second)
		wantStatus(t, te.call(http.MethodPatch, userPath, `{"blocked":false}`), 200)
		wantGrantError(t, te.refresh(rt, ""), "invalid_grant")
		fresh := te.login(spaID, apiData, "offline_access read:data").RefreshToken
		te.wantAccess(te.refresh(fresh, ""), apiData, "offline_access read:data")
	})
}

// The block races code exchanges and refreshes; afterwards not one of the
// user's refresh tokens, old or new, gets a token.
func TestBlockRacingExchangesLeavesNoFamilyAlive(t *testing.T) {
	te := newTokenEnv(t)
	const n = 20
	var rts []string
	var codes []pendingCode
	for range n {
		rts = append(rts, te.login(spaID, apiData, "offline_access read:data").RefreshToken)
		codes = append(codes, te.newCode(spaID, apiData, "offline_access read:data"))
	}
	te.clock.Advance(time.Second)

	var mu sync.Mutex
	issued := append([]string(nil), rts...) // every refresh token anyone holds
	keep := func(res tokenResult) {
		if res.status == http.StatusOK && res.RefreshToken != "" {
			mu.Lock()
			issued = append(issued, res.RefreshToken)
			mu.Unlock()
		}
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { <-start; keep(te.redeem(spaID, codes[i])) })
		wg.Go(func() { <-start; keep(te.refresh(rts[i], "")) })
	}
	wg.Go(func() {
		<-start
		if w := te.call(http.MethodPatch, userPath, `{"blocked":true}`); w.Code != 200 {
			t.Errorf("block: %d %s", w.Code, w.Body)
		}
	})
	close(start)
	wg.Wait()

	alive := 0
	for _, rt := range issued {
		if res := te.refresh(rt, ""); res.status == http.StatusOK {
			alive++
		}
	}
	if alive != 0 {
		t.Errorf("%d of %d refresh tokens still answer 200 after the block", alive, len(issued))
	}
}
