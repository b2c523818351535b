package awsdeps_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/runtime/awsdeps"
)

func TestLoadBuildsTheStoreAndNamesTheKeys(t *testing.T) {
	s := startStack(t)
	s.setAWSEnv(t)
	d, err := awsdeps.Load(t.Context(), s.env("ADMIN_AUDIENCE", "https://admin.example.com/",
		"KMS_ES256_KEY_ID", "alias/es", "KMS_PREVIOUS_KEY_IDS", "alias/old1, alias/old2"))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Store.CreateClient(t.Context(), &oauth.Client{ClientID: "probe-store-only"}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Store.Client(t.Context(), "probe-store-only"); err != nil {
		t.Fatal(err)
	}
	if d.Issuer != "https://auth.example.com" || d.AdminAudience != "https://admin.example.com/" {
		t.Errorf("Issuer %q, AdminAudience %q", d.Issuer, d.AdminAudience)
	}
	want := awsdeps.KMSSettings{
		Alg: oauth.AlgRS256, Current: []string{s.env()("KMS_KEY_ID"), "alias/es"},
		Previous: []string{"alias/old1", "alias/old2"}, MACKeyID: s.env()("KMS_MAC_KEY_ID"),
	}
	if diff := cmp.Diff(want, d.KMS); diff != "" {
		t.Errorf("KMS settings (-want +got):\n%s", diff)
	}
}
