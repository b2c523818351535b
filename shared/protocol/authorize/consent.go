package authorize

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/protocol/httpx"
)

// consentFreshness is how recent a sign-in must be for the consent form to
// count as the continuation of this request's login (see serveConsent).
const consentFreshness = 10 * time.Minute

// consentNeeded reports whether the user must approve this client's access
// to the API. Only first-party clients skip it, and only for APIs that
// allow it (skip_consent_for_verifiable_first_party_clients); otherwise a
// remembered consent covering every requested scope is needed.
func (h *handler) consentNeeded(ctx context.Context, req *request, user *oauth.User) (bool, error) {
	if req.client.IsFirstParty && req.api.SkipConsentForVerifiableFirstPartyClients {
		return false, nil
	}
	c, err := h.d.Consents.Consent(ctx, user.UserID, req.client.ClientID, req.api.Identifier)
	if errors.Is(err, oauth.ErrNotFound) {
		return true, nil
	} else if err != nil {
		return false, fmt.Errorf("authorize: read consent: %w", err)
	}
	for _, s := range req.scopes {
		if !slices.Contains(c.Scopes, s) {
			return true, nil
		}
	}
	return false, nil
}

// serveConsent is POST /authorize/consent: the consent form's decision.
func (h *handler) serveConsent(w http.ResponseWriter, r *http.Request) {
	form, err := httpx.ParseForm(r)
	if err != nil {
		h.renderError(w, http.StatusBadRequest, "The consent form was malformed.")
		return
	}
	if !h.csrfOK(r, form.Get("csrf")) {
		h.renderError(w, http.StatusForbidden, "This consent form has expired or did not come from this site. Go back to the application and sign in again.")
		return
	}
	ctx := r.Context()
	req, err := h.parseRequest(ctx, form.Get("request"))
	if err != nil {
		h.fail(w, r, req, err, http.StatusSeeOther)
		return
	}
	sess, user, err := h.currentSession(r)
	if err != nil {
		h.fail(w, r, req, err, http.StatusSeeOther)
		return
	}
	// The consent page followed a login that satisfied prompt=login and
	// max_age; a sign-in of the last few minutes stands for that login, an
	// older one (a hand-made POST) does not.
	if h.loginNeeded(req, sess, sess != nil && h.d.Now().Sub(sess.AuthTime) <= consentFreshness) {
		h.renderLogin(w, r, req, http.StatusOK, "", "")
		return
	}
	switch form.Get("decision") {
	case "deny":
		h.log.LogAttrs(ctx, slog.LevelInfo, "consent denied",
			slog.String("client_id", req.client.ClientID), slog.String("user_id", user.UserID))
		h.emitConsent(r, req, oauth.EventConsentDenied, user.UserID)
		h.redirectError(w, r, req, http.StatusSeeOther, oauth.AccessDenied, "the user denied access")
	case "allow":
		if err := h.remember(ctx, req, user); err != nil {
			h.fail(w, r, req, err, http.StatusSeeOther)
			return
		}
		h.emitConsent(r, req, oauth.EventConsentGiven, user.UserID)
		h.issueCode(w, r, req, sess, user, http.StatusSeeOther)
	default:
		h.renderError(w, http.StatusBadRequest, "The consent form was malformed.")
	}
}

// remember stores the consent, adding the requested scopes to those the
// user already granted this client for this API.
func (h *handler) remember(ctx context.Context, req *request, user *oauth.User) error {
	scopes := slices.Clone(req.scopes)
	old, err := h.d.Consents.Consent(ctx, user.UserID, req.client.ClientID, req.api.Identifier)
	switch {
	case err == nil:
		scopes = old.Scopes
		for _, s := range req.scopes {
			if !slices.Contains(scopes, s) {
				scopes = append(scopes, s)
			}
		}
	case !errors.Is(err, oauth.ErrNotFound):
		return fmt.Errorf("authorize: read consent: %w", err)
	}
	err = h.d.Consents.PutConsent(ctx, &oauth.Consent{
		UserID:    user.UserID,
		ClientID:  req.client.ClientID,
		Audience:  req.api.Identifier,
		Scopes:    scopes,
		GrantedAt: h.d.Now(),
	})
	if err != nil {
		return fmt.Errorf("authorize: store consent: %w", err)
	}
	return nil
}
