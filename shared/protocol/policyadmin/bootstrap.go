package policyadmin

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// AdminAPI is the resource server of the admin API itself: it defines
// Scopes, never skips consent (so it can be in no MRRT policy) and issues no
// refresh tokens.
func AdminAPI(audience string) *oauth.ResourceServer {
	scopes := make([]oauth.Scope, len(Scopes))
	for i, s := range Scopes {
		scopes[i] = oauth.Scope{Value: s}
	}
	return &oauth.ResourceServer{
		Identifier:    audience,
		Name:          "Policy admin API",
		Scopes:        scopes,
		TokenLifetime: 3600,
		SigningAlg:    oauth.AlgRS256,
	}
}

// Admin is what Bootstrap created. Secret is the client secret in clear: the
// only copy, to be shown once.
type Admin struct {
	API    *oauth.ResourceServer
	Client *oauth.Client
	Grant  *oauth.ClientGrant
	Secret string
}

// BootstrapStore is what Bootstrap writes to.
type BootstrapStore interface {
	oauth.ResourceServerStore
	oauth.ClientStore
	oauth.ClientGrantStore
}

// Bootstrap creates the first admin: the admin API's resource server (unless
// it exists), and a confidential machine-to-machine client named name with a
// client grant for every scope of the admin API. Ids and the secret come from
// r; the store keeps only the secret's hash.
func Bootstrap(ctx context.Context, s BootstrapStore, audience, name string, r io.Reader) (*Admin, error) {
	if audience == "" {
		return nil, errors.New("policyadmin: bootstrap: empty audience")
	}
	if err := checked(oauth.CheckName("name", name)); err != nil {
		return nil, fmt.Errorf("policyadmin: bootstrap: %w", err)
	}
	rs, err := s.ResourceServer(ctx, audience)
	switch {
	case errors.Is(err, oauth.ErrNotFound):
		rs = AdminAPI(audience)
		if rs.ID, err = oauth.NewID(r); err != nil {
			return nil, err
		}
		if err := s.CreateResourceServer(ctx, rs); err != nil {
			return nil, fmt.Errorf("policyadmin: bootstrap: create the admin API: %w", err)
		}
	case err != nil:
		return nil, fmt.Errorf("policyadmin: bootstrap: read the admin API: %w", err)
	default:
		for _, sc := range Scopes {
			if !rs.HasScope(sc) {
				return nil, fmt.Errorf("policyadmin: bootstrap: the existing admin API %q does not define %q", audience, sc)
			}
		}
	}
	id, err := oauth.NewID(r)
	if err != nil {
		return nil, err
	}
	secret, err := oauth.NewOpaque(r)
	if err != nil {
		return nil, err
	}
	c := &oauth.Client{
		ClientID:                id,
		Name:                    name,
		AppType:                 oauth.AppTypeNonInteractive,
		IsFirstParty:            true,
		Callbacks:               []string{},
		GrantTypes:              []string{oauth.GrantTypeClientCredentials},
		TokenEndpointAuthMethod: oauth.AuthMethodClientSecretPost,
		RefreshToken:            oauth.DefaultRefreshConfig(false),
		SecretHash:              oauth.HashToken(secret),
	}
	if err := s.CreateClient(ctx, c); err != nil {
		return nil, fmt.Errorf("policyadmin: bootstrap: create the client: %w", err)
	}
	gid, err := oauth.NewID(r)
	if err != nil {
		return nil, err
	}
	g := &oauth.ClientGrant{ID: "cgr_" + gid, ClientID: c.ClientID, Audience: audience, Scope: append([]string(nil), Scopes...)}
	if err := s.CreateClientGrant(ctx, g); err != nil {
		return nil, fmt.Errorf("policyadmin: bootstrap: create the client grant: %w", err)
	}
	return &Admin{API: rs, Client: c, Grant: g, Secret: secret}, nil
}
