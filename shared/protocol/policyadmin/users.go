package policyadmin

import (
	"context"
	"errors"
	"net/http"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/crypto/password"
)

// databaseConnection is the one connection users live in; Auth0 clients name
// it in "connection".
const databaseConnection = "Username-Password-Authentication"

// userBody is the body of POST and PATCH /api/v2/users.
type userBody struct {
	Email      opt[string] `json:"email"`
	Password   opt[string] `json:"password"`
	Name       opt[string] `json:"name"`
	Blocked    opt[bool]   `json:"blocked"`
	Connection opt[string] `json:"connection"`
	// OIDC standard claims (Auth0's user fields).
	EmailVerified opt[bool]   `json:"email_verified"`
	Nickname      opt[string] `json:"nickname"`
	GivenName     opt[string] `json:"given_name"`
	FamilyName    opt[string] `json:"family_name"`
	Picture       opt[string] `json:"picture"`
}

// apply writes the members present in b onto u, hashing a new password.
func (a *api) applyUser(b *userBody, u *oauth.User, create bool) error {
	if create {
		if !b.Email.Set {
			return invalidBody("email", "is required")
		}
		if !b.Password.Set {
			return invalidBody("password", "is required")
		}
	}
	if v, ok, err := b.Connection.value("connection"); err != nil {
		return err
	} else if ok && v != databaseConnection {
		return invalidBody("connection", "must be %q", databaseConnection)
	}
	if v, ok, err := b.Email.value("email"); err != nil {
		return err
	} else if ok {
		if err := oauth.CheckEmail("email", v); err != nil {
			return checked(err)
		}
		u.Email = v
	}
	if v, ok, err := b.Name.value("name"); err != nil {
		return err
	} else if ok {
		if err := oauth.CheckUserName("name", v); err != nil {
			return checked(err)
		}
		u.Name = v
	}
	if v, ok, err := b.Blocked.value("blocked"); err != nil {
		return err
	} else if ok {
		u.Blocked = v
	}
	for _, f := range []struct {
		dst   *string
		o     opt[string]
		field string
	}{{&u.Nickname, b.Nickname, "nickname"}, {&u.GivenName, b.GivenName, "given_name"}, {&u.FamilyName, b.FamilyName, "family_name"}, {&u.Picture, b.Picture, "picture"}} {
		if err := setFrom(f.dst, f.o, f.field); err != nil {
			return err
		}
		if err := oauth.CheckUserName(f.field, *f.dst); *f.dst != "" && err != nil {
			return checked(err)
		}
	}
	if err := setFrom(&u.EmailVerified, b.EmailVerified, "email_verified"); err != nil {
		return err
	}
	if v, ok, err := b.Password.value("password"); err != nil {
		return err
	} else if ok {
		if err := oauth.CheckPassword("password", v); err != nil {
			return checked(err)
		}
		hash, err := password.Hash(v, a.d.Rand)
		if err != nil {
			return err
		}
		u.PasswordHash = hash
	}
	return nil
}

func (a *api) listUsers(w http.ResponseWriter, r *http.Request) error {
	p, err := parsePaging(r.URL.Query())
	if err != nil {
		return err
	}
	us, err := a.d.Store.Users(r.Context())
	if err != nil {
		return err
	}
	writeList(w, p, "users", us)
	return nil
}

func (a *api) createUser(w http.ResponseWriter, r *http.Request) error {
	var b userBody
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	u := &oauth.User{}
	if err := a.applyUser(&b, u, true); err != nil {
		return err
	}
	id, err := oauth.NewID(a.d.Rand)
	if err != nil {
		return err
	}
	u.UserID = "auth0|" + id
	u.CreatedAt = a.d.Now().UTC()
	u.UpdatedAt = u.CreatedAt
	if err := a.d.Store.CreateUser(r.Context(), u); err != nil {
		if errors.Is(err, oauth.ErrAlreadyExists) {
			return conflict("a user with this email already exists")
		}
		return err
	}
	writeJSON(w, http.StatusCreated, u)
	return nil
}

func (a *api) user(ctx context.Context, id string) (*oauth.User, error) {
	u, err := a.d.Store.User(ctx, id)
	if errors.Is(err, oauth.ErrNotFound) {
		return nil, notFound("inexistent_user", "the user does not exist")
	}
	return u, err
}

func (a *api) getUser(w http.ResponseWriter, r *http.Request) error {
	u, err := a.user(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

// updateUser changes the members present. A "blocked" member always sets
// the user's revocation marker (oauth.UserRevocation), which every token
// commit checks, so a block reaches the next code exchange and refresh,
// including of families created while this request runs. Blocking also
// revokes every token issued before it, so unblocking does not revive
// them. The marker is written before the user on a block and after it on
// an unblock: a failure in between leaves the user unable to get tokens,
// never the reverse; repeating the request repairs it.
func (a *api) updateUser(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	var b userBody
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	u, err := a.user(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	before := *u
	if err := a.applyUser(&b, u, false); err != nil {
		return err
	}
	if *u != before {
		u.UpdatedAt = a.d.Now().UTC()
	}
	if b.Blocked.Set && u.Blocked {
		if err := a.blockTokens(ctx, u.UserID, "user blocked"); err != nil {
			return err
		}
	}
	if err := a.d.Store.UpdateUser(ctx, u); err != nil {
		switch {
		case errors.Is(err, oauth.ErrAlreadyExists):
			return conflict("a user with this email already exists")
		case errors.Is(err, oauth.ErrNotFound):
			return notFound("inexistent_user", "the user does not exist")
		}
		return err
	}
	if b.Blocked.Set && !u.Blocked {
		if err := a.d.Store.SetUserBlocked(ctx, u.UserID, false); err != nil {
			return err
		}
	}
	if b.Blocked.Set {
		noteCall(ctx, "blocked", u.Blocked)
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

// blockTokens closes the user's revocation marker, revokes every token
// issued so far, and marks the user's families revoked (so the admin API
// lists them as gone).
func (a *api) blockTokens(ctx context.Context, userID, reason string) error {
	if err := a.d.Store.SetUserBlocked(ctx, userID, true); err != nil {
		return err
	}
	return a.revokeAll(ctx, userID, reason)
}

// deleteUser blocks the user's tokens for good (the marker outlives the
// user), then removes the user.
func (a *api) deleteUser(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	u, err := a.user(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := a.blockTokens(ctx, u.UserID, "user deleted"); err != nil {
		return err
	}
	if err := a.d.Store.DeleteUser(ctx, u.UserID); err != nil {
		if errors.Is(err, oauth.ErrNotFound) {
			return notFound("inexistent_user", "the user does not exist")
		}
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
