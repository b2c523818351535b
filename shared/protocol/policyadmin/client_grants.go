package policyadmin

import (
	"context"
	"errors"
	"net/http"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// grantBody is the body of POST and PATCH /api/v2/client-grants. client_id
// and audience are fixed at creation.
type grantBody struct {
	ClientID opt[string]   `json:"client_id"`
	Audience opt[string]   `json:"audience"`
	Scope    opt[[]string] `json:"scope"`
}

func viewGrant(g *oauth.ClientGrant) *oauth.ClientGrant {
	if g.Scope == nil {
		g.Scope = []string{}
	}
	return g
}

func (a *api) listGrants(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	p, err := parsePaging(q)
	if err != nil {
		return err
	}
	clientID, err := oneParam(q, "client_id")
	if err != nil {
		return err
	}
	audience, err := oneParam(q, "audience")
	if err != nil {
		return err
	}
	gs, err := a.d.Store.ClientGrants(r.Context())
	if err != nil {
		return err
	}
	out := gs[:0]
	for _, g := range gs {
		if (clientID == "" || g.ClientID == clientID) && (audience == "" || g.Audience == audience) {
			out = append(out, viewGrant(g))
		}
	}
	writeList(w, p, "client_grants", out)
	return nil
}

func (a *api) createGrant(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	var b grantBody
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	for _, f := range []struct {
		name string
		set  bool
	}{{"client_id", b.ClientID.Set}, {"audience", b.Audience.Set}, {"scope", b.Scope.Set}} {
		if !f.set {
			return invalidBody(f.name, "is required")
		}
	}
	g := &oauth.ClientGrant{}
	var err error
	if g.ClientID, _, err = b.ClientID.value("client_id"); err != nil {
		return err
	}
	if g.Audience, _, err = b.Audience.value("audience"); err != nil {
		return err
	}
	if g.Scope, _, err = b.Scope.value("scope"); err != nil {
		return err
	}
	c, err := a.d.Store.Client(ctx, g.ClientID)
	if errors.Is(err, oauth.ErrNotFound) {
		return invalidBody("client_id", "no client has the client_id %q", g.ClientID)
	} else if err != nil {
		return err
	}
	rs, err := a.grantAPI(ctx, g.Audience)
	if err != nil {
		return err
	}
	if err := oauth.ValidateClientGrant(g, c, rs); err != nil {
		return checked(err)
	}
	if _, err := a.d.Store.ClientGrantFor(ctx, g.ClientID, g.Audience); err == nil {
		return conflict("the client already has a grant for the audience %q", g.Audience)
	} else if !errors.Is(err, oauth.ErrNotFound) {
		return err
	}
	id, err := oauth.NewID(a.d.Rand)
	if err != nil {
		return err
	}
	g.ID = "cgr_" + id
	if err := a.d.Store.CreateClientGrant(ctx, g); err != nil {
		if errors.Is(err, oauth.ErrAlreadyExists) {
			return conflict("the client already has a grant for the audience %q", g.Audience)
		}
		return err
	}
	writeJSON(w, http.StatusCreated, viewGrant(g))
	return nil
}

func (a *api) grantAPI(ctx context.Context, audience string) (*oauth.ResourceServer, error) {
	rs, err := a.d.Store.ResourceServer(ctx, audience)
	if errors.Is(err, oauth.ErrNotFound) {
		return nil, invalidBody("audience", "no API has the identifier %q", audience)
	}
	return rs, err
}

func (a *api) grant(ctx context.Context, id string) (*oauth.ClientGrant, error) {
	g, err := a.d.Store.ClientGrant(ctx, id)
	if errors.Is(err, oauth.ErrNotFound) {
		return nil, notFound("inexistent_client_grant", "the client grant does not exist")
	}
	return g, err
}

func (a *api) getGrant(w http.ResponseWriter, r *http.Request) error {
	g, err := a.grant(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewGrant(g))
	return nil
}

// updateGrant replaces the scopes of a grant; client and audience stay.
func (a *api) updateGrant(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	var b grantBody
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	g, err := a.grant(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	if v, ok, err := b.ClientID.value("client_id"); err != nil {
		return err
	} else if ok && v != g.ClientID {
		return invalidBody("client_id", "cannot be changed")
	}
	if v, ok, err := b.Audience.value("audience"); err != nil {
		return err
	} else if ok && v != g.Audience {
		return invalidBody("audience", "cannot be changed")
	}
	if v, ok, err := b.Scope.value("scope"); err != nil {
		return err
	} else if ok {
		rs, err := a.grantAPI(ctx, g.Audience)
		if err != nil {
			return err
		}
		if err := oauth.CheckScopeList("scope", v, rs); err != nil {
			return checked(err)
		}
		g.Scope = v
	}
	if err := a.d.Store.UpdateClientGrant(ctx, g); err != nil {
		if errors.Is(err, oauth.ErrNotFound) {
			return notFound("inexistent_client_grant", "the client grant does not exist")
		}
		return err
	}
	writeJSON(w, http.StatusOK, viewGrant(g))
	return nil
}

func (a *api) deleteGrant(w http.ResponseWriter, r *http.Request) error {
	if err := a.d.Store.DeleteClientGrant(r.Context(), r.PathValue("id")); err != nil {
		if errors.Is(err, oauth.ErrNotFound) {
			return notFound("inexistent_client_grant", "the client grant does not exist")
		}
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// deleteGrantsWhere deletes every client grant matching; one already gone
// (a concurrent delete) is not an error.
func (a *api) deleteGrantsWhere(ctx context.Context, match func(*oauth.ClientGrant) bool) error {
	gs, err := a.d.Store.ClientGrants(ctx)
	if err != nil {
		return err
	}
	for _, g := range gs {
		if !match(g) {
			continue
		}
		if err := a.d.Store.DeleteClientGrant(ctx, g.ID); err != nil && !errors.Is(err, oauth.ErrNotFound) {
			return err
		}
	}
	return nil
}
