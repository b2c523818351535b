package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/runtime/local"
	"github.com/mrrt-auth/mrrt/shared/testkit/awstest"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

// The printed environment is what awsdeps needs, and a second run reuses
// everything.
func TestRun(t *testing.T) {
	none := filepath.Join(t.TempDir(), "none")
	for k, v := range map[string]string{
		"AWS_REGION": awstest.Region, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_SESSION_TOKEN": "",
		"AWS_PROFILE": "", "AWS_CONFIG_FILE": none, "AWS_SHARED_CREDENTIALS_FILE": none, "AWS_ENDPOINT_URL": "",
		"AWS_ENDPOINT_URL_DYNAMODB": awstest.StartMoto(t), "AWS_ENDPOINT_URL_KMS": awstest.StartKMS(t),
	} {
		t.Setenv(k, v)
	}
	cfg, err := config.LoadDefaultConfig(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	o := options{table: "mrrt-dev", signing: "alias/dev-signing", es256: "alias/dev-es256", mac: "alias/dev-refresh"}
	var out, log bytes.Buffer
	if err := run(t.Context(), cfg, o, &out, &log); err != nil {
		t.Fatal(err)
	}
	want := "export TABLE_NAME='mrrt-dev'\nexport KMS_KEY_ID='alias/dev-signing'\nexport KMS_ES256_KEY_ID='alias/dev-es256'\nexport KMS_MAC_KEY_ID='alias/dev-refresh'\n"
	if out.String() != want {
		t.Errorf("output %q, want %q", out.String(), want)
	}
	if n := strings.Count(log.String(), " created: "); n != 3 {
		t.Errorf("%d keys created, want 3:\n%s", n, log.String())
	}

	out.Reset()
	log.Reset()
	if err := run(t.Context(), cfg, o, &out, &log); err != nil {
		t.Fatalf("second run: %v", err)
	}
	if out.String() != want || strings.Contains(log.String(), " created: ") {
		t.Errorf("second run created something or printed another environment:\n%s%s", out.String(), log.String())
	}

	env := map[string]string{"ISSUER": "https://auth.example.com"}
	for line := range strings.Lines(out.String()) {
		k, v, _ := strings.Cut(strings.TrimSpace(strings.TrimPrefix(line, "export ")), "=")
		env[k] = strings.Trim(v, "'")
	}
	d, err := local.AWSDeps(t.Context(), func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Store.CreateClient(t.Context(), &oauth.Client{ClientID: "spa"}); err != nil {
		t.Errorf("the table does not work: %v", err)
	}
	if _, err := d.Signer.Sign(t.Context(), oauth.AlgES256, oauth.TypAccessToken, map[string]string{"sub": "x"}); err != nil {
		t.Errorf("the ES256 key does not sign: %v", err)
	}
	if d.Signer.DefaultAlg() != oauth.AlgRS256 {
		t.Errorf("default alg %s, want RS256", d.Signer.DefaultAlg())
	}
	if _, err := d.RefreshKeyFunc(t.Context()); err != nil {
		t.Errorf("the MAC key does not work: %v", err)
	}

	t.Run("an alias naming a key of the wrong kind is refused", func(t *testing.T) {
		bad := o
		bad.mac = o.signing
		if err := run(t.Context(), cfg, bad, &out, &log); err == nil || !strings.Contains(err.Error(), "want HMAC_256") {
			t.Errorf("run: %v", err)
		}
	})
}
