// Package logevents reads the functions' log events back from CloudWatch
// Logs (FilterLogEvents), for the admin API's /api/v2/logs on AWS. The
// functions write each event as one JSON line ({"msg":"event","event":
// {...}}, see lambdahttp.EventLogger) to their log groups, so emitting an
// event costs no request; reading costs one FilterLogEvents request per
// log group and time window, on the admin path only.
//
// The JSON filter pattern sent with each request narrows the scan on
// AWS; every event returned is checked against the query again here, so
// the answer does not depend on the pattern (an emulator that ignores
// patterns, as moto does, gives the same answer).
package logevents

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// FilterAPI is the part of the CloudWatch Logs client used here.
type FilterAPI interface {
	FilterLogEvents(ctx context.Context, in *cloudwatchlogs.FilterLogEventsInput, opts ...func(*cloudwatchlogs.Options)) (*cloudwatchlogs.FilterLogEventsOutput, error)
}

// Reader is an oauth.EventLog over log groups.
type Reader struct {
	Client FilterAPI
	Groups []string // the functions' log groups
	Now    func() time.Time
	// Lookback bounds a query without a start date (default 30 days); the
	// groups' retention bounds it anyway.
	Lookback time.Duration
	// MaxPages bounds the FilterLogEvents pages read per group and window
	// (default 20, each up to 1 MB of events).
	MaxPages int
}

const (
	defaultLookback = 30 * 24 * time.Hour
	defaultMaxPages = 20
	firstWindow     = 15 * time.Minute
	// slack widens each window: a line's ingestion timestamp and its
	// event's date differ by the time it took to write it.
	slack = 2 * time.Second
)

// ErrTooMuch means a window held more events than MaxPages pages.
var ErrTooMuch = fmt.Errorf("logevents: too many events in one time window: %w", oauth.ErrTooBroad)

// Events scans time windows outward from the newest end (or, ascending,
// from the oldest), each twice as wide as the one before, until it has
// q.Limit events or has passed the query's range.
func (r *Reader) Events(ctx context.Context, q oauth.EventQuery) ([]oauth.Event, error) {
	now := r.now()
	floor := q.From
	if floor.IsZero() {
		lb := r.Lookback
		if lb <= 0 {
			lb = defaultLookback
		}
		floor = now.Add(-lb)
	}
	ceil := now.Add(time.Second)
	if !q.To.IsZero() && q.To.Before(ceil) {
		ceil = q.To
	}
	if q.After != "" {
		if t, ok := LogIDTime(q.After); ok {
			if q.Ascending && t.After(floor) {
				floor = t
			} else if !q.Ascending && t.Before(ceil) {
				ceil = t.Add(time.Nanosecond)
			}
		}
	}
	seen := map[string]bool{}
	var out []oauth.Event
	step := firstWindow
	for lo, hi := floor, ceil; lo.Before(hi); step *= 2 {
		start, end := lo, hi
		if q.Ascending {
			if end = lo.Add(step); end.After(hi) {
				end = hi
			}
			lo = end
		} else {
			if start = hi.Add(-step); start.Before(lo) {
				start = lo
			}
			hi = start
		}
		batch, err := r.window(ctx, q, start, end)
		if err != nil {
			return nil, err
		}
		slices.SortFunc(batch, func(a, b oauth.Event) int {
			if q.Ascending {
				return strings.Compare(a.LogID, b.LogID)
			}
			return strings.Compare(b.LogID, a.LogID)
		})
		for _, e := range batch {
			if seen[e.LogID] || e.Date.Before(start) || !e.Date.Before(end) {
				continue // another window's (the slack overlaps them)
			}
			seen[e.LogID] = true
			out = append(out, e)
			if q.Limit > 0 && len(out) == q.Limit {
				return out, nil
			}
		}
	}
	if out == nil {
		out = []oauth.Event{}
	}
	return out, nil
}

// Event finds one event: its log_id holds its time, so one narrow window
// per group is read.
func (r *Reader) Event(ctx context.Context, id string) (*oauth.Event, error) {
	t, ok := LogIDTime(id)
	if !ok {
		return nil, oauth.ErrNotFound
	}
	pattern := fmt.Sprintf(`{ $.msg = "event" && $.event.log_id = %s }`, quote(id))
	for _, g := range r.Groups {
		events, err := r.scan(ctx, g, pattern, t.Add(-slack), t.Add(slack))
		if err != nil {
			return nil, err
		}
		for _, e := range events {
			if e.LogID == id {
				return &e, nil
			}
		}
	}
	return nil, oauth.ErrNotFound
}

