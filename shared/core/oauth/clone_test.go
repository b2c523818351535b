package oauth

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestCloneSharesNothing(t *testing.T) {
	c := &Client{ClientID: "a", Callbacks: []string{"https://a/cb"}, GrantTypes: []string{"x"},
		RefreshToken: RefreshTokenConfig{Policies: []Policy{{Audience: "https://api", Scope: []string{"read"}}}}}
	got := c.Clone()
	if diff := cmp.Diff(c, got); diff != "" {
		t.Fatalf("clone differs (-want +got):\n%s", diff)
	}
	got.Callbacks[0], got.GrantTypes[0] = "changed", "changed"
	got.RefreshToken.Policies[0].Scope[0] = "changed"
	if c.Callbacks[0] != "https://a/cb" || c.GrantTypes[0] != "x" || c.RefreshToken.Policies[0].Scope[0] != "read" {
		t.Fatalf("modifying the clone changed the original: %+v", c)
	}
	if (&Client{}).Clone().RefreshToken.Policies != nil {
		t.Error("nil policies became non-nil")
	}
	if p := (&Client{RefreshToken: RefreshTokenConfig{Policies: []Policy{}}}).Clone().RefreshToken.Policies; p == nil {
		t.Error("empty policies became nil")
	}
	for name, pair := range map[string][2][]string{
		"family":  {(&Family{Scopes: []string{"a"}}).Clone().Scopes, []string{"a"}},
		"code":    {(&AuthCode{Scopes: []string{"a"}}).Clone().Scopes, []string{"a"}},
		"consent": {(&Consent{Scopes: []string{"a"}}).Clone().Scopes, []string{"a"}},
		"grant":   {(&ClientGrant{Scope: []string{"a"}}).Clone().Scope, []string{"a"}},
	} {
		if diff := cmp.Diff(pair[1], pair[0]); diff != "" {
			t.Errorf("%s clone (-want +got):\n%s", name, diff)
		}
	}
}
