package token

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// errClientAuth is the one answer for every authentication failure, so the
// response does not tell an unknown client from a wrong secret.
func errClientAuth(cause string) error {
	return oauth.Errorf(oauth.InvalidClient, "client authentication failed").WithCause(errors.New(cause))
}

// dummyHash keeps the secret comparison for unknown clients as slow as for
// known ones.
var dummyHash = oauth.HashToken("no such client")

// authenticateClient authenticates the client with exactly the method it
// is registered with: client_secret_basic, client_secret_post or none
// (RFC 6749 §2.3.1). More than one method in a request is invalid_request
// (OAuth 2.1 §3.2.4); any failure is 401 invalid_client.
func (h *handler) authenticateClient(ctx context.Context, r *http.Request, form url.Values) (*oauth.Client, error) {
	basicID, basicSecret, usedBasic, err := basicCredentials(r)
	if err != nil {
		return nil, err
	}
	methods := 0
	method := oauth.AuthMethodNone
	if usedBasic {
		methods++
		method = oauth.AuthMethodClientSecretBasic
	}
	if form.Has("client_secret") {
		methods++
		method = oauth.AuthMethodClientSecretPost
	}
	if form.Has("client_assertion") || form.Has("client_assertion_type") {
		methods++
		method = oauth.AuthMethodPrivateKeyJWT
	}
	if methods > 1 {
		return nil, oauth.Errorf(oauth.InvalidRequest, "more than one client authentication method")
	}

	clientID, secret := form.Get("client_id"), form.Get("client_secret")
	if usedBasic {
		if clientID != "" && clientID != basicID {
			return nil, oauth.Errorf(oauth.InvalidRequest, "client_id does not match the Authorization header")
		}
		clientID, secret = basicID, basicSecret
	}
	assertion := form.Get("client_assertion")
	if method == oauth.AuthMethodPrivateKeyJWT {
		if form.Get("client_assertion_type") != assertionType || assertion == "" {
			return nil, errClientAuth("client_assertion_type must be " + assertionType)
		}
		if clientID == "" {
			clientID = assertionSubject(assertion) // verified with the client's key below
		}
	}
	if clientID == "" {
		return nil, errClientAuth("no client_id")
	}

	client, err := h.d.Clients.Client(ctx, clientID)
	if errors.Is(err, oauth.ErrNotFound) {
		oauth.VerifySecret(dummyHash, secret)
		return nil, errClientAuth("unknown client")
	}
	if err != nil {
		return nil, fmt.Errorf("token: client: %w", err)
	}
	if ok, err := h.authenticates(ctx, client, method, secret, assertion); err != nil || ok {
		return client, err
	}
	// The client may be a stale cached copy (a secret rotated, or the
	// method changed, on another instance): check once against the store
	// before refusing.
	if fresh, ok := h.d.Clients.(oauth.FreshClientReader); ok {
		client, err = fresh.FreshClient(ctx, clientID)
		if errors.Is(err, oauth.ErrNotFound) {
			return nil, errClientAuth("unknown client")
		}
		if err != nil {
			return nil, fmt.Errorf("token: client: %w", err)
		}
		if ok, err := h.authenticates(ctx, client, method, secret, assertion); err != nil || ok {
			return client, err
		}
	}
	if method != client.TokenEndpointAuthMethod {
		return nil, errClientAuth("client " + client.ClientID + " is registered for " + client.TokenEndpointAuthMethod + ", used " + method)
	}
	return nil, errClientAuth("wrong secret for client " + client.ClientID)
}

// authenticates reports whether method and secret (or assertion)
// authenticate c; err is a fault of the store (the assertion replay check).
func (h *handler) authenticates(ctx context.Context, c *oauth.Client, method, secret, assertion string) (bool, error) {
	if method != c.TokenEndpointAuthMethod {
		return false, nil
	}
	switch method {
	case oauth.AuthMethodNone:
		return true, nil
	case oauth.AuthMethodPrivateKeyJWT:
		return h.verifyAssertion(ctx, c, assertion)
	}
	return c.SecretHash != "" && oauth.VerifySecret(c.SecretHash, secret), nil
}

// basicCredentials decodes an Authorization: Basic header. RFC 6749 §2.3.1:
// the id and secret are form-urlencoded before the Base64 step.
func basicCredentials(r *http.Request) (id, secret string, ok bool, err error) {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return "", "", false, nil
	}
	scheme, payload, _ := strings.Cut(auth, " ")
	if !strings.EqualFold(scheme, "Basic") {
		return "", "", false, oauth.Errorf(oauth.InvalidRequest, "unsupported authorization scheme")
	}
	raw, derr := base64.StdEncoding.DecodeString(strings.TrimSpace(payload))
	if derr != nil {
		return "", "", true, errClientAuth("malformed basic credentials")
	}
	encID, encSecret, found := strings.Cut(string(raw), ":")
	if !found {
		return "", "", true, errClientAuth("malformed basic credentials")
	}
	id, err1 := url.QueryUnescape(encID)
	secret, err2 := url.QueryUnescape(encSecret)
	if err1 != nil || err2 != nil || id == "" {
		return "", "", true, errClientAuth("malformed basic credentials")
	}
	return id, secret, true, nil
}
