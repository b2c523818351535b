package policyadmin

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// logEnv is an env whose log holds, besides the example event, ten events
// a minute apart: types alternate sertft/fertft, users u0/u1, clients
// c0/c1/c2.
func logEnv(t *testing.T) (*env, []oauth.Event) {
	e := newEnv(t)
	var evs []oauth.Event
	for i := range 10 {
		ev := oauth.Event{
			LogID: fmt.Sprintf("%019d%08x", testStart.Add(time.Duration(i)*time.Minute).UnixNano(), i),
			Date:  testStart.Add(time.Duration(i) * time.Minute), Type: []string{"sertft", "fertft"}[i%2],
			UserID: fmt.Sprintf("u%d", i%2), ClientID: fmt.Sprintf("c%d", i%3),
		}
		e.events.Emit(context.Background(), ev)
		evs = append(evs, ev)
	}
	return e, evs
}

func ids(evs []oauth.Event) []string {
	out := []string{}
	for _, e := range evs {
		out = append(out, e.LogID)
	}
	return out
}

func TestLogSearch(t *testing.T) {
	e, evs := logEnv(t)
	pick := func(idx ...int) []string {
		out := []string{}
		for _, i := range idx {
			out = append(out, evs[i].LogID)
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		query url.Values
		want  []string
	}{
		{"by type, newest first", url.Values{"q": {"type:fertft"}}, pick(9, 7, 5, 3, 1)},
		{"by two types", url.Values{"q": {"type:fertft AND type:sertft AND user_id:u0"}}, pick(8, 6, 4, 2, 0)},
		{"by user and client", url.Values{"q": {`user_id:"u1" AND client_id:c0`}}, pick(9, 3)},
		{"by a time range, inclusive", url.Values{"q": {"date:[" + evs[2].Date.Format(time.RFC3339) + " TO " + evs[4].Date.Format(time.RFC3339) + "]"}}, pick(4, 3, 2)},
		{"by an open range and a client, oldest first", url.Values{"q": {"date:[" + evs[7].Date.Format(time.RFC3339) + " TO *] AND client_id:c1"}, "sort": {"date:1"}}, pick(7)},
		{"one page", url.Values{"q": {"type:sertft"}, "per_page": {"2"}, "page": {"1"}}, pick(4, 2)},
		{"checkpoint paging lists the events after from, oldest first", url.Values{"from": {evs[6].LogID}, "take": {"2"}}, pick(7, 8)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := e.call(http.MethodGet, "/api/v2/logs?"+tc.query.Encode(), nil)
			wantStatus(t, w, http.StatusOK)
			if diff := cmp.Diff(tc.want, ids(decode[[]oauth.Event](t, w))); diff != "" {
				t.Error(diff)
			}
		})
	}
	t.Run("include_totals wraps the page and counts the matches (the example event too)", func(t *testing.T) {
		w := e.call(http.MethodGet, "/api/v2/logs?q=type:sertft&per_page=2&include_totals=true", nil)
		page := decode[struct {
			Start, Limit, Length, Total int
			Logs                        []oauth.Event
		}](t, w)
		if page.Total != 6 || page.Length != 2 || page.Limit != 2 || len(page.Logs) != 2 {
			t.Errorf("page %+v", page)
		}
	})
	t.Run("a user's logs", func(t *testing.T) {
		w := e.call(http.MethodGet, "/api/v2/users/u1/logs?per_page=3", nil)
		if diff := cmp.Diff(pick(9, 7, 5), ids(decode[[]oauth.Event](t, w))); diff != "" {
			t.Error(diff)
		}
	})
	t.Run("one event by id", func(t *testing.T) {
		got := decode[oauth.Event](t, e.call(http.MethodGet, "/api/v2/logs/"+evs[3].LogID, nil))
		if got.LogID != evs[3].LogID || got.Type != "fertft" || got.UserID != "u1" {
			t.Errorf("%+v", got)
		}
		wantError(t, e.call(http.MethodGet, "/api/v2/logs/nope", nil), http.StatusNotFound, "inexistent_log", "")
	})
	for _, tc := range []struct{ name, query, msg string }{
		{"a field q cannot search is refused", "q=" + url.QueryEscape("ip:1.2.3.4"), "q: supports only"},
		{"OR is refused", "q=" + url.QueryEscape("type:s OR type:f"), "q: supports only"},
		{"a user twice is refused", "q=" + url.QueryEscape("user_id:a AND user_id:b"), "q: supports only"},
		{"a date that is no date is refused", "q=" + url.QueryEscape("date:[yesterday TO *]"), `date "yesterday"`},
		{"fields is refused", "fields=type", "fields: is not supported"},
		{"a sort other than by date is refused", "sort=type:1", "sort: must be date:1 or date:-1"},
		{"pages past the 1000 latest are refused", "page=10&per_page=100", "use from and take"},
		{"checkpoint paging with page is refused", "from=1&page=1", "checkpoint paging"},
		{"take above 100 is refused", "from=1&take=101", "take: must be an integer between 1 and 100"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, e.call(http.MethodGet, "/api/v2/logs?"+tc.query, nil), http.StatusBadRequest, "invalid_query_string", tc.msg)
		})
	}
	t.Run("a user's logs take no q", func(t *testing.T) {
		wantError(t, e.call(http.MethodGet, "/api/v2/users/u1/logs?q=type:s", nil), http.StatusBadRequest, "invalid_query_string", "q: is not a parameter")
	})
}

func TestEveryAdminCallIsLogged(t *testing.T) {
	e := newEnv(t)
	before, _ := e.events.Events(context.Background(), oauth.EventQuery{})
	wantStatus(t, e.call(http.MethodGet, "/api/v2/clients", nil), http.StatusOK)
	wantStatus(t, e.callWith(e.token(scopeReadUsers), http.MethodGet, "/api/v2/clients", nil), http.StatusForbidden)
	after, _ := e.events.Events(context.Background(), oauth.EventQuery{})
	byType := map[string]oauth.Event{}
	for _, ev := range after[:len(after)-len(before)] { // the clock stands still: same date
		byType[ev.Type] = ev
	}
	read, failed := byType[oauth.EventAPIRead], byType[oauth.EventAPIFailed]
	if len(byType) != 2 || read.ClientID != adminClientID || failed.Details["response"].(map[string]any)["statusCode"] != http.StatusForbidden {
		t.Fatalf("events %+v: want one mgmt_api_read by admin-cli and one fapi with 403", byType)
	}
}
