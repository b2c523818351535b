package token

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// An ambiguous write is one the store applied but could not report (every
// answer lost, or the deadline cut in): the client then gets a 503 or a
// 200 it may never see, and retries with the same refresh token or code.
// Telling that retry from the replay of a stolen token needs a record
// that the answer was in doubt, written when the doubt arises: one
// conditional write on the failure path (SettleAdvance, SettleRedemption)
// and, if that fails too, this instance's own memory until it can write it
// after all (settleLater). A retry of a token
// or code in doubt gets the same successor (a code: its family's tokens)
// instead of revoking the family; a thief holding the same token is then
// caught one step later, when the second of the two uses the successor.

// settleTimeout is what a settle gets even when the request's budget is
// spent: the settle is the write that saves the client's retry, and
// lambdahttp.Reserve (1 s) still covers it and the 503.
const settleTimeout = 300 * time.Millisecond

// settleContext is ctx, or, when less than settleTimeout of it is left, a
// context of settleTimeout that ignores its cancellation.
func settleContext(ctx context.Context) (context.Context, context.CancelFunc) {
	if dl, ok := ctx.Deadline(); ok && time.Until(dl) < settleTimeout {
		return context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	}
	return context.WithCancel(ctx)
}

// settled decides a rotation the store could not report: true if it was
// applied, and then its head is marked in doubt, so a retry with the
// presented token gets the same successor (classify).
func (h *handler) settled(ctx context.Context, familyID string, adv oauth.Advance) bool {
	if adv.FromHash == adv.ToHash {
		return false // no rotation: nothing changes hands, a retry costs nothing
	}
	return h.settle(ctx, "rotation", familyID, familyDoubt(familyID, adv.ToHash), func(ctx context.Context) (bool, error) {
		return h.d.Families.SettleAdvance(ctx, familyID, adv)
	})
}

// redemptionSettled decides a code redemption the store could not report,
// as settled does a rotation (redeliver serves the retry).
func (h *handler) redemptionSettled(ctx context.Context, hash, familyID string) bool {
	return h.settle(ctx, "code redemption", familyID, codeDoubt(hash, familyID), func(ctx context.Context) (bool, error) {
		return h.d.Codes.SettleRedemption(ctx, hash, familyID)
	})
}

// settle runs one settle; if the store cannot be reached, this instance
// remembers the doubt and writes the settle later.
func (h *handler) settle(ctx context.Context, what, familyID string, key doubt, write func(context.Context) (bool, error)) bool {
	ctx, cancel := settleContext(ctx)
	defer cancel()
	applied, err := write(ctx)
	h.logSettle(ctx, what, familyID, applied, err)
	if err != nil && !errors.Is(err, oauth.ErrNotFound) {
		h.remember(key, write)
	}
	return err == nil && applied
}

// logSettle records the outcome of a settle for operators: an
// unsettled doubt is what can still log a client out.
func (h *handler) logSettle(ctx context.Context, what, familyID string, applied bool, err error) {
	switch {
	case err != nil:
		h.log.LogAttrs(ctx, slog.LevelWarn, "ambiguous "+what+" not settled: remembered, and settled later",
			slog.String("family_id", familyID), slog.String("error", err.Error()))
	default:
		h.log.LogAttrs(ctx, slog.LevelInfo, "ambiguous "+what+" settled",
			slog.String("family_id", familyID), slog.Bool("applied", applied))
	}
}

// redelivery is what the retry of a code whose redemption is in doubt
// gets: its family, if none of its tokens was ever used, moves to a
// generation-1 token derived from the family alone (the first token's
// secret is random and gone), so a second retry gets that token again.
type redelivery struct {
	code *oauth.AuthCode
	fam  *oauth.Family
	raw  string
	adv  oauth.Advance
}

// prepareRedelivery validates such a retry before anything is signed. A
// family that moved on means its tokens were delivered after all: the
// retry is a replay (RFC 6749 §4.1.2).
func (h *handler) prepareRedelivery(ctx context.Context, code *oauth.AuthCode, client *oauth.Client, now time.Time) (*redelivery, error) {
	fam, err := h.d.Families.Family(ctx, code.FamilyID)
	if errors.Is(err, oauth.ErrNotFound) {
		return nil, errCode("invalid authorization code", err)
	}
	if err != nil {
		return nil, fmt.Errorf("token: family: %w", err)
	}
	noted(ctx).noteFamily(fam)
	if fam.Revoked || !fam.Active(now) {
		return nil, errCode("invalid authorization code", fmt.Errorf("family %s of a code in doubt is dead", fam.ID))
	}
	// The family keeps the binding of the first redemption (RFC 9449 §5):
	// a retry without that key could not use the token anyway.
	if err := checkBinding(ctx, fam.DPoPJKT); err != nil {
		return nil, err
	}
	key, err := h.refreshKey(ctx)
	if err != nil {
		return nil, err
	}
	codec := h.codecFor(key)
	defer h.codecs.Put(codec)
	tok, err := redeliveryToken(codec, fam)
	if err != nil {
		return nil, err
	}
	rd := &redelivery{code: code, fam: fam, raw: codec.encode(&tok)}
	rd.adv = oauth.Advance{
		UserID: fam.UserID, CreatedAt: fam.CreatedAt,
		FromHash: fam.HeadHash, ToHash: oauth.HashToken(rd.raw), Generation: 1,
		Now: now, IdleExpiresAt: idleExpiry(client, now),
	}
	switch {
	case fam.Generation == 0 && fam.LastUsedAt.IsZero():
		// Never delivered, never used: retire the first token.
	case fam.Generation == 1 && fam.HeadHash == rd.adv.ToHash:
		rd.adv.FromHash = rd.adv.ToHash // served before: the same token again
	default:
		return nil, h.revokeCodeFamily(ctx, code, now)
	}
	return rd, nil
}

