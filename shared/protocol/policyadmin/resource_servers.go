package policyadmin

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// apiBody is the body of POST and PATCH /api/v2/resource-servers.
type apiBody struct {
	Identifier                                opt[string]      `json:"identifier"`
	Name                                      opt[string]      `json:"name"`
	Scopes                                    opt[[]scopeBody] `json:"scopes"`
	TokenLifetime                             opt[int]         `json:"token_lifetime"`
	SkipConsentForVerifiableFirstPartyClients opt[bool]        `json:"skip_consent_for_verifiable_first_party_clients"`
	AllowOfflineAccess                        opt[bool]        `json:"allow_offline_access"`
	SigningAlg                                opt[string]      `json:"signing_alg"`
	ProofOfPossession                         opt[popBody]     `json:"proof_of_possession"`
	EnforcePolicies                           opt[bool]        `json:"enforce_policies"`
	TokenDialect                              opt[string]      `json:"token_dialect"`
}

// popBody is Auth0's proof_of_possession.
type popBody struct {
	Mechanism opt[string] `json:"mechanism"`
	Required  opt[bool]   `json:"required"`
}

type scopeBody struct {
	Value       opt[string] `json:"value"`
	Description opt[string] `json:"description"`
}

func viewAPI(rs *oauth.ResourceServer) *oauth.ResourceServer {
	if rs.Scopes == nil {
		rs.Scopes = []oauth.Scope{}
	}
	return rs
}

func (b *apiBody) apply(rs *oauth.ResourceServer, create bool) error {
	if v, ok, err := b.Identifier.value("identifier"); err != nil {
		return err
	} else if ok {
		if !create && v != rs.Identifier {
			return invalidBody("identifier", "cannot be changed")
		}
		rs.Identifier = v
	} else if create {
		return invalidBody("identifier", "is required")
	}
	if v, ok, err := b.Name.value("name"); err != nil {
		return err
	} else if ok {
		rs.Name = v
	}
	if v, ok, err := b.Scopes.value("scopes"); err != nil {
		return err
	} else if ok {
		rs.Scopes = make([]oauth.Scope, len(v))
		for i, s := range v {
			f := fmt.Sprintf("scopes[%d]", i)
			if !s.Value.Set {
				return invalidBody(f+".value", "is required")
			}
			if rs.Scopes[i].Value, _, err = s.Value.value(f + ".value"); err != nil {
				return err
			}
			if rs.Scopes[i].Description, _, err = s.Description.value(f + ".description"); err != nil {
				return err
			}
		}
	}
	if v, ok, err := b.TokenLifetime.value("token_lifetime"); err != nil {
		return err
	} else if ok {
		rs.TokenLifetime = v
	}
	if v, ok, err := b.SkipConsentForVerifiableFirstPartyClients.value("skip_consent_for_verifiable_first_party_clients"); err != nil {
		return err
	} else if ok {
		rs.SkipConsentForVerifiableFirstPartyClients = v
	}
	if v, ok, err := b.AllowOfflineAccess.value("allow_offline_access"); err != nil {
		return err
	} else if ok {
		rs.AllowOfflineAccess = v
	}
	if v, ok, err := b.SigningAlg.value("signing_alg"); err != nil {
		return err
	} else if ok {
		rs.SigningAlg = v
	}
	if err := setFrom(&rs.EnforcePolicies, b.EnforcePolicies, "enforce_policies"); err != nil {
		return err
	}
	if err := setFrom(&rs.TokenDialect, b.TokenDialect, "token_dialect"); err != nil {
		return err
	}
	switch pop := b.ProofOfPossession; {
	case pop.Null:
		rs.ProofOfPossession = nil
	case pop.Set:
		mech, _, err := pop.V.Mechanism.value("proof_of_possession.mechanism")
		if err != nil {
			return err
		}
		required, _, err := pop.V.Required.value("proof_of_possession.required")
		if err != nil {
			return err
		}
		rs.ProofOfPossession = &oauth.ProofOfPossession{Mechanism: mech, Required: required}
	}
	if create {
		if rs.Name == "" && !b.Name.Set {
			rs.Name = rs.Identifier
		}
		if !b.TokenLifetime.Set {
			rs.TokenLifetime = oauth.DefaultAPITokenLifetime
		}
		if rs.SigningAlg == "" {
			rs.SigningAlg = oauth.AlgRS256
		}
		if rs.Scopes == nil {
			rs.Scopes = []oauth.Scope{}
		}
	}
	return nil
}

