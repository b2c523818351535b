package token

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

var errLostAnswer = fmt.Errorf("dynamodb: every answer lost: %w", oauth.ErrUnavailable)

// TestAmbiguousRotation: a rotation applied without its answer (the
// client sees a 503 or nothing) must not turn the client's retry with the
// same token into reuse; a client with leeway 0 is the hard case.
func TestAmbiguousRotation(t *testing.T) {
	t.Run("a lost answer is settled by one write: 200, and a retry with the old token gets the same successor", func(t *testing.T) {
		f := newFixture(t)
		rt := f.login(codeSpec{})
		f.store.LoseNextAnswer("AdvanceFamily", errLostAnswer)
		first := f.refresh(spaID, rt)
		wantOK(t, first)
		if n := f.store.Calls("SettleAdvance"); n != 1 {
			t.Errorf("%d SettleAdvance calls, want 1", n)
		}
		if got := f.family(rt).InDoubt; got != 1 {
			t.Errorf("InDoubt = %d, want 1", got)
		}
		// The client never saw first: it retries with rt.
		retry := f.refresh(spaID, rt)
		wantOK(t, retry)
		if retry.RefreshToken != first.RefreshToken {
			t.Error("the retry got another successor")
		}
		next := f.refresh(spaID, retry.RefreshToken)
		wantOK(t, next)
		// The successor's use ends the doubt: rt is plain reuse again.
		wantError(t, f.refresh(spaID, rt), http.StatusBadRequest, oauth.InvalidGrant)
		if !f.family(rt).Revoked {
			t.Error("reuse after the doubt ended did not revoke the family")
		}
	})

	t.Run("a settle that fails too is 503, and the retry reaching this instance gets the successor", func(t *testing.T) {
		f := newFixture(t)
		rt := f.login(codeSpec{})
		f.store.LoseNextAnswer("AdvanceFamily", errLostAnswer)
		f.store.FailNext("SettleAdvance", errLostAnswer)
		r := f.refresh(spaID, rt)
		wantError(t, r, http.StatusServiceUnavailable, oauth.TemporarilyUnavailable)
		if r.Header.Get("Retry-After") == "" {
			t.Error("503 without Retry-After")
		}
		if fam := f.family(rt); fam.Generation != 1 || fam.InDoubt != 0 {
			t.Fatalf("family generation %d, in doubt %d; want rotated, not marked", fam.Generation, fam.InDoubt)
		}
		retry := f.refresh(spaID, rt)
		wantOK(t, retry)
		wantOK(t, f.refresh(spaID, retry.RefreshToken))
	})

	t.Run("a settle that fails too is written later, and then a retry on another instance gets the successor", func(t *testing.T) {
		hurrySettles(t, 10*time.Millisecond)
		f := newFixture(t)
		rt := f.login(codeSpec{})
		f.store.LoseNextAnswer("AdvanceFamily", errLostAnswer)
		f.store.FailNext("SettleAdvance", errLostAnswer)
		f.store.FailNext("SettleAdvance", errLostAnswer) // the first later try too
		wantError(t, f.refresh(spaID, rt), http.StatusServiceUnavailable, oauth.TemporarilyUnavailable)
		waitFor(t, "the later settle", func() bool { return f.family(rt).InDoubt == 1 })
		if n := f.store.Calls("SettleAdvance"); n != 3 {
			t.Errorf("%d SettleAdvance calls, want 3 (the failed one, a failed later one, the one that took)", n)
		}
		f.handler = NewHandler(f.deps(f.iss))
		retry := f.refresh(spaID, rt)
		wantOK(t, retry)
		wantOK(t, f.refresh(spaID, retry.RefreshToken))
	})

	t.Run("a retry that reaches another instance before the later settle is taken for reuse", func(t *testing.T) {
		// The one case left: nothing durable records the doubt yet, and
		// the retry is indistinguishable from a stolen token's replay.
		hurrySettles(t, time.Hour)
		f := newFixture(t)
		rt := f.login(codeSpec{})
		f.store.LoseNextAnswer("AdvanceFamily", errLostAnswer)
		f.store.FailNext("SettleAdvance", errLostAnswer)
		wantError(t, f.refresh(spaID, rt), http.StatusServiceUnavailable, oauth.TemporarilyUnavailable)
		f.handler = NewHandler(f.deps(f.iss))
		wantError(t, f.refresh(spaID, rt), http.StatusBadRequest, oauth.InvalidGrant)
	})

	t.Run("a settle that finds the rotation not applied is 503 and the token still rotates", func(t *testing.T) {
		f := newFixture(t)
		rt := f.login(codeSpec{})
		f.store.FailNext("AdvanceFamily", errLostAnswer) // never reached the store
		wantError(t, f.refresh(spaID, rt), http.StatusServiceUnavailable, oauth.TemporarilyUnavailable)
		if n := f.store.Calls("SettleAdvance"); n != 1 {
			t.Errorf("%d SettleAdvance calls, want 1", n)
		}
		if fam := f.family(rt); fam.Generation != 0 || fam.InDoubt != 0 {
			t.Errorf("family generation %d, in doubt %d; want untouched", fam.Generation, fam.InDoubt)
		}
		wantOK(t, f.refresh(spaID, rt))
	})

	t.Run("a head in doubt is not served to a blocked user", func(t *testing.T) {
		f := newFixture(t)
		rt := f.login(codeSpec{})
		f.store.LoseNextAnswer("AdvanceFamily", errLostAnswer)
		wantOK(t, f.refresh(spaID, rt))
		if err := f.store.SetUserBlocked(t.Context(), userID, true); err != nil {
			t.Fatal(err)
		}
		wantError(t, f.refresh(spaID, rt), http.StatusBadRequest, oauth.InvalidGrant)
	})

	t.Run("a non-rotating exchange whose answer is lost needs no settle", func(t *testing.T) {
		f := newFixture(t)
		rt := f.login(codeSpec{client: webID})
		f.store.LoseNextAnswer("AdvanceFamily", errLostAnswer)
		wantError(t, f.refresh(webID, rt), http.StatusServiceUnavailable, oauth.TemporarilyUnavailable)
		if n := f.store.Calls("SettleAdvance"); n != 0 {
			t.Errorf("%d SettleAdvance calls, want 0", n)
		}
		wantOK(t, f.refresh(webID, rt))
	})
}

