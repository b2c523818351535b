package awsdeps_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/mrrt-auth/mrrt/shared/adapters/dynamostore"
	"github.com/mrrt-auth/mrrt/shared/adapters/kmssigner"
	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/runtime/awsdeps"
	"github.com/mrrt-auth/mrrt/shared/testkit/awstest"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

// stack is moto (DynamoDB) and local-kms with the table and keys a
// deployment has, created through the APIs as infra/awssetup does.
type stack struct {
	dynamoURL, kmsURL string
	db                *dynamodb.Client // unobserved clients for set-up and inspection
	kms               *kms.Client
	table             string
	signingKey        string // RSA_2048 SIGN_VERIFY, behind an alias
	macKey            string // HMAC_256 GENERATE_VERIFY_MAC
}

func startStack(t testing.TB) *stack {
	t.Helper()
	s := &stack{dynamoURL: awstest.StartMoto(t), kmsURL: awstest.StartKMS(t), table: "mrrt"}
	s.db = dynamodb.NewFromConfig(awstest.Config(s.dynamoURL))
	s.kms = kms.NewFromConfig(awstest.Config(s.kmsURL))
	ctx := t.Context()
	if err := dynamostore.CreateTable(ctx, s.db, s.table); err != nil {
		t.Fatal(err)
	}
	key, err := s.kms.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: types.KeySpecRsa2048, KeyUsage: types.KeyUsageTypeSignVerify})
	if err != nil {
		t.Fatal(err)
	}
	s.signingKey = "alias/mrrt-signing"
	if _, err := s.kms.CreateAlias(ctx, &kms.CreateAliasInput{AliasName: &s.signingKey, TargetKeyId: key.KeyMetadata.KeyId}); err != nil {
		t.Fatal(err)
	}
	mac, err := s.kms.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: types.KeySpecHmac256, KeyUsage: types.KeyUsageTypeGenerateVerifyMac})
	if err != nil {
		t.Fatal(err)
	}
	s.macKey = *mac.KeyMetadata.Arn
	return s
}

// env is the Lambda environment for the stack.
func (s *stack) env(extra ...string) func(string) string {
	m := map[string]string{
		"TABLE_NAME":     s.table,
		"KMS_KEY_ID":     s.signingKey,
		"KMS_MAC_KEY_ID": s.macKey,
		"ISSUER":         "https://auth.example.com",
	}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i]] = extra[i+1]
	}
	return func(k string) string { return m[k] }
}

// setAWSEnv points the SDK's environment at the stack, per service, and
// away from any AWS configuration of the machine.
func (s *stack) setAWSEnv(t testing.TB) {
	t.Helper()
	isolateAWSEnv(t)
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", s.dynamoURL)
	t.Setenv("AWS_ENDPOINT_URL_KMS", s.kmsURL)
}

// isolateAWSEnv sets dummy credentials and a region, and hides shared
// config files and endpoint variables of the machine.
func isolateAWSEnv(t testing.TB) {
	t.Helper()
	none := filepath.Join(t.TempDir(), "none")
	for k, v := range map[string]string{
		"AWS_REGION": awstest.Region, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_SESSION_TOKEN": "",
		"AWS_PROFILE": "", "AWS_CONFIG_FILE": none, "AWS_SHARED_CREDENTIALS_FILE": none,
		"AWS_ENDPOINT_URL": "", "AWS_ENDPOINT_URL_DYNAMODB": "", "AWS_ENDPOINT_URL_KMS": "", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "",
	} {
		t.Setenv(k, v)
	}
}

// deps builds Deps as Load does, from the SDK's default configuration
// (so the per-service endpoint variables route the clients), with
// apiOptions (counters, faults) added to both clients.
func (s *stack) deps(t testing.TB, apiOptions ...func(*middleware.Stack) error) *fullDeps {
	t.Helper()
	s.setAWSEnv(t)
	cfg, err := config.LoadDefaultConfig(t.Context(), config.WithAPIOptions(apiOptions))
	if err != nil {
		t.Fatal(err)
	}
	d, err := awsdeps.FromConfig(cfg, s.env())
	if err != nil {
		t.Fatal(err)
	}
	return withKeys(t, d)
}

// fullDeps are Deps with the KMS-held keys, built as the token function's
// main builds them.
type fullDeps struct {
	*awsdeps.Deps
	Signer     oauth.Signer
	RefreshKey func(context.Context) ([]byte, error)
}

func withKeys(t testing.TB, d *awsdeps.Deps) *fullDeps {
	t.Helper()
	keys, err := kmssigner.FromConfig(d.Config, kmssigner.Settings(d.KMS))
	if err != nil {
		t.Fatal(err)
	}
	return &fullDeps{Deps: d, Signer: keys.Signer, RefreshKey: keys.RefreshKey}
}
