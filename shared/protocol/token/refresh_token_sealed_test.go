package token

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// sealedFixtureFacts are the facts of a typical grant: a public client
// bound to a DPoP key, with OpenID scopes.
func sealedFixtureFacts() *oauth.Family {
	return &oauth.Family{
		ID:        "00112233445566778899aabbccddeeff",
		ClientID:  "kX9nP2qR7sT4vW8yZ1bC3dF5gH6jK0mN",
		UserID:    "auth0|6571f2c9e4b0a1d2c3e4f5a6",
		Audience:  "https://api.example.com",
		Scopes:    []string{"openid", "profile", "email", "offline_access", "read:data", "write:data"},
		AuthTime:  time.Unix(1700000000, 0).UTC(),
		CreatedAt: time.Unix(1700000000, 123456789).UTC(),
		ExpiresAt: time.Unix(1702592000, 123456789).UTC(),
		DPoPJKT:   "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs",
	}
}

func TestSealedRefreshToken(t *testing.T) {
	facts := sealedFixtureFacts()
	first, err := newRefreshToken(facts.ID, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	first.facts = sealedFacts(facts)
	raw := first.encode(codecKey)

	t.Run("round trip keeps family, generation, secret and every fact", func(t *testing.T) {
		got, err := decodeRefreshToken(raw, codecKey)
		if err != nil {
			t.Fatal(err)
		}
		if got.family != first.family || got.generation != first.generation || got.secret != first.secret {
			t.Errorf("decoded %x/%d, want %x/%d", got.family, got.generation, first.family, first.generation)
		}
		if d := cmp.Diff(facts, got.facts); d != "" {
			t.Errorf("facts (-want +got):\n%s", d)
		}
	})

	t.Run("the length is the sealed facts plus 81 bytes, in base64url", func(t *testing.T) {
		n := 1 + rtNonceLen + rtPlainLen + len(appendFacts(nil, facts)) + 16
		if len(raw) != base64.RawURLEncoding.EncodedLen(n) || strings.ContainsAny(raw, "+/=") {
			t.Errorf("raw has %d characters, want %d unpadded base64url", len(raw), base64.RawURLEncoding.EncodedLen(n))
		}
		t.Logf("a typical sealed refresh token: %d characters (version 1: %d)", len(raw), rtEncodedLen)
	})

	t.Run("a holder can read nothing from it", func(t *testing.T) {
		b, err := base64.RawURLEncoding.DecodeString(raw)
		if err != nil {
			t.Fatal(err)
		}
		secrets := [][]byte{first.family[:], first.secret[:], []byte(facts.ID)}
		for _, s := range []string{facts.ClientID, facts.UserID, facts.Audience, facts.DPoPJKT, "openid", "read:data"} {
			secrets = append(secrets, []byte(s))
		}
		for _, s := range secrets {
			if bytes.Contains(b, s) || strings.Contains(raw, string(s)) {
				t.Errorf("the token shows %q", s)
			}
		}
	})

	t.Run("a change to any byte is refused", func(t *testing.T) {
		b, _ := base64.RawURLEncoding.DecodeString(raw)
		for i := range b {
			changed := bytes.Clone(b)
			changed[i] ^= 0x01
			if _, err := decodeRefreshToken(base64.RawURLEncoding.EncodeToString(changed), codecKey); err == nil {
				t.Errorf("byte %d changed, token still accepted", i)
			}
		}
		for _, cut := range []int{1, 16, len(b) - 1} {
			if _, err := decodeRefreshToken(base64.RawURLEncoding.EncodeToString(b[:cut]), codecKey); err == nil {
				t.Errorf("token cut to %d bytes accepted", cut)
			}
		}
	})

	t.Run("another key opens nothing", func(t *testing.T) {
		if _, err := decodeRefreshToken(raw, bytes.Repeat([]byte{9}, 32)); err == nil {
			t.Error("opened under another key")
		}
	})

	t.Run("the successor keeps the facts, is deterministic, and is another token", func(t *testing.T) {
		a, err := first.successor(codecKey)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := first.successor(codecKey)
		rawA, rawB := a.encode(codecKey), b.encode(codecKey)
		if rawA != rawB {
			t.Error("the successor's encoding is not deterministic")
		}
		if rawA == raw || a.generation != 1 {
			t.Errorf("successor generation %d, same token %v", a.generation, rawA == raw)
		}
		got, err := decodeRefreshToken(rawA, codecKey)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(facts, got.facts); d != "" {
			t.Errorf("successor facts (-want +got):\n%s", d)
		}
	})

	t.Run("a grant too large for a token gets a version-1 family", func(t *testing.T) {
		big := sealedFixtureFacts()
		big.Scopes = strings.Fields(strings.Repeat("read:something-long ", 80))
		if sealedFacts(big) != nil {
			t.Error("facts over the bound were sealed")
		}
	})

	t.Run("version-1 tokens still decode", func(t *testing.T) {
		v1 := first
		v1.facts = nil
		got, err := decodeRefreshToken(v1.encode(codecKey), codecKey)
		if err != nil || got.facts != nil || got.family != first.family {
			t.Errorf("version 1: %+v, %v", got, err)
		}
	})
}

// TestSealedTokenExchanges: a sealed token's exchanges read no family;
// version-1 tokens keep rotating, and a reuse still revokes their family.
func TestSealedTokenExchanges(t *testing.T) {
	t.Run("a sealed token's exchanges read no family, for any audience", func(t *testing.T) {
		f := newFixture(t)
		f.updateClient(spaID, func(c *oauth.Client) { c.RefreshToken.Leeway = 30 })
		rt := f.login(codeSpec{})
		if len(rt) <= rtEncodedLen {
			t.Fatalf("a code exchange issued a %d-character refresh token, want a sealed one", len(rt))
		}
		before := f.store.Calls("Family")
		r := f.refresh(spaID, rt)
		wantOK(t, r)
		r = f.refresh(spaID, r.RefreshToken, "audience", apiBilling)
		wantOK(t, r)
		if got := f.store.Calls("Family") - before; got != 0 {
			t.Errorf("%d family reads for two exchanges, want 0", got)
		}
		// A leeway retry is told apart by the refused commit itself.
		prev := r.RefreshToken
		r = f.refresh(spaID, prev)
		wantOK(t, r)
		again := f.refresh(spaID, prev)
		wantOK(t, again)
		if again.RefreshToken != r.RefreshToken {
			t.Error("the leeway retry got another successor")
		}
		if got := f.store.Calls("Family") - before; got != 0 {
			t.Errorf("%d family reads with a leeway retry, want 0", got)
		}
	})

	t.Run("a version-1 token keeps rotating, and its successors stay version 1", func(t *testing.T) {
		f := newFixture(t)
		rt := f.versionOne(f.login(codeSpec{}))
		for i := range 3 {
			r := f.refresh(spaID, rt, "audience", []string{apiData, apiBilling}[i%2])
			wantOK(t, r)
			if len(r.RefreshToken) != rtEncodedLen {
				t.Fatalf("successor of a version-1 token has %d characters, want %d", len(r.RefreshToken), rtEncodedLen)
			}
			rt = r.RefreshToken
		}
		if fam := f.family(rt); fam.Generation != 3 || fam.HeadHash != oauth.HashToken(rt) {
			t.Errorf("generation %d; want 3 with the last token as head", fam.Generation)
		}
	})

	t.Run("a reused version-1 token revokes its family", func(t *testing.T) {
		f := newFixture(t)
		rt1 := f.versionOne(f.login(codeSpec{}))
		r := f.refresh(spaID, rt1)
		wantOK(t, r)
		r = f.refresh(spaID, rt1)
		wantError(t, r, http.StatusBadRequest, oauth.InvalidGrant)
		if fam := f.family(rt1); !fam.Revoked || fam.RevokeReason != "refresh_token_reuse" {
			t.Errorf("family revoked=%v reason=%q, want revoked for reuse", fam.Revoked, fam.RevokeReason)
		}
	})

	t.Run("a sealed token past its family's idle expiry is refused and revokes nothing", func(t *testing.T) {
		f := newFixture(t)
		rt := f.login(codeSpec{})
		f.clock.Advance(3601 * time.Second) // the fixture's idle lifetime is an hour
		r := f.refresh(spaID, rt)
		wantError(t, r, http.StatusBadRequest, oauth.InvalidGrant)
		if r.Description != "refresh token expired" {
			t.Errorf("description %q, want refresh token expired", r.Description)
		}
		if fam := f.family(rt); fam.Revoked || fam.Generation != 0 {
			t.Errorf("family revoked=%v generation=%d, want untouched", fam.Revoked, fam.Generation)
		}
	})

	revoke := func(f *fixture, client, token string) {
		t.Helper()
		if res := f.post("/oauth/revoke", client, url.Values{"token": {token}}); res.Status != http.StatusOK {
			t.Fatalf("revoke: %v", res)
		}
	}
	t.Run("a sealed token is revoked without reading its family; another client's is not", func(t *testing.T) {
		f := newFixture(t)
		rt := f.login(codeSpec{})
		before := f.store.Calls("Family")
		revoke(f, webID, rt) // RFC 7009 §2.1: another client's token changes nothing
		if f.store.Calls("Family") != before {
			t.Error("revocation read the family")
		}
		if f.family(rt).Revoked {
			t.Fatal("another client revoked the family")
		}
		before = f.store.Calls("Family")
		revoke(f, spaID, rt)
		if got := f.store.Calls("Family") - before; got != 0 {
			t.Errorf("%d family reads for a revocation, want 0", got)
		}
		if fam := f.family(rt); !fam.Revoked || fam.RevokeReason != "revoked_by_client" {
			t.Errorf("family revoked=%v reason=%q", fam.Revoked, fam.RevokeReason)
		}
	})
	t.Run("a version-1 token is revoked too", func(t *testing.T) {
		f := newFixture(t)
		rt := f.versionOne(f.login(codeSpec{}))
		revoke(f, spaID, rt)
		if !f.family(rt).Revoked {
			t.Error("family not revoked")
		}
		wantError(t, f.refresh(spaID, rt), http.StatusBadRequest, oauth.InvalidGrant)
	})
}

// TestRefreshKeyRotation: after the refresh-token key changes, with the
// old key among PreviousRefreshKeys, the old key's families keep working
// and stay on it; new families get the new key; once the old key is gone,
// its tokens are invalid_grant and revoke nothing.
func TestRefreshKeyRotation(t *testing.T) {
	oldKey, newKey := bytes.Repeat([]byte{0x5a}, 32), bytes.Repeat([]byte{0x6b}, 32)
	opens := func(raw string, key []byte) bool {
		_, err := decodeRefreshToken(raw, key)
		return err == nil
	}
	rotate := func(f *fixture) {
		f.keyMu.Lock()
		f.key, f.previous = newKey, [][]byte{oldKey}
		f.keyMu.Unlock()
	}

	t.Run("an old family keeps rotating under the old key, and a new one starts under the new key", func(t *testing.T) {
		f := newFixture(t)
		f.updateClient(spaID, func(c *oauth.Client) { c.RefreshToken.Leeway = 30 })
		old := f.login(codeSpec{})
		rotate(f)
		r := f.refresh(spaID, old, "audience", apiBilling)
		wantOK(t, r)
		if !opens(r.RefreshToken, oldKey) || opens(r.RefreshToken, newKey) {
			t.Error("the successor of an old-key token is not under the old key")
		}
		// A leeway retry agrees on the successor across the rotation.
		again := f.refresh(spaID, old)
		wantOK(t, again)
		if again.RefreshToken != r.RefreshToken {
			t.Error("the leeway retry got another successor")
		}
		wantOK(t, f.refresh(spaID, r.RefreshToken))
		fresh := f.login(codeSpec{})
		if !opens(fresh, newKey) || opens(fresh, oldKey) {
			t.Error("a new family's token is not under the new key")
		}
		wantOK(t, f.refresh(spaID, fresh))
		// RFC 7009 revocation opens old-key tokens too.
		if res := f.post("/oauth/revoke", spaID, url.Values{"token": {old}}); res.Status != http.StatusOK || !f.family(old).Revoked {
			t.Errorf("revocation of an old-key token: %v, revoked %v", res, f.family(old).Revoked)
		}
	})

	t.Run("once the old key is gone, its tokens are invalid_grant and revoke nothing", func(t *testing.T) {
		f := newFixture(t)
		old := f.login(codeSpec{})
		before := f.family(old)
		f.keyMu.Lock()
		f.key = newKey
		f.keyMu.Unlock()
		r := f.refresh(spaID, old)
		wantError(t, r, http.StatusBadRequest, oauth.InvalidGrant)
		f.keyMu.Lock()
		f.key = oldKey
		f.keyMu.Unlock()
		if d := cmp.Diff(before, f.family(old)); d != "" {
			t.Errorf("the family changed (-before +after):\n%s", d)
		}
	})
}