// TestAmbiguousRedemption: the same for the code exchange, whose retry
// would otherwise be a replay that revokes the family (RFC 6749 §4.1.2).
func TestAmbiguousRedemption(t *testing.T) {
	t.Run("a lost answer is settled by one write: 200, and a retry of the code gets working tokens, the same each time", func(t *testing.T) {
		f := newFixture(t)
		c := f.newCode(codeSpec{})
		f.store.LoseNextAnswer("RedeemCode", errLostAnswer)
		first := f.redeem(spaID, c)
		wantOK(t, first)
		if n := f.store.Calls("SettleRedemption"); n != 1 {
			t.Errorf("%d SettleRedemption calls, want 1", n)
		}
		// The client never saw first: it retries with the code.
		retry := f.redeem(spaID, c)
		wantOK(t, retry)
		if retry.RefreshToken == "" || retry.AccessToken == "" || retry.IDToken == "" {
			t.Fatalf("retry answered %v, want access, ID and refresh tokens", retry)
		}
		again := f.redeem(spaID, c)
		wantOK(t, again)
		if again.RefreshToken != retry.RefreshToken {
			t.Error("a second retry got another refresh token")
		}
		// The first answer's token was never delivered: it is retired.
		if fam := f.family(retry.RefreshToken); fam.Generation != 1 || fam.Revoked {
			t.Errorf("family generation %d revoked %v, want 1 and alive", fam.Generation, fam.Revoked)
		}
		next := f.refresh(spaID, retry.RefreshToken)
		wantOK(t, next)
		// The family moved on: a further use of the code is a replay.
		wantError(t, f.redeem(spaID, c), http.StatusBadRequest, oauth.InvalidGrant)
		if !f.family(next.RefreshToken).Revoked {
			t.Error("a replay after the family moved on did not revoke it")
		}
	})

	t.Run("a settle that fails too is 503, and the retry reaching this instance gets working tokens", func(t *testing.T) {
		f := newFixture(t)
		c := f.newCode(codeSpec{})
		f.store.LoseNextAnswer("RedeemCode", errLostAnswer)
		f.store.FailNext("SettleRedemption", errLostAnswer)
		wantError(t, f.redeem(spaID, c), http.StatusServiceUnavailable, oauth.TemporarilyUnavailable)
		retry := f.redeem(spaID, c)
		wantOK(t, retry)
		wantOK(t, f.refresh(spaID, retry.RefreshToken))
	})

	t.Run("a settle that fails too is written later, and then a retry on another instance gets working tokens", func(t *testing.T) {
		hurrySettles(t, 10*time.Millisecond)
		f := newFixture(t)
		c := f.newCode(codeSpec{})
		f.store.LoseNextAnswer("RedeemCode", errLostAnswer)
		f.store.FailNext("SettleRedemption", errLostAnswer)
		wantError(t, f.redeem(spaID, c), http.StatusServiceUnavailable, oauth.TemporarilyUnavailable)
		waitFor(t, "the later settle", func() bool {
			code, err := f.store.Code(t.Context(), oauth.HashToken(c.raw), f.clock.Now())
			return err == nil && code.InDoubt
		})
		f.handler = NewHandler(f.deps(f.iss))
		retry := f.redeem(spaID, c)
		wantOK(t, retry)
		wantOK(t, f.refresh(spaID, retry.RefreshToken))
	})

	t.Run("a code in doubt whose first token was used is a replay", func(t *testing.T) {
		// The answer did arrive after all; the thief's replay revokes.
		f := newFixture(t)
		c := f.newCode(codeSpec{})
		f.store.LoseNextAnswer("RedeemCode", errLostAnswer)
		first := f.redeem(spaID, c)
		wantOK(t, first)
		next := f.refresh(spaID, first.RefreshToken)
		wantOK(t, next)
		wantError(t, f.redeem(spaID, c), http.StatusBadRequest, oauth.InvalidGrant)
		wantError(t, f.refresh(spaID, next.RefreshToken), http.StatusBadRequest, oauth.InvalidGrant)
	})

	t.Run("a code in doubt is not served to a blocked user", func(t *testing.T) {
		f := newFixture(t)
		c := f.newCode(codeSpec{})
		f.store.LoseNextAnswer("RedeemCode", errLostAnswer)
		wantOK(t, f.redeem(spaID, c))
		if err := f.store.SetUserBlocked(t.Context(), userID, true); err != nil {
			t.Fatal(err)
		}
		wantError(t, f.redeem(spaID, c), http.StatusBadRequest, oauth.InvalidGrant)
	})

	t.Run("a code in doubt is served again only with the DPoP key of its first redemption", func(t *testing.T) {
		f := newFixture(t)
		k := newDPoPKey(t)
		c := f.newCode(codeSpec{})
		form := url.Values{"grant_type": {oauth.GrantTypeAuthorizationCode}, "code": {c.raw}, "code_verifier": {c.verifier}, "redirect_uri": {callback}}
		f.store.LoseNextAnswer("RedeemCode", errLostAnswer)
		wantBound(t, f, f.dpopToken(k, spaID, form), k)
		wantError(t, f.redeem(spaID, c), http.StatusBadRequest, oauth.InvalidGrant)
		wantError(t, f.dpopToken(newDPoPKey(t), spaID, form), http.StatusBadRequest, oauth.InvalidGrant)
		retry := f.dpopToken(k, spaID, form)
		wantBound(t, f, retry, k)
		if fam := f.family(retry.RefreshToken); fam.Revoked || fam.DPoPJKT != k.JKT {
			t.Errorf("family revoked %v, jkt %q; want alive and bound to %q", fam.Revoked, fam.DPoPJKT, k.JKT)
		}
	})

	t.Run("a plain replay of a used code still revokes its family", func(t *testing.T) {
		f := newFixture(t)
		c := f.newCode(codeSpec{})
		first := f.redeem(spaID, c)
		wantOK(t, first)
		wantError(t, f.redeem(spaID, c), http.StatusBadRequest, oauth.InvalidGrant)
		wantError(t, f.refresh(spaID, first.RefreshToken), http.StatusBadRequest, oauth.InvalidGrant)
	})
}

