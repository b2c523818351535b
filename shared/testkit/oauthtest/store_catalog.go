package oauthtest

import (
	"testing"
	"time"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// The admin-managed items: clients, resource servers, client grants, users.

func storeClientCases() []storeCase {
	clientID := func(c *oauth.Client) string { return c.ClientID }
	return []storeCase{
		{"created client reads back equal, secret hash and policies included", func(t *testing.T, s oauth.Store) {
			want := storeClient("client-1")
			storeMust(t, "CreateClient", s.CreateClient(t.Context(), storeClient("client-1")))
			got, err := s.Client(t.Context(), "client-1")
			storeMust(t, "Client", err)
			storeDiff(t, "client", want, got)
		}},
		{"nil policies read back as nil", func(t *testing.T, s oauth.Store) {
			c := storeClient("client-1")
			c.RefreshToken.Policies = nil
			storeMust(t, "CreateClient", s.CreateClient(t.Context(), c))
			got, err := s.Client(t.Context(), "client-1")
			storeMust(t, "Client", err)
			if got.RefreshToken.Policies != nil {
				t.Errorf("Policies = %#v, want nil (no MRRT policy)", got.RefreshToken.Policies)
			}
		}},
		{"empty policies read back as empty, not nil", func(t *testing.T, s oauth.Store) {
			c := storeClient("client-1")
			c.RefreshToken.Policies = []oauth.Policy{}
			storeMust(t, "CreateClient", s.CreateClient(t.Context(), c))
			got, err := s.Client(t.Context(), "client-1")
			storeMust(t, "Client", err)
			if got.RefreshToken.Policies == nil || len(got.RefreshToken.Policies) != 0 {
				t.Errorf("Policies = %#v, want an empty non-nil slice", got.RefreshToken.Policies)
			}
		}},
		{"creating an existing client id is ErrAlreadyExists and keeps the first", func(t *testing.T, s oauth.Store) {
			storeMust(t, "CreateClient", s.CreateClient(t.Context(), storeClient("client-1")))
			dup := storeClient("client-1")
			dup.Name = "Impostor"
			storeErrIs(t, "CreateClient again", s.CreateClient(t.Context(), dup), oauth.ErrAlreadyExists)
			got, err := s.Client(t.Context(), "client-1")
			storeMust(t, "Client", err)
			storeDiff(t, "client", storeClient("client-1"), got)
		}},
		{"unknown client is ErrNotFound", func(t *testing.T, s oauth.Store) {
			got, err := s.Client(t.Context(), "nope")
			storeErrIs(t, "Client", err, oauth.ErrNotFound)
			if got != nil {
				t.Errorf("Client returned %+v with the error, want nil", got)
			}
		}},
		{"clients are listed sorted by client id", func(t *testing.T, s oauth.Store) {
			for _, id := range []string{"client-c", "client-a", "client-b"} {
				storeMust(t, "CreateClient", s.CreateClient(t.Context(), storeClient(id)))
			}
			list, err := s.Clients(t.Context())
			storeMust(t, "Clients", err)
			storeDiff(t, "listed ids", []string{"client-a", "client-b", "client-c"}, storeIDs(list, clientID, "client-a", "client-b", "client-c"))
			for _, c := range list {
				if c.ClientID == "client-b" {
					storeDiff(t, "listed client", storeClient("client-b"), c)
				}
			}
		}},
		{"update replaces the whole client", func(t *testing.T, s oauth.Store) {
			storeMust(t, "CreateClient", s.CreateClient(t.Context(), storeClient("client-1")))
			want := &oauth.Client{
				ClientID:                "client-1",
				Name:                    "Renamed",
				AppType:                 oauth.AppTypeSPA,
				Callbacks:               []string{"https://spa.example/cb"},
				GrantTypes:              []string{oauth.GrantTypeAuthorizationCode},
				TokenEndpointAuthMethod: oauth.AuthMethodNone,
				RefreshToken: oauth.RefreshTokenConfig{
					RotationType:   oauth.RotationNonRotating,
					ExpirationType: oauth.ExpirationNever,
				},
			}
			storeMust(t, "UpdateClient", s.UpdateClient(t.Context(), want))
			got, err := s.Client(t.Context(), "client-1")
			storeMust(t, "Client", err)
			storeDiff(t, "client", want, got)
		}},
		{"updating an unknown client is ErrNotFound and creates nothing", func(t *testing.T, s oauth.Store) {
			storeErrIs(t, "UpdateClient", s.UpdateClient(t.Context(), storeClient("client-1")), oauth.ErrNotFound)
			_, err := s.Client(t.Context(), "client-1")
			storeErrIs(t, "Client", err, oauth.ErrNotFound)
		}},
		{"deleted client is gone and deleting it again is ErrNotFound", func(t *testing.T, s oauth.Store) {
			storeMust(t, "CreateClient", s.CreateClient(t.Context(), storeClient("client-1")))
			storeMust(t, "CreateClient", s.CreateClient(t.Context(), storeClient("client-2")))
			storeMust(t, "DeleteClient", s.DeleteClient(t.Context(), "client-1"))
			_, err := s.Client(t.Context(), "client-1")
			storeErrIs(t, "Client", err, oauth.ErrNotFound)
			storeErrIs(t, "DeleteClient again", s.DeleteClient(t.Context(), "client-1"), oauth.ErrNotFound)
			if _, err := s.Client(t.Context(), "client-2"); err != nil {
				t.Errorf("other client: %v", err)
			}
		}},
		{"changing a client after create or after read does not change the stored one", func(t *testing.T, s oauth.Store) {
			in := storeClient("client-1")
			storeMust(t, "CreateClient", s.CreateClient(t.Context(), in))
			in.Callbacks[0] = "https://evil.example/cb"
			in.RefreshToken.Policies[0].Scope[0] = "admin"
			in.RefreshToken.Policies[1].Audience = "https://evil.example"
			out, err := s.Client(t.Context(), "client-1")
			storeMust(t, "Client", err)
			storeDiff(t, "client after changing the input", storeClient("client-1"), out)
			out.GrantTypes[0] = oauth.GrantTypeClientCredentials
			out.RefreshToken.Policies[1].Scope[0] = "admin"
			again, err := s.Client(t.Context(), "client-1")
			storeMust(t, "Client", err)
			storeDiff(t, "client after changing a read copy", storeClient("client-1"), again)
		}},
	}
}

func storeResourceServerCases() []storeCase {
	identifier := func(rs *oauth.ResourceServer) string { return rs.Identifier }
	const api = "https://api.one.example"
	return []storeCase{
		{"created resource server reads back equal", func(t *testing.T, s oauth.Store) {
			storeMust(t, "CreateResourceServer", s.CreateResourceServer(t.Context(), storeResourceServer(api)))
			got, err := s.ResourceServer(t.Context(), api)
			storeMust(t, "ResourceServer", err)
			storeDiff(t, "resource server", storeResourceServer(api), got)
		}},
		{"creating an existing identifier is ErrAlreadyExists and keeps the first", func(t *testing.T, s oauth.Store) {
			storeMust(t, "CreateResourceServer", s.CreateResourceServer(t.Context(), storeResourceServer(api)))
			dup := storeResourceServer(api)
			dup.Name = "Impostor"
			storeErrIs(t, "CreateResourceServer again", s.CreateResourceServer(t.Context(), dup), oauth.ErrAlreadyExists)
			got, err := s.ResourceServer(t.Context(), api)
			storeMust(t, "ResourceServer", err)
			storeDiff(t, "resource server", storeResourceServer(api), got)
		}},
		{"unknown resource server is ErrNotFound", func(t *testing.T, s oauth.Store) {
			_, err := s.ResourceServer(t.Context(), "https://nope.example")
			storeErrIs(t, "ResourceServer", err, oauth.ErrNotFound)
		}},
		{"resource servers are listed sorted by identifier", func(t *testing.T, s oauth.Store) {
			ids := []string{"https://c.example", "https://a.example", "https://b.example"}
			for _, id := range ids {
				storeMust(t, "CreateResourceServer", s.CreateResourceServer(t.Context(), storeResourceServer(id)))
			}
			list, err := s.ResourceServers(t.Context())
			storeMust(t, "ResourceServers", err)
			storeDiff(t, "listed identifiers", []string{"https://a.example", "https://b.example", "https://c.example"}, storeIDs(list, identifier, ids...))
			for _, rs := range list {
				if rs.Identifier == "https://a.example" {
					storeDiff(t, "listed resource server", storeResourceServer("https://a.example"), rs)
				}
			}
		}},
		{"update replaces the whole resource server", func(t *testing.T, s oauth.Store) {
			storeMust(t, "CreateResourceServer", s.CreateResourceServer(t.Context(), storeResourceServer(api)))
			want := &oauth.ResourceServer{
				ID:            "rs-new",
				Identifier:    api,
				Name:          "Renamed",
				Scopes:        []oauth.Scope{{Value: "admin"}},
				TokenLifetime: 60,
				SigningAlg:    oauth.AlgRS256,
			}
			storeMust(t, "UpdateResourceServer", s.UpdateResourceServer(t.Context(), want))
			got, err := s.ResourceServer(t.Context(), api)
			storeMust(t, "ResourceServer", err)
			storeDiff(t, "resource server", want, got)
		}},
		{"updating an unknown resource server is ErrNotFound and creates nothing", func(t *testing.T, s oauth.Store) {
			storeErrIs(t, "UpdateResourceServer", s.UpdateResourceServer(t.Context(), storeResourceServer(api)), oauth.ErrNotFound)
			_, err := s.ResourceServer(t.Context(), api)
			storeErrIs(t, "ResourceServer", err, oauth.ErrNotFound)
		}},
		{"deleted resource server is gone and deleting it again is ErrNotFound", func(t *testing.T, s oauth.Store) {
			storeMust(t, "CreateResourceServer", s.CreateResourceServer(t.Context(), storeResourceServer(api)))
			storeMust(t, "DeleteResourceServer", s.DeleteResourceServer(t.Context(), api))
			_, err := s.ResourceServer(t.Context(), api)
			storeErrIs(t, "ResourceServer", err, oauth.ErrNotFound)
			storeErrIs(t, "DeleteResourceServer again", s.DeleteResourceServer(t.Context(), api), oauth.ErrNotFound)
		}},
		{"changing a resource server after create or after read does not change the stored one", func(t *testing.T, s oauth.Store) {
			in := storeResourceServer(api)
			storeMust(t, "CreateResourceServer", s.CreateResourceServer(t.Context(), in))
			in.Scopes[0].Value = "admin"
			out, err := s.ResourceServer(t.Context(), api)
			storeMust(t, "ResourceServer", err)
			storeDiff(t, "resource server after changing the input", storeResourceServer(api), out)
			out.Scopes[1].Value = "admin"
			again, err := s.ResourceServer(t.Context(), api)
			storeMust(t, "ResourceServer", err)
			storeDiff(t, "resource server after changing a read copy", storeResourceServer(api), again)
		}},
	}
}

func storeClientGrantCases() []storeCase {
	grantID := func(g *oauth.ClientGrant) string { return g.ID }
	const apiA, apiB = "https://api.a.example", "https://api.b.example"
	return []storeCase{
		{"created grant reads back by id and by client and audience", func(t *testing.T, s oauth.Store) {
			storeMust(t, "CreateClientGrant", s.CreateClientGrant(t.Context(), storeClientGrant("cg-1", "client-1", apiA)))
			want := storeClientGrant("cg-1", "client-1", apiA)
			got, err := s.ClientGrant(t.Context(), "cg-1")
			storeMust(t, "ClientGrant", err)
			storeDiff(t, "grant by id", want, got)
			got, err = s.ClientGrantFor(t.Context(), "client-1", apiA)
			storeMust(t, "ClientGrantFor", err)
			storeDiff(t, "grant by client and audience", want, got)
		}},
		{"grant lookup for another audience or client is ErrNotFound", func(t *testing.T, s oauth.Store) {
			storeMust(t, "CreateClientGrant", s.CreateClientGrant(t.Context(), storeClientGrant("cg-1", "client-1", apiA)))
			_, err := s.ClientGrantFor(t.Context(), "client-1", apiB)
			storeErrIs(t, "ClientGrantFor other audience", err, oauth.ErrNotFound)
			_, err = s.ClientGrantFor(t.Context(), "client-2", apiA)
			storeErrIs(t, "ClientGrantFor other client", err, oauth.ErrNotFound)
			_, err = s.ClientGrant(t.Context(), "cg-2")
			storeErrIs(t, "ClientGrant unknown id", err, oauth.ErrNotFound)
		}},
		{"creating an existing grant id is ErrAlreadyExists and keeps the first", func(t *testing.T, s oauth.Store) {
			storeMust(t, "CreateClientGrant", s.CreateClientGrant(t.Context(), storeClientGrant("cg-1", "client-1", apiA)))
			storeErrIs(t, "CreateClientGrant same id", s.CreateClientGrant(t.Context(), storeClientGrant("cg-1", "client-2", apiB)), oauth.ErrAlreadyExists)
			got, err := s.ClientGrant(t.Context(), "cg-1")
			storeMust(t, "ClientGrant", err)
			storeDiff(t, "grant", storeClientGrant("cg-1", "client-1", apiA), got)
			_, err = s.ClientGrantFor(t.Context(), "client-2", apiB)
			storeErrIs(t, "ClientGrantFor of the rejected grant", err, oauth.ErrNotFound)
		}},
		{"a second grant for the same client and audience is ErrAlreadyExists and is not stored", func(t *testing.T, s oauth.Store) {
			storeMust(t, "CreateClientGrant", s.CreateClientGrant(t.Context(), storeClientGrant("cg-1", "client-1", apiA)))
			storeErrIs(t, "CreateClientGrant same client and audience", s.CreateClientGrant(t.Context(), storeClientGrant("cg-2", "client-1", apiA)), oauth.ErrAlreadyExists)
			_, err := s.ClientGrant(t.Context(), "cg-2")
			storeErrIs(t, "ClientGrant of the rejected grant", err, oauth.ErrNotFound)
			got, err := s.ClientGrantFor(t.Context(), "client-1", apiA)
			storeMust(t, "ClientGrantFor", err)
			if got.ID != "cg-1" {
				t.Errorf("ClientGrantFor returned grant %q, want cg-1", got.ID)
			}
		}},
		{"one client may hold grants for several audiences", func(t *testing.T, s oauth.Store) {
			storeMust(t, "CreateClientGrant", s.CreateClientGrant(t.Context(), storeClientGrant("cg-1", "client-1", apiA)))
			storeMust(t, "CreateClientGrant", s.CreateClientGrant(t.Context(), storeClientGrant("cg-2", "client-1", apiB)))
			got, err := s.ClientGrantFor(t.Context(), "client-1", apiB)
			storeMust(t, "ClientGrantFor", err)
			storeDiff(t, "grant", storeClientGrant("cg-2", "client-1", apiB), got)
		}},
		{"grants are listed sorted by id", func(t *testing.T, s oauth.Store) {
			storeMust(t, "CreateClientGrant", s.CreateClientGrant(t.Context(), storeClientGrant("cg-c", "client-1", apiA)))
			storeMust(t, "CreateClientGrant", s.CreateClientGrant(t.Context(), storeClientGrant("cg-a", "client-2", apiA)))
			storeMust(t, "CreateClientGrant", s.CreateClientGrant(t.Context(), storeClientGrant("cg-b", "client-1", apiB)))
			list, err := s.ClientGrants(t.Context())
			storeMust(t, "ClientGrants", err)
			storeDiff(t, "listed ids", []string{"cg-a", "cg-b", "cg-c"}, storeIDs(list, grantID, "cg-a", "cg-b", "cg-c"))
			for _, g := range list {
				if g.ID == "cg-b" {
					storeDiff(t, "listed grant", storeClientGrant("cg-b", "client-1", apiB), g)
				}
			}
		}},
		{"update replaces the scopes, seen by both lookups", func(t *testing.T, s oauth.Store) {
			storeMust(t, "CreateClientGrant", s.CreateClientGrant(t.Context(), storeClientGrant("cg-1", "client-1", apiA)))
			want := &oauth.ClientGrant{ID: "cg-1", ClientID: "client-1", Audience: apiA, Scope: []string{"admin"}}
			storeMust(t, "UpdateClientGrant", s.UpdateClientGrant(t.Context(), want))
			got, err := s.ClientGrant(t.Context(), "cg-1")
			storeMust(t, "ClientGrant", err)
			storeDiff(t, "grant by id", want, got)
			got, err = s.ClientGrantFor(t.Context(), "client-1", apiA)
			storeMust(t, "ClientGrantFor", err)
			storeDiff(t, "grant by client and audience", want, got)
		}},
		{"updating an unknown grant is ErrNotFound and creates nothing", func(t *testing.T, s oauth.Store) {
			storeErrIs(t, "UpdateClientGrant", s.UpdateClientGrant(t.Context(), storeClientGrant("cg-1", "client-1", apiA)), oauth.ErrNotFound)
			_, err := s.ClientGrantFor(t.Context(), "client-1", apiA)
			storeErrIs(t, "ClientGrantFor", err, oauth.ErrNotFound)
		}},
		{"deleted grant is gone from both lookups and frees its client and audience", func(t *testing.T, s oauth.Store) {
			storeMust(t, "CreateClientGrant", s.CreateClientGrant(t.Context(), storeClientGrant("cg-1", "client-1", apiA)))
			storeMust(t, "DeleteClientGrant", s.DeleteClientGrant(t.Context(), "cg-1"))
			_, err := s.ClientGrant(t.Context(), "cg-1")
			storeErrIs(t, "ClientGrant", err, oauth.ErrNotFound)
			_, err = s.ClientGrantFor(t.Context(), "client-1", apiA)
			storeErrIs(t, "ClientGrantFor", err, oauth.ErrNotFound)
			storeErrIs(t, "DeleteClientGrant again", s.DeleteClientGrant(t.Context(), "cg-1"), oauth.ErrNotFound)
			storeMust(t, "CreateClientGrant for the freed pair", s.CreateClientGrant(t.Context(), storeClientGrant("cg-2", "client-1", apiA)))
		}},
	}
}

func storeUserCases() []storeCase {
	userID := func(u *oauth.User) string { return u.UserID }
	return []storeCase{
		{"created user reads back equal by id and by email, password hash included", func(t *testing.T, s oauth.Store) {
			want := storeUser("user-1", "alice@example.com")
			storeMust(t, "CreateUser", s.CreateUser(t.Context(), storeUser("user-1", "alice@example.com")))
			got, err := s.User(t.Context(), "user-1")
			storeMust(t, "User", err)
			storeDiff(t, "user by id", want, got)
			got, err = s.UserByEmail(t.Context(), "alice@example.com")
			storeMust(t, "UserByEmail", err)
			storeDiff(t, "user by email", want, got)
		}},
		{"email lookup ignores case and returns the email as stored", func(t *testing.T, s oauth.Store) {
			storeMust(t, "CreateUser", s.CreateUser(t.Context(), storeUser("user-1", "Alice@Example.COM")))
			for _, email := range []string{"alice@example.com", "ALICE@EXAMPLE.COM", "Alice@Example.COM"} {
				got, err := s.UserByEmail(t.Context(), email)
				if err != nil {
					t.Errorf("UserByEmail(%q): %v", email, err)
					continue
				}
				storeDiff(t, "user by "+email, storeUser("user-1", "Alice@Example.COM"), got)
			}
		}},
		{"unknown user or email is ErrNotFound", func(t *testing.T, s oauth.Store) {
			storeMust(t, "CreateUser", s.CreateUser(t.Context(), storeUser("user-1", "alice@example.com")))
			_, err := s.User(t.Context(), "user-2")
			storeErrIs(t, "User", err, oauth.ErrNotFound)
			_, err = s.UserByEmail(t.Context(), "bob@example.com")
			storeErrIs(t, "UserByEmail", err, oauth.ErrNotFound)
		}},
		{"creating an existing user id is ErrAlreadyExists and keeps the first", func(t *testing.T, s oauth.Store) {
			storeMust(t, "CreateUser", s.CreateUser(t.Context(), storeUser("user-1", "alice@example.com")))
			storeErrIs(t, "CreateUser same id", s.CreateUser(t.Context(), storeUser("user-1", "bob@example.com")), oauth.ErrAlreadyExists)
			got, err := s.User(t.Context(), "user-1")
			storeMust(t, "User", err)
			storeDiff(t, "user", storeUser("user-1", "alice@example.com"), got)
			_, err = s.UserByEmail(t.Context(), "bob@example.com")
			storeErrIs(t, "UserByEmail of the rejected user", err, oauth.ErrNotFound)
		}},
		{"creating a user with a taken email in other case is ErrAlreadyExists and stores nothing", func(t *testing.T, s oauth.Store) {
			storeMust(t, "CreateUser", s.CreateUser(t.Context(), storeUser("user-1", "alice@example.com")))
			storeErrIs(t, "CreateUser same email", s.CreateUser(t.Context(), storeUser("user-2", "ALICE@example.com")), oauth.ErrAlreadyExists)
			_, err := s.User(t.Context(), "user-2")
			storeErrIs(t, "User of the rejected user", err, oauth.ErrNotFound)
			got, err := s.UserByEmail(t.Context(), "alice@example.com")
			storeMust(t, "UserByEmail", err)
			if got.UserID != "user-1" {
				t.Errorf("email belongs to %q, want user-1", got.UserID)
			}
		}},
		{"users are listed sorted by user id", func(t *testing.T, s oauth.Store) {
			storeMust(t, "CreateUser", s.CreateUser(t.Context(), storeUser("user-c", "c@example.com")))
			storeMust(t, "CreateUser", s.CreateUser(t.Context(), storeUser("user-a", "a@example.com")))
			storeMust(t, "CreateUser", s.CreateUser(t.Context(), storeUser("user-b", "b@example.com")))
			list, err := s.Users(t.Context())
			storeMust(t, "Users", err)
			storeDiff(t, "listed ids", []string{"user-a", "user-b", "user-c"}, storeIDs(list, userID, "user-a", "user-b", "user-c"))
			for _, u := range list {
				if u.UserID == "user-b" {
					storeDiff(t, "listed user", storeUser("user-b", "b@example.com"), u)
				}
			}
		}},
		{"update replaces the user and moves the email", func(t *testing.T, s oauth.Store) {
			storeMust(t, "CreateUser", s.CreateUser(t.Context(), storeUser("user-1", "alice@example.com")))
			want := &oauth.User{
				UserID:       "user-1",
				Email:        "alice@new.example",
				Name:         "Alice Renamed",
				Blocked:      true,
				PasswordHash: "$argon2id$v=19$m=65536,t=3,p=2$bmV3c2FsdG5ld3NhbHQ$bmV3aGFzaG5ld2hhc2huZXdoYXNobmV3aGFzaA",
				CreatedAt:    storeAt(-24 * time.Hour),
			}
			storeMust(t, "UpdateUser", s.UpdateUser(t.Context(), want))
			got, err := s.User(t.Context(), "user-1")
			storeMust(t, "User", err)
			storeDiff(t, "user", want, got)
			got, err = s.UserByEmail(t.Context(), "ALICE@new.example")
			storeMust(t, "UserByEmail new email", err)
			storeDiff(t, "user by new email", want, got)
			_, err = s.UserByEmail(t.Context(), "alice@example.com")
			storeErrIs(t, "UserByEmail old email", err, oauth.ErrNotFound)
			storeMust(t, "CreateUser with the freed email", s.CreateUser(t.Context(), storeUser("user-2", "alice@example.com")))
		}},
		{"update that keeps the email in other case succeeds", func(t *testing.T, s oauth.Store) {
			storeMust(t, "CreateUser", s.CreateUser(t.Context(), storeUser("user-1", "alice@example.com")))
			want := storeUser("user-1", "Alice@Example.com")
			storeMust(t, "UpdateUser", s.UpdateUser(t.Context(), want))
			got, err := s.UserByEmail(t.Context(), "alice@example.com")
			storeMust(t, "UserByEmail", err)
			storeDiff(t, "user", want, got)
		}},
		{"update to another user's email is ErrAlreadyExists and changes nothing", func(t *testing.T, s oauth.Store) {
			storeMust(t, "CreateUser", s.CreateUser(t.Context(), storeUser("user-1", "alice@example.com")))
			storeMust(t, "CreateUser", s.CreateUser(t.Context(), storeUser("user-2", "bob@example.com")))
			changed := storeUser("user-1", "BOB@example.com")
			changed.Name = "Changed"
			storeErrIs(t, "UpdateUser", s.UpdateUser(t.Context(), changed), oauth.ErrAlreadyExists)
			got, err := s.User(t.Context(), "user-1")
			storeMust(t, "User", err)
			storeDiff(t, "user-1", storeUser("user-1", "alice@example.com"), got)
			got, err = s.UserByEmail(t.Context(), "bob@example.com")
			storeMust(t, "UserByEmail", err)
			storeDiff(t, "owner of the email", storeUser("user-2", "bob@example.com"), got)
		}},
		{"updating an unknown user is ErrNotFound and creates nothing", func(t *testing.T, s oauth.Store) {
			storeErrIs(t, "UpdateUser", s.UpdateUser(t.Context(), storeUser("user-1", "alice@example.com")), oauth.ErrNotFound)
			_, err := s.UserByEmail(t.Context(), "alice@example.com")
			storeErrIs(t, "UserByEmail", err, oauth.ErrNotFound)
		}},
		{"changing a user after create or after read does not change the stored one", func(t *testing.T, s oauth.Store) {
			in := storeUser("user-1", "alice@example.com")
			storeMust(t, "CreateUser", s.CreateUser(t.Context(), in))
			in.PasswordHash, in.Blocked = "stolen", true
			out, err := s.User(t.Context(), "user-1")
			storeMust(t, "User", err)
			storeDiff(t, "user after changing the input", storeUser("user-1", "alice@example.com"), out)
			out.PasswordHash, out.Email = "stolen", "mallory@example.com"
			again, err := s.UserByEmail(t.Context(), "alice@example.com")
			storeMust(t, "UserByEmail", err)
			storeDiff(t, "user after changing a read copy", storeUser("user-1", "alice@example.com"), again)
		}},
		{"deleted user is gone by id and email, and the email can be reused", func(t *testing.T, s oauth.Store) {
			storeMust(t, "CreateUser", s.CreateUser(t.Context(), storeUser("user-1", "alice@example.com")))
			storeMust(t, "DeleteUser", s.DeleteUser(t.Context(), "user-1"))
			_, err := s.User(t.Context(), "user-1")
			storeErrIs(t, "User", err, oauth.ErrNotFound)
			_, err = s.UserByEmail(t.Context(), "alice@example.com")
			storeErrIs(t, "UserByEmail", err, oauth.ErrNotFound)
			storeErrIs(t, "DeleteUser again", s.DeleteUser(t.Context(), "user-1"), oauth.ErrNotFound)
			storeMust(t, "CreateUser with the freed email", s.CreateUser(t.Context(), storeUser("user-2", "Alice@example.com")))
		}},
	}
}