// window reads [start, end) of every group, keeping what q selects.
func (r *Reader) window(ctx context.Context, q oauth.EventQuery, start, end time.Time) ([]oauth.Event, error) {
	pattern := Pattern(q)
	var out []oauth.Event
	for _, g := range r.Groups {
		events, err := r.scan(ctx, g, pattern, start.Add(-slack), end.Add(slack))
		if err != nil {
			return nil, err
		}
		for _, e := range events {
			if q.Matches(e) && q.Beyond(e) {
				out = append(out, e)
			}
		}
	}
	return out, nil
}

// scan pages through one group's events between from and to.
func (r *Reader) scan(ctx context.Context, group, pattern string, from, to time.Time) ([]oauth.Event, error) {
	in := &cloudwatchlogs.FilterLogEventsInput{
		LogGroupName:  aws.String(group),
		FilterPattern: aws.String(pattern),
		StartTime:     aws.Int64(max(0, from.UnixMilli())),
		EndTime:       aws.Int64(to.UnixMilli()),
	}
	maxPages := r.MaxPages
	if maxPages <= 0 {
		maxPages = defaultMaxPages
	}
	var out []oauth.Event
	for page := 0; ; page++ {
		if page == maxPages {
			return nil, ErrTooMuch
		}
		resp, err := r.Client.FilterLogEvents(ctx, in)
		if err != nil {
			var notFound interface{ ErrorCode() string }
			if errors.As(err, &notFound) && notFound.ErrorCode() == "ResourceNotFoundException" {
				return out, nil // a function that never logged has no group yet
			}
			return nil, fmt.Errorf("logevents: FilterLogEvents %s: %w", group, err)
		}
		for _, le := range resp.Events {
			if e, ok := Parse(aws.ToString(le.Message)); ok {
				out = append(out, e)
			}
		}
		if resp.NextToken == nil || aws.ToString(resp.NextToken) == aws.ToString(in.NextToken) {
			return out, nil
		}
		in.NextToken = resp.NextToken
	}
}

// Parse reads an event's log line; ok is false for any other line.
func Parse(message string) (oauth.Event, bool) {
	var line struct {
		Msg   string       `json:"msg"`
		Event *oauth.Event `json:"event"`
	}
	if json.Unmarshal([]byte(strings.TrimSpace(message)), &line) != nil || line.Msg != "event" || line.Event == nil || line.Event.LogID == "" {
		return oauth.Event{}, false
	}
	return *line.Event, true
}

// Pattern is the CloudWatch Logs JSON filter pattern of q
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntax.html).
func Pattern(q oauth.EventQuery) string {
	terms := []string{`$.msg = "event"`}
	if len(q.Types) > 0 {
		var any []string
		for _, t := range q.Types {
			any = append(any, "$.event.type = "+quote(t))
		}
		terms = append(terms, "("+strings.Join(any, " || ")+")")
	}
	if q.UserID != "" {
		terms = append(terms, "$.event.user_id = "+quote(q.UserID))
	}
	if q.ClientID != "" {
		terms = append(terms, "$.event.client_id = "+quote(q.ClientID))
	}
	return "{ " + strings.Join(terms, " && ") + " }"
}

// quote writes a pattern string; characters the syntax gives a meaning
// (quotes, backslashes, wildcards) are escaped.
func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, `*`, `\*`)
	return `"` + r.Replace(s) + `"`
}

// LogIDTime reads the time an oauth.NewLogID id starts with.
func LogIDTime(id string) (time.Time, bool) {
	if len(id) < 19 {
		return time.Time{}, false
	}
	n, err := strconv.ParseInt(id[:19], 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	return time.Unix(0, n), true
}

func (r *Reader) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// FromConfig is a Reader of groups with a CloudWatch Logs client of cfg.
func FromConfig(cfg aws.Config, groups []string) *Reader {
	return &Reader{Client: cloudwatchlogs.NewFromConfig(cfg), Groups: groups}
}