// hurrySettles paces the later settles of handlers built from now on.
func hurrySettles(t *testing.T, every time.Duration) {
	old := settleRetryEvery
	settleRetryEvery = every
	t.Cleanup(func() { settleRetryEvery = old })
}

// waitFor polls cond for up to five seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5 s", what)
		}
	}
}

func TestDoubtMemory(t *testing.T) {
	start := startTime
	owe := func(key doubt, at time.Time) pendingSettle { return pendingSettle{key: key, at: at} }
	t.Run("a remembered doubt lasts ten minutes", func(t *testing.T) {
		var d doubts
		k := familyDoubt("fam", "head")
		if !d.add(owe(k, start)) {
			t.Error("the first doubt did not ask for a settling goroutine")
		}
		if d.add(owe(familyDoubt("fam", "other"), start)) {
			t.Error("a second doubt asked for another settling goroutine")
		}
		if !d.has(k, start.Add(doubtLife)) || d.has(k, start.Add(doubtLife+time.Second)) || d.has(codeDoubt("head", "fam"), start) {
			t.Error("want k known for doubtLife, then forgotten, and nothing else known")
		}
	})
	t.Run("settles are owed oldest first, expired ones dropped, and the goroutine ends when none is left", func(t *testing.T) {
		var d doubts
		a, b, c := familyDoubt("a", "h"), familyDoubt("b", "h"), familyDoubt("c", "h")
		d.add(owe(a, start))
		d.add(owe(b, start.Add(time.Minute)))
		d.add(owe(c, start.Add(2*time.Minute)))
		p, ok := d.next(start.Add(doubtLife + 30*time.Second))
		if !ok || p.key != b {
			t.Fatalf("next = %v %v, want b (a expired)", p.key, ok)
		}
		d.settled(p)
		if p, ok = d.next(start.Add(doubtLife)); !ok || p.key != c {
			t.Fatalf("next = %v %v, want c", p.key, ok)
		}
		d.settled(p)
		if _, ok = d.next(start); ok {
			t.Error("a settle owed after all were settled")
		}
		if !d.add(owe(familyDoubt("d", "h"), start)) {
			t.Error("a doubt after the goroutine ended did not ask for a new one")
		}
	})
	t.Run("a full memory makes room from expired doubts, and otherwise keeps the ones it has", func(t *testing.T) {
		var d doubts
		for i := range maxDoubts {
			d.add(owe(familyDoubt(fmt.Sprint(i), "head"), start))
		}
		late := familyDoubt("late", "head")
		d.add(owe(late, start.Add(time.Minute)))
		if d.has(late, start.Add(time.Minute)) || !d.has(familyDoubt("0", "head"), start.Add(time.Minute)) {
			t.Error("a full memory of live doubts took a new one or lost an old one")
		}
		later := start.Add(doubtLife + time.Minute)
		d.add(owe(late, later))
		if !d.has(late, later) || d.n.Load() != 1 {
			t.Errorf("after expiry: late known %v, %d doubts; want known and 1", d.has(late, later), d.n.Load())
		}
	})
}
