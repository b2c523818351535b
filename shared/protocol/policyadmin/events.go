package policyadmin

import (
	"context"
	"net/http"
	"strings"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/protocol/httpx"
)

// emitCall emits the event of one admin API call, as Auth0 logs its
// Management API: mgmt_api_read for a read, sapi for a change, fapi for a
// failure (refused calls included), du for a deleted user. The caller is
// the event's client; the path's user, for user routes, its user.
func (a *api) emitCall(r *http.Request, rt route, caller principal, status int) {
	typ := oauth.EventAPISuccess
	switch {
	case status >= 400:
		typ = oauth.EventAPIFailed
	case rt.pattern == "DELETE /api/v2/users/{id}":
		typ = oauth.EventUserDeleted
	case r.Method == http.MethodGet:
		typ = oauth.EventAPIRead
	}
	e := httpx.NewEvent(r, a.d.Now(), typ)
	e.Description += ": " + rt.pattern
	e.ClientID = caller.ClientID
	if strings.HasPrefix(rt.pattern, r.Method+" /api/v2/users/{id}") {
		e.UserID = r.PathValue("id")
	}
	e.Details = map[string]any{
		"request":  map[string]any{"method": r.Method, "route": rt.pattern, "id": r.PathValue("id")},
		"response": map[string]any{"statusCode": status},
	}
	notes, _ := r.Context().Value(callNotesKey{}).(callNotes)
	for k, v := range notes {
		e.Details[k] = v
	}
	if rt.pattern == "PATCH /api/v2/users/{id}" && status < 400 && notes["blocked"] == nil {
		e.Details["note"] = "user updated (neither blocked nor unblocked): see the user"
	}
	httpx.Emit(r.Context(), a.d.Events, e)
}

// callNotes are facts a route adds to its call's event details, such as
// a user's block: Auth0 has no event type of its own for an admin's
// block, so sapi carries it (details.blocked), as the user_id does the
// user.
type callNotes map[string]any

type callNotesKey struct{}

// withCallNotes gives r's route somewhere to note facts for its event.
func withCallNotes(r *http.Request) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), callNotesKey{}, callNotes{}))
}

// noteCall adds key to the current call's event details; outside an
// endpoint it does nothing.
func noteCall(ctx context.Context, key string, v any) {
	if notes, ok := ctx.Value(callNotesKey{}).(callNotes); ok {
		notes[key] = v
	}
}
