package policyadmin

import (
	"crypto/rand"
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/mrrt-auth/mrrt/shared/adapters/dynamostore"
	"github.com/mrrt-auth/mrrt/shared/adapters/memstore"
	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/testkit/awstest"
)

var tableSeq atomic.Int64

// A block interrupted at any step (a DynamoDB call that fails: the admin
// API answers 503) leaves no token usable that the finished block would
// have stopped, and repeating the block finishes it. The revocation marker
// is written first, and every token commit checks it, so from the first
// successful step on nothing is issued or refreshed; the steps after it
// (revoking the listed families, storing the user) are repeated by the
// next PATCH, which always writes the marker again.
func TestInterruptedBlockIsCompletedByRepeatingIt(t *testing.T) {
	stores := []struct {
		name string
		new  func(t *testing.T) oauth.Store
	}{
		{"memory store", func(*testing.T) oauth.Store { return memstore.New() }},
		{"DynamoDB store", func(t *testing.T) oauth.Store {
			api := dynamodb.NewFromConfig(awstest.Config(awstest.StartMoto(t)))
			table := fmt.Sprintf("block-%d", tableSeq.Add(1))
			if err := dynamostore.CreateTable(t.Context(), api, table); err != nil {
				t.Fatal(err)
			}
			return dynamostore.New(api, table)
		}},
	}
	steps := []string{"SetUserBlocked", "RevokeUserTokens", "FamiliesByUser", "RevokeFamily", "UpdateUser"}
	for _, st := range stores {
		for _, step := range steps {
			t.Run(st.name+": interrupted at "+step, func(t *testing.T) {
				e := newEnvOn(t, st.new(t), rand.Reader)
				te := &tokenEnv{env: e, tok: newTokenHandler(e.store, e)}
				rts := []string{
					te.login(spaID, apiData, "offline_access read:data").RefreshToken,
					te.login(spaID, apiData, "offline_access read:data").RefreshToken,
				}
				pending := te.newCode(spaID, apiData, "offline_access read:data")
				wantStatus(t, te.call(http.MethodPatch, "/api/v2/clients/"+spaID,
					`{"refresh_token":{"policies":[{"audience":"`+apiBilling+`","scope":["read:billing"]}]}}`), http.StatusOK)
				rts[1] = te.wantAccess(te.refresh(rts[1], apiBilling), apiBilling, "read:billing") // MRRT works before the block

				e.store.FailNext(step, fmt.Errorf("injected: %w", oauth.ErrUnavailable))
				wantStatus(t, te.call(http.MethodPatch, userPath, `{"blocked":true}`), http.StatusServiceUnavailable)
				if step != "SetUserBlocked" {
					// The marker is in place: nothing gets through any more,
					// MRRT to another audience included.
					for _, rt := range rts {
						wantGrantError(t, te.refresh(rt, ""), "invalid_grant")
						wantGrantError(t, te.refresh(rt, apiBilling), "invalid_grant")
					}
				}

				wantStatus(t, te.call(http.MethodPatch, userPath, `{"blocked":true}`), http.StatusOK)
				for _, rt := range rts {
					wantGrantError(t, te.refresh(rt, ""), "invalid_grant")
				}
				wantGrantError(t, te.redeem(spaID, pending), "invalid_grant")
				u, err := e.store.User(t.Context(), exUserID)
				if err != nil || !u.Blocked {
					t.Errorf("user after the repeated block: %+v, %v", u, err)
				}
				fs, err := e.store.FamiliesByUser(t.Context(), exUserID)
				if err != nil {
					t.Fatal(err)
				}
				for _, f := range fs {
					if !f.Revoked {
						t.Errorf("family %s is not marked revoked after the repeated block", f.ID)
					}
				}
			})
		}
	}
}
