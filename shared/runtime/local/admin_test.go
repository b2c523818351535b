package local_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/mrrt-auth/mrrt/shared/testkit/oauthtest"
)

// adminClient calls the admin API as the default seed's admin-cli.
type adminClient struct {
	t     *testing.T
	base  string
	token string
}

func adminAPI(t *testing.T, base string) *adminClient {
	t.Helper()
	return &adminClient{t: t, base: base, token: oauthtest.AdminToken(t, http.DefaultClient, base, "")}
}

// call sends body as JSON, wants status and decodes the answer into out
// (nil: ignored).
func (a *adminClient) call(method, path string, body any, status int, out any) {
	a.t.Helper()
	var r *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	} else {
		r = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, a.base+path, r)
	req.Header.Set("Authorization", "Bearer "+a.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	var raw json.RawMessage
	json.NewDecoder(resp.Body).Decode(&raw)
	if resp.StatusCode != status {
		a.t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, raw, status)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			a.t.Fatalf("%s %s: %s: %v", method, path, raw, err)
		}
	}
}
