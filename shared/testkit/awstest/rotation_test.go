package awstest_test

import (
	"context"
	"encoding/json"
	"net/url"
	"testing"

	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/runtime/local"
	"github.com/mrrt-auth/mrrt/shared/testkit/awsstack"
	"github.com/mrrt-auth/mrrt/shared/testkit/awstest"
)

// TestRefreshKeyRotationThroughTheBootstrap rotates the refresh-token key
// of the real token bootstrap as template.yaml's parameters do: KMS_MAC_KEY_ID
// names the new key and KMS_PREVIOUS_MAC_KEY_IDS the old one. The old
// key's family keeps working, a new family starts on the new key, and once
// the old key is dropped its tokens are invalid_grant.
func TestRefreshKeyRotationThroughTheBootstrap(t *testing.T) {
	emulator, boots := build(t)
	ctx := context.Background()
	tb := newSeededTable(t, "mrrt-rot-")
	signing := *tb.key(t, kmstypes.KeySpecRsa2048, kmstypes.KeyUsageTypeSignVerify).Arn
	oldMAC := *tb.key(t, kmstypes.KeySpecHmac256, kmstypes.KeyUsageTypeGenerateVerifyMac).Arn
	newMAC := *tb.key(t, kmstypes.KeySpecHmac256, kmstypes.KeyUsageTypeGenerateVerifyMac).Arn

	// start runs the token bootstrap keyed by mac, with previous MAC keys.
	start := func(mac, previous string) *awstest.Function {
		t.Helper()
		f, err := awstest.StartFunction(ctx, emulator, boots[local.Token], awstest.FunctionConfig{
			Name: string(local.Token), Table: tb.name, KeyID: signing, MACKeyID: mac, Issuer: seededIssuer,
			DynamoDB: tb.ddbURL, KMS: tb.kmsURL, HomeDir: t.TempDir(), Extra: []string{"KMS_PREVIOUS_MAC_KEY_IDS=" + previous},
		}.Env())
		mustOK(t, err)
		t.Cleanup(func() {
			f.Stop()
			if t.Failed() {
				t.Logf("output of the token function:\n%s", tail(f.Log(), 4000))
			}
		})
		return f
	}
	refresh := func(f *awstest.Function, rt string) string {
		t.Helper()
		next, _ := postToken(t, f, url.Values{"grant_type": {"refresh_token"}, "client_id": {"demo-spa"}, "refresh_token": {rt}})["refresh_token"].(string)
		return next
	}
	signIn := func(f *awstest.Function) string {
		t.Helper()
		code, err := awsstack.NewCode(ctx, tb.store, "offline_access read:data")
		mustOK(t, err)
		rt, _ := postToken(t, f, awsstack.RedeemForm(code))["refresh_token"].(string)
		return rt
	}

	before := start(oldMAC, "")
	old := refresh(before, signIn(before))
	before.Stop()

	during := start(newMAC, oldMAC)
	old = refresh(during, old) // the old family keeps rotating
	fresh := refresh(during, signIn(during))
	during.Stop()

	after := start(newMAC, "")
	refresh(after, fresh)
	event, err := awstest.TokenEvent(url.Values{"grant_type": {"refresh_token"}, "client_id": {"demo-spa"}, "refresh_token": {old}}, "test-old-key")
	mustOK(t, err)
	inv, err := after.Invoke(ctx, event)
	mustOK(t, err)
	var body struct{ Error string }
	json.Unmarshal([]byte(inv.Response.Body), &body)
	if inv.Response.StatusCode != 400 || body.Error != string(oauth.InvalidGrant) {
		t.Errorf("a token of the dropped key: %d %s, want 400 invalid_grant", inv.Response.StatusCode, inv.Response.Body)
	}
}