// redeliver commits rd and returns its refresh token.
func (h *handler) redeliver(ctx context.Context, rd *redelivery, now time.Time) (string, error) {
	switch err := h.d.Families.AdvanceFamily(ctx, rd.fam.ID, rd.adv); {
	case err == nil:
		return rd.raw, nil
	case errors.Is(err, oauth.ErrUserRevoked):
		return "", errUserRevoked.WithCause(err)
	case errors.Is(err, oauth.ErrUnavailable) && h.settled(ctx, rd.fam.ID, rd.adv):
		return rd.raw, nil
	case errors.Is(err, oauth.ErrUnavailable):
		return "", fmt.Errorf("token: redeliver: %w", err)
	default:
		// Revoked, expired or moved on meanwhile: a replay after all.
		return "", h.revokeCodeFamily(ctx, rd.code, now)
	}
}

// doubts is this instance's memory of ambiguous writes whose settle failed
// too: family id and successor hash, or code hash and family id, with the
// settle still to be written. Bounded; entries expire after doubtLife.
type doubts struct {
	n       atomic.Int32 // len(at), so the common case takes no lock
	mu      sync.Mutex
	at      map[doubt]time.Time
	pending []pendingSettle // oldest first
	working bool            // a settleLater goroutine runs
}

// doubt names one ambiguous write: a family and its new head's hash, or a
// code's hash and its family.
type doubt struct{ family, hash string }

// pendingSettle is a settle this instance still owes the store.
type pendingSettle struct {
	key    doubt
	at     time.Time
	settle func(context.Context) (bool, error)
}

const (
	doubtLife = 10 * time.Minute // a code's life, and ample for a client's retry
	maxDoubts = 4096
)

// settleRetryEvery paces settleLater; a handler reads it once, when built
// (a variable so tests can hurry it or hold it off).
var settleRetryEvery = time.Second

func familyDoubt(familyID, headHash string) doubt { return doubt{familyID, headHash} }
func codeDoubt(hash, familyID string) doubt       { return doubt{familyID, "code:" + hash} }

// remember records a doubt this instance could not write and keeps trying
// to write it (settleLater). On Lambda that goroutine runs whenever the
// instance is thawed, so the mark usually lands before the client's retry
// can reach another instance.
func (h *handler) remember(key doubt, settle func(context.Context) (bool, error)) {
	if h.doubts.add(pendingSettle{key: key, at: h.d.Now(), settle: settle}) {
		go h.settleLater()
	}
}

// settleLater writes the owed settles, oldest first, every
// h.settleEvery; a fault means the store is still out of reach, so it
// waits for the next round. It ends when nothing is owed.
func (h *handler) settleLater() {
	for {
		time.Sleep(h.settleEvery)
		for {
			p, ok := h.doubts.next(h.d.Now())
			if !ok {
				return
			}
			ctx, cancel := context.WithTimeout(context.Background(), settleTimeout)
			applied, err := p.settle(ctx)
			cancel()
			if err != nil && !errors.Is(err, oauth.ErrNotFound) {
				break
			}
			h.log.LogAttrs(context.Background(), slog.LevelInfo, "ambiguous write settled later", slog.String("family_id", p.key.family), slog.Bool("applied", applied))
			h.doubts.settled(p)
		}
	}
}

// add remembers p's doubt and owes its settle; start reports that no
// settleLater runs yet. A doubt already known, or a full memory of live
// doubts, adds nothing.
func (d *doubts) add(p pendingSettle) (start bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.at == nil {
		d.at = map[doubt]time.Time{}
	}
	if _, ok := d.at[p.key]; ok {
		return false
	}
	if len(d.at) >= maxDoubts {
		maps.DeleteFunc(d.at, func(_ doubt, t time.Time) bool { return p.at.Sub(t) > doubtLife })
		if len(d.at) >= maxDoubts {
			return false // a store down that long has bigger consequences
		}
	}
	d.at[p.key] = p.at
	d.n.Store(int32(len(d.at)))
	d.pending = append(d.pending, p)
	start, d.working = !d.working, true
	return start
}

// next returns the oldest settle still owed, dropping expired ones; when
// none is left it records that settleLater ends.
func (d *doubts) next(now time.Time) (pendingSettle, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for len(d.pending) > 0 && now.Sub(d.pending[0].at) > doubtLife {
		d.pending = d.pending[1:]
	}
	if len(d.pending) == 0 {
		d.pending, d.working = nil, false
		return pendingSettle{}, false
	}
	return d.pending[0], true
}

// settled drops p, which next returned, from the settles owed.
func (d *doubts) settled(p pendingSettle) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.pending) > 0 && d.pending[0].key == p.key {
		d.pending = d.pending[1:]
	}
}

func (d *doubts) has(key doubt, now time.Time) bool {
	if d.n.Load() == 0 {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	t, ok := d.at[key]
	return ok && now.Sub(t) <= doubtLife
}
