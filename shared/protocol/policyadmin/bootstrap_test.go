package policyadmin

import (
	"context"
	"crypto/rand"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mrrt-auth/mrrt/shared/adapters/memstore"
	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

func TestBootstrap(t *testing.T) {
	ctx := context.Background()
	t.Run("creates the admin API, a confidential client and a grant for every scope", func(t *testing.T) {
		s := memstore.New()
		a, err := Bootstrap(ctx, s, testAudience, "Ops", rand.Reader)
		must(t, err)
		rs, err := s.ResourceServer(ctx, testAudience)
		must(t, err)
		want := AdminAPI(testAudience)
		want.ID = rs.ID
		if diff := cmp.Diff(want, rs); diff != "" || rs.ID == "" {
			t.Errorf("admin API (-want +got):\n%s", diff)
		}
		if rs.SkipConsentForVerifiableFirstPartyClients || rs.AllowOfflineAccess {
			t.Error("the admin API must not skip consent or issue refresh tokens")
		}
		c, err := s.Client(ctx, a.Client.ClientID)
		must(t, err)
		if c.IsPublic() || !c.AllowsGrant(oauth.GrantTypeClientCredentials) || c.Name != "Ops" || !oauth.VerifySecret(c.SecretHash, a.Secret) {
			t.Errorf("client %+v", c)
		}
		g, err := s.ClientGrantFor(ctx, c.ClientID, testAudience)
		must(t, err)
		if !slices.Equal(g.Scope, Scopes) || !strings.HasPrefix(g.ID, "cgr_") {
			t.Errorf("grant %+v", g)
		}
		// What Bootstrap stores passes the admin API's own rules.
		ap := &api{d: Deps{Store: s, Audience: testAudience}}
		if err := ap.validateClient(ctx, c, true); err != nil {
			t.Errorf("client breaks a rule: %v", err)
		}
		if err := ap.validateAPI(rs); err != nil {
			t.Errorf("admin API breaks a rule: %v", err)
		}
	})
	t.Run("reuses an existing admin API", func(t *testing.T) {
		s := memstore.New()
		first, err := Bootstrap(ctx, s, testAudience, "One", rand.Reader)
		must(t, err)
		second, err := Bootstrap(ctx, s, testAudience, "Two", rand.Reader)
		must(t, err)
		if first.API.ID != second.API.ID || first.Client.ClientID == second.Client.ClientID || first.Secret == second.Secret {
			t.Errorf("first %+v second %+v", first, second)
		}
	})
	t.Run("refuses an existing admin API without the admin scopes", func(t *testing.T) {
		s := memstore.New()
		must(t, s.CreateResourceServer(ctx, &oauth.ResourceServer{Identifier: testAudience, Name: "x", Scopes: []oauth.Scope{{Value: "read:clients"}}}))
		if _, err := Bootstrap(ctx, s, testAudience, "Ops", rand.Reader); err == nil || !strings.Contains(err.Error(), "create:clients") {
			t.Errorf("err = %v", err)
		}
		if cs, _ := s.Clients(ctx); len(cs) != 0 {
			t.Error("a client was created")
		}
	})
	t.Run("refuses an empty audience or name", func(t *testing.T) {
		for _, c := range [][2]string{{"", "Ops"}, {testAudience, ""}, {testAudience, "<b>"}} {
			if _, err := Bootstrap(ctx, memstore.New(), c[0], c[1], rand.Reader); err == nil {
				t.Errorf("Bootstrap(%q, %q) succeeded", c[0], c[1])
			}
		}
	})
}
