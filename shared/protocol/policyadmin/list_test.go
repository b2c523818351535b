package policyadmin

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

func TestPaging(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	// 120 users besides the seeded one, so that pages of 50 and 100 show.
	for i := range 120 {
		must(t, e.store.CreateUser(ctx, &oauth.User{UserID: fmt.Sprintf("auth0|u%03d", i), Email: fmt.Sprintf("u%03d@example.com", i)}))
	}
	all, err := e.store.Users(ctx)
	must(t, err)
	ids := func(us []oauth.User) []string {
		out := []string{}
		for _, u := range us {
			out = append(out, u.UserID)
		}
		return out
	}
	want := func(from, to int) []string {
		out := []string{}
		for _, u := range all[min(from, len(all)):min(to, len(all))] {
			out = append(out, u.UserID)
		}
		return out
	}
	for _, c := range []struct {
		name  string
		query string
		want  []string
	}{
		{"the first page has 50 items by default", "", want(0, 50)},
		{"page 1 is the second page", "?page=1", want(50, 100)},
		{"the last page is short", "?page=2", want(100, 121)},
		{"a page past the end is empty", "?page=9", want(0, 0)},
		{"per_page sets the page size", "?per_page=7&page=3", want(21, 28)},
		{"per_page 100 is allowed", "?per_page=100", want(0, 100)},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := e.call(http.MethodGet, "/api/v2/users"+c.query, nil)
			wantStatus(t, w, 200)
			if diff := cmp.Diff(c.want, ids(decode[[]oauth.User](t, w))); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("include_totals wraps the page in Auth0's envelope", func(t *testing.T) {
		w := e.call(http.MethodGet, "/api/v2/users?include_totals=true&page=2&per_page=50", nil)
		wantStatus(t, w, 200)
		got := decode[struct {
			Start, Limit, Length, Total int
			Users                       []oauth.User
		}](t, w)
		if got.Start != 100 || got.Limit != 50 || got.Length != 21 || got.Total != 121 {
			t.Errorf("envelope = start %d limit %d length %d total %d", got.Start, got.Limit, got.Length, got.Total)
		}
		if diff := cmp.Diff(want(100, 121), ids(got.Users)); diff != "" {
			t.Errorf("ids (-want +got):\n%s", diff)
		}
	})
	for _, c := range []struct{ name, query, msg string }{
		{"a negative page is refused", "?page=-1", "page: must be an integer between 0"},
		{"a non-numeric page is refused", "?page=two", "page: must be an integer"},
		{"per_page over 100 is refused", "?per_page=101", "per_page: must be an integer between 1 and 100"},
		{"per_page 0 is refused", "?per_page=0", "per_page: must be an integer between 1 and 100"},
		{"a repeated parameter is refused", "?page=1&page=2", "page: must be given at most once"},
		{"include_totals must be a boolean", "?include_totals=yes", "include_totals: must be true or false"},
	} {
		t.Run(c.name, func(t *testing.T) {
			wantError(t, e.call(http.MethodGet, "/api/v2/users"+c.query, nil), 400, "invalid_query_string", c.msg)
		})
	}
}

func TestEveryListPagesItsKind(t *testing.T) {
	e := newEnv(t)
	for path, key := range map[string]string{
		"/api/v2/clients":          "clients",
		"/api/v2/resource-servers": "resource_servers",
		"/api/v2/client-grants":    "client_grants",
		"/api/v2/users":            "users",
	} {
		t.Run(path, func(t *testing.T) {
			w := e.call(http.MethodGet, path+"?include_totals=true&per_page=1", nil)
			wantStatus(t, w, 200)
			got := decode[map[string]any](t, w)
			items, ok := got[key].([]any)
			if !ok || len(items) != 1 || got["limit"] != float64(1) || got["length"] != float64(1) || got["start"] != float64(0) {
				t.Errorf("envelope %v", got)
			}
			bare := decode[[]any](t, e.call(http.MethodGet, path, nil))
			if got["total"] != float64(len(bare)) {
				t.Errorf("total %v, bare list has %d", got["total"], len(bare))
			}
		})
	}
}
