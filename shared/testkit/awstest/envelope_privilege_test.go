package awstest_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/mrrt-auth/mrrt/shared/adapters/dynamostore"
	"github.com/mrrt-auth/mrrt/shared/adapters/kmssigner"
	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/runtime/local"
	"github.com/mrrt-auth/mrrt/shared/runtime/seed"
	"github.com/mrrt-auth/mrrt/shared/testkit/awsstack"
	"github.com/mrrt-auth/mrrt/shared/testkit/awstest"
)

// TestEnvelopeTokenFunctionUsesOnlyGrantedActions runs the token bootstrap
// with SIGNING_MODE=envelope (its cold start unwraps the key pair; then a
// client-credentials token, a code exchange and a refresh) and holds every
// AWS action it used against the token role's policy in template.yaml,
// the statements of the WithEnvelope condition included.
func TestEnvelopeTokenFunctionUsesOnlyGrantedActions(t *testing.T) {
	emulator, boots := build(t)
	ctx := context.Background()
	tb := newSeededTable(t, "mrrt-env-")
	signing := tb.key(t, kmstypes.KeySpecRsa2048, kmstypes.KeyUsageTypeSignVerify)
	mac := tb.key(t, kmstypes.KeySpecHmac256, kmstypes.KeyUsageTypeGenerateVerifyMac)
	wrap := tb.key(t, kmstypes.KeySpecSymmetricDefault, kmstypes.KeyUsageTypeEncryptDecrypt)
	pair, err := kmssigner.NewWrappedKey(ctx, tb.kms, *wrap.Arn, oauth.AlgRS256, time.Now())
	mustOK(t, err)
	pair.Current = true
	mustOK(t, tb.store.PutWrappedKey(ctx, pair))

	rec := newAWSRecorder(t, tb.ddbURL, tb.kmsURL)
	f, err := awstest.StartFunction(ctx, emulator, boots[local.Token], awstest.FunctionConfig{
		Name: string(local.Token), Table: tb.name, KeyID: *signing.Arn, MACKeyID: *mac.Arn, Issuer: seededIssuer,
		DynamoDB: rec.URL, KMS: rec.URL, HomeDir: t.TempDir(), Extra: []string{"SIGNING_MODE=envelope"},
	}.Env())
	mustOK(t, err)
	defer func() {
		f.Stop()
		if t.Failed() {
			t.Logf("output of the token function:\n%s", tail(f.Log(), 6000))
		}
	}()

	post := func(form url.Values) map[string]any { return postToken(t, f, form) }
	post(url.Values{"grant_type": {"client_credentials"}, "client_id": {"demo-m2m"}, "client_secret": {"demo-m2m-secret-change-me"}, "audience": {"https://api.example.com"}})
	code, err := awsstack.NewCode(ctx, tb.store, "openid offline_access read:data")
	mustOK(t, err)
	tokens := post(awsstack.RedeemForm(code))
	rt, _ := tokens["refresh_token"].(string)
	post(url.Values{"grant_type": {"refresh_token"}, "client_id": {"demo-spa"}, "refresh_token": {rt}, "audience": {"https://billing.example.com"}})

	wrapID, macID := *wrap.KeyId, *mac.KeyId
	calls := rec.Calls()
	var decrypts int
	for _, c := range calls {
		if c.Action == "kms:Decrypt" {
			decrypts++
		}
		if c.Action == "kms:Sign" {
			t.Errorf("envelope mode called kms:Sign on %q", c.Resource)
		}
	}
	if decrypts != 1 {
		t.Errorf("%d kms:Decrypt calls, want 1 (the key pair, at the cold start)", decrypts)
	}
	checkGranted(t, local.Token, calls, func(action, keyID string) string {
		switch {
		case strings.Contains(keyID, wrapID):
			return "envelope"
		case keyID == "" && action == "kms:Decrypt":
			// A symmetric ciphertext names its key; the only one here is
			// the wrapping key.
			return "envelope"
		case strings.Contains(keyID, macID):
			return "mac"
		}
		return fmt.Sprintf("unknown key %q", keyID)
	})
}

// seededIssuer is the issuer of newSeededTable's seed.
const seededIssuer = "https://auth.example.com"

// seededTable is a fresh table holding the default seed, on moto and
// local-kms (or LocalStack), for a test that starts its function itself.
type seededTable struct {
	ddbURL, kmsURL, name string
	kms                  *kms.Client
	store                *dynamostore.Store
}

func newSeededTable(t *testing.T, prefix string) *seededTable {
	t.Helper()
	ctx := context.Background()
	tb := &seededTable{ddbURL: os.Getenv(externalEndpoint), kmsURL: os.Getenv(externalEndpoint)}
	if tb.ddbURL == "" {
		tb.ddbURL, tb.kmsURL = awstest.StartMoto(t), awstest.StartKMS(t)
	}
	db := dynamodb.NewFromConfig(awstest.Config(tb.ddbURL))
	tb.kms = kms.NewFromConfig(awstest.Config(tb.kmsURL))
	tb.name = prefix + oauth.HashToken(fmt.Sprint(time.Now().UnixNano()))[:8]
	mustOK(t, dynamostore.CreateTable(ctx, db, tb.name))
	tb.store = dynamostore.New(db, tb.name)
	doc, err := seed.Default(seededIssuer)
	mustOK(t, err)
	mustOK(t, seed.Load(ctx, tb.store, doc, rand.Reader, time.Now()))
	return tb
}

// key creates a KMS key.
func (tb *seededTable) key(t *testing.T, spec kmstypes.KeySpec, usage kmstypes.KeyUsageType) *kmstypes.KeyMetadata {
	t.Helper()
	out, err := tb.kms.CreateKey(context.Background(), &kms.CreateKeyInput{KeySpec: spec, KeyUsage: usage})
	mustOK(t, err)
	return out.KeyMetadata
}

func mustOK(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// postToken sends form to the token function's /oauth/token and wants a
// 200; it returns the JSON body.
func postToken(t *testing.T, f *awstest.Function, form url.Values) map[string]any {
	t.Helper()
	event, err := awstest.TokenEvent(form, "test-"+form.Get("grant_type"))
	mustOK(t, err)
	inv, err := f.Invoke(context.Background(), event)
	mustOK(t, err)
	var body map[string]any
	if json.Unmarshal([]byte(inv.Response.Body), &body); inv.Response.StatusCode != 200 {
		t.Fatalf("%s: %d %s", form.Get("grant_type"), inv.Response.StatusCode, inv.Response.Body)
	}
	return body
}
