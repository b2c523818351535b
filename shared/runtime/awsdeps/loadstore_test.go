package awsdeps_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/runtime/awsdeps"
)

func TestLoadStore(t *testing.T) {
	s := startStack(t)

	t.Run("the store works and the KMS members are left out", func(t *testing.T) {
		s.setAWSEnv(t)
		d, err := awsdeps.LoadStore(t.Context(), s.env("ADMIN_AUDIENCE", "https://admin.example.com/"))
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Store.CreateClient(t.Context(), &oauth.Client{ClientID: "probe-store-only"}); err != nil {
			t.Fatal(err)
		}
		if _, err := d.Store.Client(t.Context(), "probe-store-only"); err != nil {
			t.Fatal(err)
		}
		if d.Signer != nil || d.RefreshKey != nil {
			t.Errorf("Signer %v, RefreshKey set %t; want neither", d.Signer, d.RefreshKey != nil)
		}
		if d.Issuer != "https://auth.example.com" || d.AdminAudience != "https://admin.example.com/" {
			t.Errorf("Issuer %q, AdminAudience %q", d.Issuer, d.AdminAudience)
		}
	})

	for _, tt := range []struct {
		name   string
		region string
		getenv func(string) string
	}{
		{"missing variables fail as they do for Load", "eu-west-1", func(string) string { return "" }},
		{"a bad KMS_KEY_ALG fails as it does for Load", "eu-west-1", s.env("KMS_KEY_ALG", "HS256")},
		{"a bad CONFIG_CACHE_TTL fails as it does for Load", "eu-west-1", s.env("CONFIG_CACHE_TTL", "soon")},
		{"a missing region fails as it does for Load", "", s.env()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			isolateAWSEnv(t)
			t.Setenv("AWS_REGION", tt.region)
			t.Setenv("AWS_DEFAULT_REGION", "")
			_, loadErr := awsdeps.Load(t.Context(), tt.getenv)
			_, storeErr := awsdeps.LoadStore(t.Context(), tt.getenv)
			if loadErr == nil || storeErr == nil {
				t.Fatalf("Load: %v, LoadStore: %v; want errors", loadErr, storeErr)
			}
			if diff := cmp.Diff(loadErr.Error(), storeErr.Error()); diff != "" {
				t.Errorf("error (-Load +LoadStore):\n%s", diff)
			}
		})
	}
}
