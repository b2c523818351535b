package oauth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Log event type codes, Auth0's (Log Event Type Codes,
// https://auth0.com/docs/deploy-monitor/logs/log-event-type-codes), so
// that a consumer of Auth0's log streams reads ours. The two consent codes
// are this server's own: Auth0 has none for consent.
const (
	EventLoginSuccess         = "s"        // Success Login
	EventLoginFailed          = "f"        // Failed Login (a blocked user, a malformed or expired form)
	EventLoginWrongPassword   = "fp"       // Failed Login (Incorrect Password)
	EventLoginUnknownUser     = "fu"       // Failed Login (Invalid Email/Username)
	EventLoginAccountBlocked  = "limit_wc" // Blocked Account: too many failures for one account from one IP
	EventLoginIPBlocked       = "limit_mu" // Blocked IP Address: too many failures from one IP
	EventConsentGiven         = "consent_given"
	EventConsentDenied        = "consent_denied"
	EventCodeExchange         = "seacft" // Success Exchange (Authorization Code for Access Token)
	EventCodeExchangeFailed   = "feacft" // Failed Exchange (Authorization Code for Access Token)
	EventRefreshExchange      = "sertft" // Success Exchange (Refresh Token for Access Token)
	EventRefreshFailed        = "fertft" // Failed Exchange (Refresh Token for Access Token)
	EventRefreshReuse         = "ferrt"  // Failed Exchange of Rotating Refresh Token: reuse detected, family revoked
	EventClientCredentials    = "seccft" // Success Exchange (Client Credentials for Access Token)
	EventClientCredentialsBad = "feccft" // Failed Exchange (Client Credentials for Access Token)
	EventRevocation           = "srrt"   // Successful Refresh Token Revocation
	EventLogout               = "slo"    // Success Logout
	EventLogoutFailed         = "flo"    // Failed Logout
	EventAPIRead              = "mgmt_api_read"
	EventAPISuccess           = "sapi" // Success API Operation
	EventAPIFailed            = "fapi" // Failed API Operation
	EventUserDeleted          = "du"   // Deleted User
)

// EventTypes describes every type this server emits.
var EventTypes = map[string]string{
	EventLoginSuccess:         "Success Login",
	EventLoginFailed:          "Failed Login",
	EventLoginWrongPassword:   "Failed Login (Incorrect Password)",
	EventLoginUnknownUser:     "Failed Login (Invalid Email/Username)",
	EventLoginAccountBlocked:  "Blocked Account",
	EventLoginIPBlocked:       "Blocked IP Address",
	EventConsentGiven:         "Consent given",
	EventConsentDenied:        "Consent denied",
	EventCodeExchange:         "Success Exchange (Authorization Code for Access Token)",
	EventCodeExchangeFailed:   "Failed Exchange (Authorization Code for Access Token)",
	EventRefreshExchange:      "Success Exchange (Refresh Token for Access Token)",
	EventRefreshFailed:        "Failed Exchange (Refresh Token for Access Token)",
	EventRefreshReuse:         "Failed Exchange of Rotating Refresh Token (reuse detected, family revoked)",
	EventClientCredentials:    "Success Exchange (Client Credentials for Access Token)",
	EventClientCredentialsBad: "Failed Exchange (Client Credentials for Access Token)",
	EventRevocation:           "Successful Refresh Token Revocation",
	EventLogout:               "Success Logout",
	EventLogoutFailed:         "Failed Logout",
	EventAPIRead:              "Management API read operation",
	EventAPISuccess:           "Success API Operation",
	EventAPIFailed:            "Failed API Operation",
	EventUserDeleted:          "Deleted User",
}

// Event is one security-relevant outcome in the shape of an Auth0 log
// event. It never holds a secret, token, code, password or hash.
type Event struct {
	LogID       string         `json:"log_id"`
	Date        time.Time      `json:"date"`
	Type        string         `json:"type"`
	Description string         `json:"description,omitempty"`
	ClientID    string         `json:"client_id,omitempty"`
	ClientName  string         `json:"client_name,omitempty"`
	IP          string         `json:"ip,omitempty"`
	UserAgent   string         `json:"user_agent,omitempty"`
	UserID      string         `json:"user_id,omitempty"`
	UserName    string         `json:"user_name,omitempty"`
	Audience    string         `json:"audience,omitempty"`
	Scope       string         `json:"scope,omitempty"`
	Details     map[string]any `json:"details,omitempty"`
}

// EventSink receives events. Emit must not block on a remote service:
// it runs on the token and authorize hot paths.
type EventSink interface {
	Emit(ctx context.Context, e Event)
}

// EventSinkFunc is a function as an EventSink.
type EventSinkFunc func(ctx context.Context, e Event)

func (f EventSinkFunc) Emit(ctx context.Context, e Event) { f(ctx, e) }

// Sinks emits to each of its sinks in turn.
type Sinks []EventSink

func (s Sinks) Emit(ctx context.Context, e Event) {
	for _, sink := range s {
		sink.Emit(ctx, e)
	}
}

// NewLogID is a log_id for an event at date: the time in nanoseconds then
// 8 random hex digits, so ids sort by time.
func NewLogID(date time.Time, rand io.Reader) string {
	var b [4]byte
	io.ReadFull(rand, b[:])
	return fmt.Sprintf("%019d%x", date.UnixNano(), b)
}

// EventQuery selects events: each set field must match; an empty
// query selects all. Results come newest first unless Ascending.
type EventQuery struct {
	Types     []string // any of them
	UserID    string
	ClientID  string
	From, To  time.Time // From <= date < To; zero: open
	Ascending bool
	// After continues a listing: events strictly beyond this log_id in the
	// listing's order (Auth0's checkpoint paging, "from").
	After string
	Limit int // at most this many; 0: no bound beyond the reader's own
}

// Matches reports whether e is selected by q (After and Limit aside).
func (q EventQuery) Matches(e Event) bool {
	switch {
	case len(q.Types) > 0 && !slices.Contains(q.Types, e.Type):
		return false
	case q.UserID != "" && e.UserID != q.UserID:
		return false
	case q.ClientID != "" && e.ClientID != q.ClientID:
		return false
	case !q.From.IsZero() && e.Date.Before(q.From):
		return false
	case !q.To.IsZero() && !e.Date.Before(q.To):
		return false
	}
	return true
}

// Beyond reports whether e comes after the checkpoint q.After in q's order.
func (q EventQuery) Beyond(e Event) bool {
	if q.After == "" {
		return true
	}
	if q.Ascending {
		return strings.Compare(e.LogID, q.After) > 0
	}
	return strings.Compare(e.LogID, q.After) < 0
}

// ErrTooBroad is an EventLog's refusal of a query that would read more
// than it reads at once; a narrower date range answers.
var ErrTooBroad = errors.New("oauth: event query too broad")

// EventLog reads events back (the admin API's /api/v2/logs).
type EventLog interface {
	// Events returns the events q selects, in q's order, at most q.Limit.
	Events(ctx context.Context, q EventQuery) ([]Event, error)
	// Event returns one event by log_id, or ErrNotFound.
	Event(ctx context.Context, id string) (*Event, error)
}
