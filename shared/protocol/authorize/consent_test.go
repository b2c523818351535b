package authorize

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

func thirdQuery(scope string) url.Values {
	q := query()
	q.Set("client_id", "third")
	q.Set("redirect_uri", thirdCB)
	q.Set("scope", scope)
	return q
}

func TestConsent(t *testing.T) {
	t.Run("a third-party client gets the consent page listing the API and scopes", func(t *testing.T) {
		e := newEnv(t)
		r := e.browser(t).loginAs(thirdQuery("openid read:items"), alice, alicePW)
		if !isConsentPage(r) {
			t.Fatalf("status %d, Location %q; want the consent page", r.status, r.header.Get("Location"))
		}
		for _, want := range []string{"Example API", "Read your items (read:items)", "sign you in",
			"Third &lt;Party&gt; App", alice, `value="allow"`, `value="deny"`} {
			if !strings.Contains(r.body, want) {
				t.Errorf("consent page lacks %q:\n%s", want, r.body)
			}
		}
	})
	t.Run("deny goes back with access_denied", func(t *testing.T) {
		e := newEnv(t)
		b := e.browser(t)
		r := b.decide(b.loginAs(thirdQuery("openid read:items"), alice, alicePW), "deny")
		if r.status != http.StatusSeeOther {
			t.Fatalf("status %d", r.status)
		}
		e.wantError(t, r, thirdCB, "st-123", oauth.AccessDenied)
		if _, err := e.store.Consent(context.Background(), "u-alice", "third", apiID); err == nil {
			t.Error("a denial was stored as consent")
		}
	})
	t.Run("allow issues a code and is remembered for the same or fewer scopes", func(t *testing.T) {
		e := newEnv(t)
		b := e.browser(t)
		e.wantCode(t, b.decide(b.loginAs(thirdQuery("openid read:items"), alice, alicePW), "allow"), thirdCB, "st-123", http.StatusSeeOther)
		c, err := e.store.Consent(context.Background(), "u-alice", "third", apiID)
		if err != nil {
			t.Fatal(err)
		}
		want := &oauth.Consent{UserID: "u-alice", ClientID: "third", Audience: apiID, Scopes: []string{"openid", "read:items"}, GrantedAt: e.clock.Now()}
		if diff := cmp.Diff(want, c); diff != "" {
			t.Errorf("consent (-want +got):\n%s", diff)
		}
		e.wantCode(t, b.authorize(thirdQuery("openid read:items").Encode()), thirdCB, "st-123", http.StatusFound)
		e.wantCode(t, b.authorize(thirdQuery("read:items").Encode()), thirdCB, "st-123", http.StatusFound)
		q := thirdQuery("read:items")
		q.Set("prompt", "none")
		e.wantCode(t, b.authorize(q.Encode()), thirdCB, "st-123", http.StatusFound)
	})
	t.Run("more scopes than consented ask again and widen the consent", func(t *testing.T) {
		e := newEnv(t)
		b := e.browser(t)
		e.wantCode(t, b.decide(b.loginAs(thirdQuery("openid read:items"), alice, alicePW), "allow"), thirdCB, "st-123", http.StatusSeeOther)
		page := b.authorize(thirdQuery("read:items write:items").Encode())
		if !isConsentPage(page) {
			t.Fatalf("status %d; want the consent page", page.status)
		}
		e.wantCode(t, b.decide(page, "allow"), thirdCB, "st-123", http.StatusSeeOther)
		c, err := e.store.Consent(context.Background(), "u-alice", "third", apiID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string{"openid", "read:items", "write:items"}, c.Scopes, cmpopts.SortSlices(func(a, b string) bool { return a < b })); diff != "" {
			t.Errorf("consent scopes (-want +got):\n%s", diff)
		}
	})
	t.Run("consent is per audience", func(t *testing.T) {
		e := newEnv(t)
		b := e.browser(t)
		e.wantCode(t, b.decide(b.loginAs(thirdQuery("openid"), alice, alicePW), "allow"), thirdCB, "st-123", http.StatusSeeOther)
		q := thirdQuery("openid")
		q.Set("audience", consentAPI)
		if r := b.authorize(q.Encode()); !isConsentPage(r) {
			t.Fatalf("status %d; want the consent page for the other API", r.status)
		}
	})
	t.Run("prompt=none when consent is needed redirects with consent_required", func(t *testing.T) {
		e := newEnv(t)
		b := e.browser(t)
		e.wantCode(t, b.loginAs(query(), alice, alicePW), spaCB, "st-123", http.StatusSeeOther)
		q := thirdQuery("openid")
		q.Set("prompt", "none")
		e.wantError(t, b.authorize(q.Encode()), thirdCB, "st-123", oauth.ConsentRequired)
	})
	t.Run("a first-party client needs consent for an API that does not allow skipping it", func(t *testing.T) {
		e := newEnv(t)
		q := query()
		q.Set("audience", consentAPI)
		q.Set("scope", "openid read:notes")
		if r := e.browser(t).loginAs(q, alice, alicePW); !isConsentPage(r) {
			t.Fatalf("status %d, Location %q; want the consent page", r.status, r.header.Get("Location"))
		}
	})
	t.Run("a first-party client skips consent for an API that allows it", func(t *testing.T) {
		e := newEnv(t)
		e.wantCode(t, e.browser(t).loginAs(query(), alice, alicePW), spaCB, "st-123", http.StatusSeeOther)
	})
	t.Run("a consent form without the CSRF token is refused", func(t *testing.T) {
		e := newEnv(t)
		b := e.browser(t)
		f := formFields(t, b.loginAs(thirdQuery("openid"), alice, alicePW))
		f.Del("csrf")
		f.Set("decision", "allow")
		wantErrorPage(t, b.post("/authorize/consent", f), http.StatusForbidden)
		if _, err := e.store.Consent(context.Background(), "u-alice", "third", apiID); err == nil {
			t.Error("consent stored")
		}
	})
	t.Run("a consent form without a session shows the login page", func(t *testing.T) {
		e := newEnv(t)
		b := e.browser(t)
		page := b.loginAs(thirdQuery("openid"), alice, alicePW)
		b.get("/logout")
		r := b.decide(page, "allow")
		if !isLoginPage(r) {
			t.Fatalf("status %d, Location %q; want the login page", r.status, r.header.Get("Location"))
		}
	})
	t.Run("a consent form with prompt=login and an old sign-in shows the login page", func(t *testing.T) {
		e := newEnv(t)
		b := e.browser(t)
		q := thirdQuery("openid")
		q.Set("prompt", "login")
		page := b.loginAs(q, alice, alicePW)
		e.clock.Advance(consentFreshness + time.Second)
		if r := b.decide(page, "allow"); !isLoginPage(r) {
			t.Fatalf("status %d, Location %q; want the login page", r.status, r.header.Get("Location"))
		}
	})
	t.Run("a consent form with prompt=login right after the login issues a code", func(t *testing.T) {
		e := newEnv(t)
		b := e.browser(t)
		q := thirdQuery("openid")
		q.Set("prompt", "login")
		q.Set("max_age", "0")
		page := b.loginAs(q, alice, alicePW)
		e.clock.Advance(30 * time.Second)
		e.wantCode(t, b.decide(page, "allow"), thirdCB, "st-123", http.StatusSeeOther)
	})
	t.Run("an unknown decision is refused", func(t *testing.T) {
		e := newEnv(t)
		b := e.browser(t)
		wantErrorPage(t, b.decide(b.loginAs(thirdQuery("openid"), alice, alicePW), "maybe"), http.StatusBadRequest)
	})
}
