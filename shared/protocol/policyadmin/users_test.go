package policyadmin

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/crypto/password"
)

func TestUserValidation(t *testing.T) {
	const post, patch = "POST", "PATCH"
	const users = "/api/v2/users"
	u := users + "/" + url.PathEscape(exUserID)
	runValidation(t, []validationCase{
		{"a user without email is refused", post, users, `{"password":"long enough"}`, 0, "email: is required"},
		{"a user without password is refused", post, users, `{"email":"a@example.com"}`, 0, "password: is required"},
		{"a malformed email is refused", post, users, `{"email":"not-an-email","password":"long enough"}`, 0, "email: must be an email address"},
		{"an email with a display name is refused", post, users, `{"email":"Jane <jane@example.com>","password":"long enough"}`, 0, "email: must be an email address"},
		{"an email over 254 characters is refused", post, users, `{"email":"` + strings.Repeat("a", 250) + `@example.com","password":"long enough"}`, 0, "email: must be an email address"},
		{"a password under 8 characters is refused", post, users, `{"email":"a@example.com","password":"short"}`, 0, "password: must have at least 8 characters"},
		{"a password over 1024 bytes is refused", post, users, `{"email":"a@example.com","password":"` + strings.Repeat("p", 1025) + `"}`, 0, "password: must have at most 1024 bytes"},
		{"another connection is refused", post, users, `{"email":"a@example.com","password":"long enough","connection":"google-oauth2"}`, 0, `connection: must be "Username-Password-Authentication"`},
		{"a name over 300 characters is refused", post, users, `{"email":"a@example.com","password":"long enough","name":"` + strings.Repeat("n", 301) + `"}`, 0, "name: must have at most 300"},
		{"an email taken in another case is a conflict", post, users, `{"email":"USER@example.com","password":"long enough"}`, 409, `"errorCode":"conflict"`},
		{"an email_verified member is accepted (an OIDC standard claim)", post, users, `{"email":"a@example.com","password":"long enough","email_verified":true,"nickname":"a","given_name":"A","family_name":"B","picture":"https://example.com/a.png"}`, 201, ""},
		{"an unknown member is refused, named", post, users, `{"email":"b@example.com","password":"long enough","app_metadata":{}}`, 0, "app_metadata: unknown field"},
		{"a null blocked is refused", patch, u, `{"blocked":null}`, 0, "blocked: must not be null"},
		{"a short new password is refused", patch, u, `{"password":"short"}`, 0, "password: must have at least 8 characters"},
		{"an unknown user is not found", patch, users + "/auth0%7Cnope", `{"blocked":true}`, 404, "inexistent_user"},
	})
}

func TestUserCreateNeverShowsThePassword(t *testing.T) {
	e := newEnv(t)
	const pw = "correct horse battery staple"
	w := e.call(http.MethodPost, "/api/v2/users", `{"email":"jane@example.com","password":"`+pw+`","name":"Jane"}`)
	wantStatus(t, w, http.StatusCreated)
	got := decode[map[string]any](t, w)
	id, _ := got["user_id"].(string)
	if !strings.HasPrefix(id, "auth0|") || got["created_at"] != testStart.Format("2006-01-02T15:04:05Z") || got["blocked"] != false {
		t.Errorf("created user %v", got)
	}
	stored, err := e.store.User(context.Background(), id)
	must(t, err)
	if ok, err := password.Verify(stored.PasswordHash, pw); err != nil || !ok {
		t.Errorf("the stored hash does not verify the password: %v", err)
	}
	for _, r := range []string{w.Body.String(), e.call(http.MethodGet, "/api/v2/users/"+url.PathEscape(id), nil).Body.String(),
		e.call(http.MethodGet, "/api/v2/users", nil).Body.String(), e.logs.String()} {
		if strings.Contains(r, pw) || strings.Contains(r, stored.PasswordHash) || strings.Contains(r, "argon2") || strings.Contains(r, "password") {
			t.Errorf("password or hash shown: %s", r)
		}
	}
}

func TestUserPatch(t *testing.T) {
	t.Run("a new password replaces the hash", func(t *testing.T) {
		e := newEnv(t)
		wantStatus(t, e.call(http.MethodPatch, "/api/v2/users/"+url.PathEscape(exUserID), `{"password":"a brand new passphrase"}`), 200)
		u, err := e.store.User(context.Background(), exUserID)
		must(t, err)
		if ok, _ := password.Verify(u.PasswordHash, "a brand new passphrase"); !ok {
			t.Error("the new password does not verify")
		}
		if u.Email != "user@example.com" || u.Name != "Example User" {
			t.Errorf("other members changed: %+v", u)
		}
	})
	t.Run("blocking a user revokes their refresh tokens", func(t *testing.T) {
		e := newEnv(t)
		wantStatus(t, e.call(http.MethodPatch, "/api/v2/users/"+url.PathEscape(exUserID), `{"blocked":true}`), 200)
		f, err := e.store.Family(context.Background(), exFamilyID)
		must(t, err)
		if !f.Revoked || f.RevokeReason != "user blocked" {
			t.Errorf("family revoked=%v reason=%q", f.Revoked, f.RevokeReason)
		}
		// Unblocking does not bring them back.
		wantStatus(t, e.call(http.MethodPatch, "/api/v2/users/"+url.PathEscape(exUserID), `{"blocked":false}`), 200)
		if f, _ := e.store.Family(context.Background(), exFamilyID); !f.Revoked {
			t.Error("unblocking restored the family")
		}
	})
	t.Run("renaming a user keeps their refresh tokens", func(t *testing.T) {
		e := newEnv(t)
		wantStatus(t, e.call(http.MethodPatch, "/api/v2/users/"+url.PathEscape(exUserID), `{"name":"New Name"}`), 200)
		if f, _ := e.store.Family(context.Background(), exFamilyID); f.Revoked {
			t.Error("the family was revoked")
		}
	})
	t.Run("an email taken by another user is a conflict", func(t *testing.T) {
		e := newEnv(t)
		must(t, e.store.CreateUser(context.Background(), &oauth.User{UserID: "auth0|other", Email: "other@example.com"}))
		wantError(t, e.call(http.MethodPatch, "/api/v2/users/"+url.PathEscape(exUserID), `{"email":"Other@example.com"}`), 409, "conflict", "")
	})
}

func TestDeleteUser(t *testing.T) {
	e := newEnv(t)
	wantStatus(t, e.call(http.MethodDelete, "/api/v2/users/"+url.PathEscape(exUserID), nil), 204)
	wantError(t, e.call(http.MethodGet, "/api/v2/users/"+url.PathEscape(exUserID), nil), 404, "inexistent_user", "")
	f, err := e.store.Family(context.Background(), exFamilyID)
	must(t, err)
	if !f.Revoked || f.RevokeReason != "user deleted" {
		t.Errorf("family revoked=%v reason=%q", f.Revoked, f.RevokeReason)
	}
	wantError(t, e.call(http.MethodDelete, "/api/v2/users/"+url.PathEscape(exUserID), nil), 404, "inexistent_user", "")
}
