package policyadmin

import (
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// The log routes, in the shapes of Auth0's Management API
// (https://auth0.com/docs/api/management/v2/logs/get-logs): page/per_page
// paging (with include_totals), checkpoint paging (from and take), sort
// by date, and q, of which the Lucene subset this server can answer
// honestly: terms on type, user_id, client_id and a date range, joined by
// AND. Anything else in q, and fields/include_fields, is refused with 400.

// maxLogWindow bounds page paging, as Auth0 does: page*per_page+per_page
// at most 1000; beyond it, use checkpoint paging.
const maxLogWindow = 1000

// maxTake bounds checkpoint paging's take.
const maxTake = 100

func (a *api) listLogs(w http.ResponseWriter, r *http.Request) error {
	q, err := parseLogQuery(r.URL.Query())
	if err != nil {
		return err
	}
	return a.writeLogs(w, r, q)
}

func (a *api) listUserLogs(w http.ResponseWriter, r *http.Request) error {
	v := r.URL.Query()
	for _, name := range []string{"q", "from", "take"} {
		if v.Has(name) {
			return invalidQuery(name, "is not a parameter of a user's logs")
		}
	}
	q, err := parseLogQuery(v)
	if err != nil {
		return err
	}
	q.query.UserID = r.PathValue("id")
	return a.writeLogs(w, r, q)
}

func (a *api) getLog(w http.ResponseWriter, r *http.Request) error {
	if a.d.Logs == nil {
		return notFound("inexistent_log", "no log event has this id")
	}
	e, err := a.d.Logs.Event(r.Context(), r.PathValue("id"))
	if errors.Is(err, oauth.ErrNotFound) {
		return notFound("inexistent_log", "no log event has this id")
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, e)
	return nil
}

// logQuery is a parsed listing request.
type logQuery struct {
	query      oauth.EventQuery
	paging     paging
	checkpoint bool // from/take: the items as they come, no envelope
}

func (a *api) writeLogs(w http.ResponseWriter, r *http.Request, q logQuery) error {
	events := []oauth.Event{}
	if a.d.Logs != nil {
		var err error
		switch events, err = a.d.Logs.Events(r.Context(), q.query); {
		case errors.Is(err, oauth.ErrTooBroad):
			return invalidQuery("q", "matches more events than are read at once: narrow it with a date range")
		case err != nil:
			return err
		}
	}
	if q.checkpoint {
		writeJSON(w, http.StatusOK, events)
		return nil
	}
	writeList(w, q.paging, "logs", events)
	return nil
}

func parseLogQuery(v url.Values) (logQuery, error) {
	var q logQuery
	for _, name := range []string{"fields", "include_fields"} {
		if v.Has(name) {
			return q, invalidQuery(name, "is not supported: every event is returned whole")
		}
	}
	p, err := parsePaging(v)
	if err != nil {
		return q, err
	}
	q.paging = p
	switch sort, err := oneParam(v, "sort"); {
	case err != nil:
		return q, err
	case sort == "" || sort == "date:-1":
	case sort == "date:1":
		q.query.Ascending = true
	default:
		return q, invalidQuery("sort", "must be date:1 or date:-1")
	}
	if s, err := oneParam(v, "q"); err != nil {
		return q, err
	} else if err := parseLucene(s, &q.query); err != nil {
		return q, err
	}
	from, err := oneParam(v, "from")
	if err != nil {
		return q, err
	}
	take, err := intParam(v, "take", 50, 1, maxTake)
	if err != nil {
		return q, err
	}
	if from != "" || v.Has("take") {
		// Checkpoint paging: the events after from, oldest first.
		if v.Has("page") || v.Has("per_page") || v.Has("include_totals") || v.Has("sort") {
			return q, invalidQuery("from", "checkpoint paging (from, take) goes without page, per_page, include_totals and sort")
		}
		q.checkpoint, q.query.Ascending, q.query.After, q.query.Limit = true, true, from, take
		return q, nil
	}
	if (p.page+1)*p.perPage > maxLogWindow {
		return q, invalidQuery("page", "page and per_page reach at most the %d latest matches: use from and take beyond", maxLogWindow)
	}
	q.query.Limit = maxLogWindow
	return q, nil
}

var (
	luceneTerm  = regexp.MustCompile(`^(type|user_id|client_id):("([^"\\]|\\.)*"|[^\s"()\[\]{}]+)$`)
	luceneRange = regexp.MustCompile(`^date:\[(\S+) TO (\S+)\]$`)
)

// parseLucene reads the q subset: terms joined by AND, at most one per
// field (type may repeat: any of them).
func parseLucene(s string, q *oauth.EventQuery) error {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil
	}
	bad := invalidQuery("q", "supports only type:, user_id:, client_id: and date:[from TO to] terms joined by AND")
	seen := map[string]bool{}
	for _, term := range splitAnd(s) {
		if m := luceneRange.FindStringSubmatch(term); m != nil {
			if seen["date"] {
				return bad
			}
			seen["date"] = true
			var err error
			if q.From, _, err = luceneDate(m[1]); err != nil {
				return err
			}
			to, day, err := luceneDate(m[2])
			switch {
			case err != nil:
				return err
			case to.IsZero():
			case day: // the whole day, inclusive as Lucene's [ ]
				q.To = to.AddDate(0, 0, 1)
			default:
				q.To = to.Add(time.Nanosecond)
			}
			continue
		}
		m := luceneTerm.FindStringSubmatch(term)
		if m == nil {
			return bad
		}
		field, value := m[1], m[2]
		if strings.HasPrefix(value, `"`) {
			value = strings.ReplaceAll(value[1:len(value)-1], `\"`, `"`)
			value = strings.ReplaceAll(value, `\\`, `\`)
		} else {
			value = strings.ReplaceAll(value, `\|`, `|`)
		}
		switch {
		case field == "type":
			q.Types = append(q.Types, value)
		case seen[field]:
			return bad
		case field == "user_id":
			q.UserID = value
		case field == "client_id":
			q.ClientID = value
		}
		seen[field] = true
	}
	return nil
}

// splitAnd splits at " AND " outside quotes and brackets.
func splitAnd(s string) []string {
	var out []string
	depth, quoted, start := 0, false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '[':
			depth++
		case c == ']':
			depth--
		case depth == 0 && strings.HasPrefix(s[i:], " AND "):
			out = append(out, strings.TrimSpace(s[start:i]))
			start = i + len(" AND ")
			i = start - 1
		}
	}
	return append(out, strings.TrimSpace(s[start:]))
}

// luceneDate reads a range bound: * (open), an RFC 3339 time, or a date
// (day true).
func luceneDate(s string) (t time.Time, day bool, err error) {
	if s == "*" {
		return time.Time{}, false, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, false, nil
	}
	if t, err := time.Parse("2006-01-02", s); err == nil {
		return t, true, nil
	}
	return time.Time{}, false, invalidQuery("q", "date %q: want * or an RFC 3339 time or a date (2006-01-02)", s)
}
