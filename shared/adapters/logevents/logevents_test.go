package logevents_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/mrrt-auth/mrrt/shared/adapters/logevents"
	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/runtime/lambdahttp"
	"github.com/mrrt-auth/mrrt/shared/runtime/local"
	"github.com/mrrt-auth/mrrt/shared/testkit/awstest"
	"github.com/mrrt-auth/mrrt/shared/testkit/localserver"
	"github.com/mrrt-auth/mrrt/shared/testkit/oauthtest"
)

func TestMain(m *testing.M) { os.Exit(awstest.Main(m)) }

// The reader against moto's CloudWatch Logs: two groups holding the lines
// lambdahttp.EventLogger writes, among other lines.
func TestReaderOnTheEmulator(t *testing.T) {
	ctx := context.Background()
	counter := awstest.NewCounter()
	client := cloudwatchlogs.NewFromConfig(awstest.Config(awstest.StartMoto(t), counter.Install))
	suffix := fmt.Sprint(time.Now().UnixNano())
	groups := []string{"/aws/lambda/token-" + suffix, "/aws/lambda/authorize-" + suffix}
	now := time.Now().Truncate(time.Millisecond)
	var events []oauth.Event
	for i := range 12 {
		date := now.Add(time.Duration(i-12) * 10 * time.Minute)
		events = append(events, oauth.Event{LogID: oauth.NewLogID(date, strings.NewReader("abcd")), Date: date.UTC(),
			Type: []string{"sertft", "s", "ferrt"}[i%3], UserID: fmt.Sprintf("auth0|u%d", i%2), ClientID: "demo-spa",
			Details: map[string]any{"family_id": "f1", "generation": i}})
	}
	for gi, g := range groups {
		if _, err := client.CreateLogGroup(ctx, &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String(g)}); err != nil {
			t.Fatal(err)
		}
		if _, err := client.CreateLogStream(ctx, &cloudwatchlogs.CreateLogStreamInput{LogGroupName: aws.String(g), LogStreamName: aws.String("s")}); err != nil {
			t.Fatal(err)
		}
		var batch []types.InputLogEvent
		for i, e := range events {
			if i%2 != gi { // the events alternate between the groups
				continue
			}
			var buf bytes.Buffer
			lambdahttp.EventLogger(slog.New(slog.NewJSONHandler(&buf, nil)), "token").Emit(ctx, e)
			batch = append(batch,
				types.InputLogEvent{Timestamp: aws.Int64(e.Date.UnixMilli()), Message: aws.String(`{"msg":"request","status":200}`)},
				types.InputLogEvent{Timestamp: aws.Int64(e.Date.UnixMilli()), Message: aws.String(strings.TrimSpace(buf.String()))})
		}
		if _, err := client.PutLogEvents(ctx, &cloudwatchlogs.PutLogEventsInput{LogGroupName: aws.String(g), LogStreamName: aws.String("s"), LogEvents: batch}); err != nil {
			t.Fatal(err)
		}
	}
	r := &logevents.Reader{Client: client, Groups: append(groups, "/aws/lambda/never-logged-"+suffix), Now: func() time.Time { return now }}
	ids := func(evs []oauth.Event) []string {
		out := []string{}
		for _, e := range evs {
			out = append(out, e.LogID)
		}
		return out
	}
	pick := func(idx ...int) []string {
		out := []string{}
		for _, i := range idx {
			out = append(out, events[i].LogID)
		}
		return out
	}
	for _, tc := range []struct {
		name string
		q    oauth.EventQuery
		want []string
	}{
		{"the latest three, newest first, across both groups", oauth.EventQuery{Limit: 3}, pick(11, 10, 9)},
		{"by type", oauth.EventQuery{Types: []string{"ferrt"}}, pick(11, 8, 5, 2)},
		{"by user and type, oldest first", oauth.EventQuery{UserID: "auth0|u1", Types: []string{"s", "sertft"}, Ascending: true}, pick(1, 3, 7, 9)},
		{"by a time range", oauth.EventQuery{From: events[4].Date, To: events[7].Date}, pick(6, 5, 4)},
		{"after a checkpoint, oldest first", oauth.EventQuery{After: events[8].LogID, Ascending: true, Limit: 2}, pick(9, 10)},
		{"before a checkpoint, newest first", oauth.EventQuery{After: events[3].LogID, Limit: 2}, pick(2, 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := r.Events(ctx, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, ids(got)); diff != "" {
				t.Error(diff)
			}
		})
	}
	t.Run("one event by id, read back whole", func(t *testing.T) {
		got, err := r.Event(ctx, events[5].LogID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Type != "ferrt" || got.UserID != "auth0|u1" || got.Details["generation"] != float64(5) || !got.Date.Equal(events[5].Date) {
			t.Errorf("%+v", got)
		}
		if _, err := r.Event(ctx, oauth.NewLogID(now, strings.NewReader("zzzz"))); err != oauth.ErrNotFound {
			t.Errorf("an unknown id: %v, want ErrNotFound", err)
		}
	})
	t.Run("a lookup by id reads one narrow window per group", func(t *testing.T) {
		counter.Reset()
		r.Event(ctx, events[5].LogID)
		if n := counter.Count("FilterLogEvents"); n > len(r.Groups) {
			t.Errorf("%d FilterLogEvents requests, want at most one per group (%d)", n, len(r.Groups))
		}
	})
	t.Run("the admin API answers /api/v2/logs from the log groups, under read:logs", func(t *testing.T) {
		srv := localserver.Start(t, localserver.Options{Configure: func(d *local.Deps) { d.Logs = r }})
		issuer := srv.URL
		token := func(scope string) string { return oauthtest.AdminToken(t, http.DefaultClient, issuer, scope) }
		get := func(tok, path string) (int, []byte) {
			req, _ := http.NewRequest("GET", issuer+path, nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, b
		}
		status, body := get(token("read:logs"), "/api/v2/logs?q="+url.QueryEscape(`type:ferrt AND user_id:"auth0|u1"`)+"&per_page=2&include_totals=true")
		var page struct {
			Total int
			Logs  []oauth.Event
		}
		if json.Unmarshal(body, &page); status != 200 || page.Total != 2 || len(page.Logs) != 2 || page.Logs[0].LogID != events[11].LogID {
			t.Fatalf("%d %s: want events 11 and 5", status, body)
		}
		if status, body = get(token("read:logs"), "/api/v2/logs/"+events[4].LogID); status != 200 || !strings.Contains(string(body), events[4].LogID) {
			t.Errorf("one event: %d %s", status, body)
		}
		if status, _ = get(token("read:users"), "/api/v2/logs"); status != http.StatusForbidden {
			t.Errorf("without read:logs: %d, want 403", status)
		}
		if status, _ = get("", "/api/v2/logs"); status != http.StatusUnauthorized {
			t.Errorf("without a token: %d, want 401", status)
		}
	})
}

func TestPattern(t *testing.T) {
	got := logevents.Pattern(oauth.EventQuery{Types: []string{"s", "ferrt"}, UserID: `auth0|"x"*`, ClientID: "c"})
	want := `{ $.msg = "event" && ($.event.type = "s" || $.event.type = "ferrt") && $.event.user_id = "auth0|\"x\"\*" && $.event.client_id = "c" }`
	if got != want {
		t.Errorf("pattern\n got %s\nwant %s", got, want)
	}
}