func (a *api) validateAPI(rs *oauth.ResourceServer) error {
	return checked(oauth.ValidateResourceServer(rs, a.d.Audience, Scopes))
}

func (a *api) listAPIs(w http.ResponseWriter, r *http.Request) error {
	p, err := parsePaging(r.URL.Query())
	if err != nil {
		return err
	}
	rss, err := a.d.Store.ResourceServers(r.Context())
	if err != nil {
		return err
	}
	for _, rs := range rss {
		viewAPI(rs)
	}
	writeList(w, p, "resource_servers", rss)
	return nil
}

func (a *api) createAPI(w http.ResponseWriter, r *http.Request) error {
	var b apiBody
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	rs := &oauth.ResourceServer{}
	if err := b.apply(rs, true); err != nil {
		return err
	}
	if err := a.validateAPI(rs); err != nil {
		return err
	}
	id, err := oauth.NewID(a.d.Rand)
	if err != nil {
		return err
	}
	rs.ID = id
	if err := a.d.Store.CreateResourceServer(r.Context(), rs); err != nil {
		if errors.Is(err, oauth.ErrAlreadyExists) {
			return conflict("an API with the identifier %q already exists", rs.Identifier)
		}
		return err
	}
	writeJSON(w, http.StatusCreated, viewAPI(rs))
	return nil
}

// findAPI resolves {id}: the API's id, or (as Auth0 also accepts) its
// identifier, URL-encoded in the path.
func (a *api) findAPI(ctx context.Context, id string) (*oauth.ResourceServer, error) {
	rs, err := a.d.Store.ResourceServer(ctx, id)
	if err == nil || !errors.Is(err, oauth.ErrNotFound) {
		return rs, err
	}
	rss, err := a.d.Store.ResourceServers(ctx)
	if err != nil {
		return nil, err
	}
	for _, rs := range rss {
		if rs.ID != "" && rs.ID == id {
			return rs, nil
		}
	}
	return nil, notFound("inexistent_resource_server", "the API does not exist")
}

func (a *api) getAPI(w http.ResponseWriter, r *http.Request) error {
	rs, err := a.findAPI(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewAPI(rs))
	return nil
}

// updateAPI changes the members present. Removing a scope, or consent
// skipping, leaves policies and grants that name it stale; the token endpoint
// ignores what the API no longer allows, from the next exchange.
func (a *api) updateAPI(w http.ResponseWriter, r *http.Request) error {
	var b apiBody
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	rs, err := a.findAPI(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := b.apply(rs, false); err != nil {
		return err
	}
	if err := a.validateAPI(rs); err != nil {
		return err
	}
	if err := a.d.Store.UpdateResourceServer(r.Context(), rs); err != nil {
		if errors.Is(err, oauth.ErrNotFound) {
			return notFound("inexistent_resource_server", "the API does not exist")
		}
		return err
	}
	writeJSON(w, http.StatusOK, viewAPI(rs))
	return nil
}

// deleteAPI removes an API and the client grants for it. The admin API
// itself cannot be deleted.
func (a *api) deleteAPI(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	rs, err := a.findAPI(ctx, r.PathValue("id"))
	if err != nil {
		return err
	}
	if rs.Identifier == a.d.Audience {
		return newError(http.StatusBadRequest, "operation_not_supported", "the admin API cannot be deleted")
	}
	if err := a.d.Store.DeleteResourceServer(ctx, rs.Identifier); err != nil {
		if errors.Is(err, oauth.ErrNotFound) {
			return notFound("inexistent_resource_server", "the API does not exist")
		}
		return err
	}
	if err := a.deleteGrantsWhere(ctx, func(g *oauth.ClientGrant) bool { return g.Audience == rs.Identifier }); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
