package awstest

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestDelayProxyHoldsCountsAndReckonsUnits(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Write(b) // echo: the body must reach the emulator whole
	}))
	defer upstream.Close()
	const delay = 30 * time.Millisecond
	p, err := StartDelayProxy(upstream.URL, delay)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	send := func(target, body string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, p.URL, strings.NewReader(body))
		req.Header.Set("X-Amz-Target", target)
		start := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(got) != body {
			t.Errorf("%s: the emulator got %q, want %q", target, got, body)
		}
		if el := time.Since(start); el < delay {
			t.Errorf("%s answered after %v, before the %v delay", target, el, delay)
		}
	}
	send("DynamoDB_20120810.TransactWriteItems", `{"TransactItems":[{"Update":{}},{"ConditionCheck":{}}]}`)
	send("DynamoDB_20120810.GetItem", `{"ConsistentRead":true}`)
	send("DynamoDB_20120810.GetItem", `{}`)
	send("DynamoDB_20120810.UpdateItem", `{}`)
	send("TrentService.Sign", `{}`)
	if d := cmp.Diff(map[string]int{"TransactWriteItems": 1, "GetItem": 2, "UpdateItem": 1, "Sign": 1}, p.Counts.Counts()); d != "" {
		t.Errorf("counts (-want +got):\n%s", d)
	}
	if w, r := p.Units(); w != 5 || r != 1.5 {
		t.Errorf("units: %v write, %v read; want 5 (2 × 2 transactional + 1) and 1.5 (1 strong + 0.5 eventual)", w, r)
	}
	if b := p.Busy(); b < 5*delay {
		t.Errorf("busy %v, want at least 5 × %v", b, delay)
	}
	p.Reset()
	if w, r := p.Units(); w != 0 || r != 0 || p.Busy() != 0 || len(p.Counts.Counts()) != 0 {
		t.Error("Reset left something")
	}
}
