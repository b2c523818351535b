package policyadmin

import (
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// A client's credentials, in the paths and shapes of Auth0's Management
// API (/api/v2/clients/{id}/credentials): public keys for private_key_jwt.
// A credential created here is not used until the client's
// client_authentication_methods.private_key_jwt.credentials names it by id
// (PATCH the client), which is how a key is rotated without downtime:
// create the new one, name both, then drop the old one.
// https://auth0.com/docs/api/management/v2/clients/post-credentials

// credentialView is a credential as Auth0 shows it: without the key.
type credentialView struct {
	ID             string     `json:"id"`
	Name           string     `json:"name"`
	CredentialType string     `json:"credential_type"`
	Alg            string     `json:"alg"`
	CreatedAt      *time.Time `json:"created_at,omitempty"`
	UpdatedAt      *time.Time `json:"updated_at,omitempty"`
	ExpiresAt      *time.Time `json:"expires_at,omitempty"`
}

func viewCredential(cr oauth.Credential) credentialView {
	v := credentialView{ID: cr.ID, Name: cr.Name, CredentialType: cr.CredentialType, Alg: cr.Alg, ExpiresAt: cr.ExpiresAt}
	if !cr.CreatedAt.IsZero() {
		v.CreatedAt = &cr.CreatedAt
	}
	if !cr.UpdatedAt.IsZero() {
		v.UpdatedAt = &cr.UpdatedAt
	}
	return v
}

// credentialCreateBody is Auth0's body for a public_key credential.
type credentialCreateBody struct {
	CredentialType      opt[string] `json:"credential_type"`
	Name                opt[string] `json:"name"`
	PEM                 opt[string] `json:"pem"`
	Alg                 opt[string] `json:"alg"`
	ParseExpiryFromCert opt[bool]   `json:"parse_expiry_from_cert"`
	ExpiresAt           opt[string] `json:"expires_at"`
}

type credentialUpdateBody struct {
	ExpiresAt opt[string] `json:"expires_at"`
}

// expiresAt reads expires_at: RFC 3339, in the future; null clears it.
func (a *api) expiresAt(o opt[string]) (*time.Time, error) {
	if !o.Set || o.Null {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, o.V)
	if err != nil {
		return nil, invalidBody("expires_at", "must be an RFC 3339 date-time")
	}
	if !t.After(a.d.Now()) {
		return nil, invalidBody("expires_at", "must be in the future")
	}
	t = t.UTC()
	return &t, nil
}

func (a *api) listCredentials(w http.ResponseWriter, r *http.Request) error {
	c, err := a.client(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	views := make([]credentialView, len(c.Credentials))
	for i, cr := range c.Credentials {
		views[i] = viewCredential(cr)
	}
	writeJSON(w, http.StatusOK, views)
	return nil
}

func (a *api) createCredential(w http.ResponseWriter, r *http.Request) error {
	var b credentialCreateBody
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	cr := oauth.Credential{Alg: oauth.AlgRS256} // Auth0's default
	for _, f := range []struct {
		dst  *string
		o    opt[string]
		name string
	}{{&cr.CredentialType, b.CredentialType, "credential_type"}, {&cr.Name, b.Name, "name"}, {&cr.PEM, b.PEM, "pem"}, {&cr.Alg, b.Alg, "alg"}} {
		if err := setFrom(f.dst, f.o, f.name); err != nil {
			return err
		}
	}
	switch {
	case !b.CredentialType.Set:
		return invalidBody("credential_type", "is required")
	case cr.CredentialType != "public_key":
		// x509_cert and cert_subject_dn are for mTLS, which this server does not do.
		return invalidBody("credential_type", "must be public_key")
	case !b.PEM.Set:
		return invalidBody("pem", "is required")
	case b.ParseExpiryFromCert.Set && b.ParseExpiryFromCert.V:
		return invalidBody("parse_expiry_from_cert", "is not supported: give a public key and, if it should expire, expires_at")
	}
	exp, err := a.expiresAt(b.ExpiresAt)
	if err != nil {
		return err
	}
	cr.ExpiresAt = exp
	c, err := a.client(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	id, err := oauth.NewID(a.d.Rand)
	if err != nil {
		return err
	}
	now := a.d.Now().UTC()
	cr.ID, cr.CreatedAt, cr.UpdatedAt = "cred_"+id, now, now
	if err := checked(oauth.ValidateCredentials([]oauth.Credential{cr})); err != nil {
		return err
	}
	if len(c.Credentials) >= oauth.MaxCredentials {
		return invalidBody("credential_type", "a client has at most %d credentials: delete one first", oauth.MaxCredentials)
	}
	c.Credentials = append(c.Credentials, cr)
	if err := a.saveClient(r, c); err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, viewCredential(cr))
	return nil
}

// credential returns the client of the path and the index of its
// credential.
func (a *api) credential(r *http.Request) (*oauth.Client, int, error) {
	c, err := a.client(r.Context(), r.PathValue("id"))
	if err != nil {
		return nil, 0, err
	}
	id := r.PathValue("credential_id")
	i := slices.IndexFunc(c.Credentials, func(cr oauth.Credential) bool { return cr.ID == id })
	if i < 0 {
		return nil, 0, notFound("inexistent_credential", "the client has no such credential")
	}
	return c, i, nil
}

func (a *api) getCredential(w http.ResponseWriter, r *http.Request) error {
	c, i, err := a.credential(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewCredential(c.Credentials[i]))
	return nil
}

// updateCredential changes expires_at, the one member Auth0 lets change.
func (a *api) updateCredential(w http.ResponseWriter, r *http.Request) error {
	var b credentialUpdateBody
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	exp, err := a.expiresAt(b.ExpiresAt)
	if err != nil {
		return err
	}
	c, i, err := a.credential(r)
	if err != nil {
		return err
	}
	if b.ExpiresAt.Set {
		c.Credentials[i].ExpiresAt = exp
		c.Credentials[i].UpdatedAt = a.d.Now().UTC()
		if err := a.saveClient(r, c); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, viewCredential(c.Credentials[i]))
	return nil
}

// deleteCredential removes a credential, and its name from
// client_authentication_methods; the last credential a private_key_jwt
// client authenticates with is refused (the client could no longer
// authenticate): name another first, or change the auth method.
func (a *api) deleteCredential(w http.ResponseWriter, r *http.Request) error {
	c, i, err := a.credential(r)
	if err != nil {
		return err
	}
	id := c.Credentials[i].ID
	c.Credentials = slices.Delete(c.Credentials, i, i+1)
	if m := c.ClientAuthenticationMethods; m != nil && m.PrivateKeyJWT != nil {
		m.PrivateKeyJWT.Credentials = slices.DeleteFunc(m.PrivateKeyJWT.Credentials, func(ref oauth.Credential) bool { return ref.ID == id })
		if len(m.PrivateKeyJWT.Credentials) == 0 && c.TokenEndpointAuthMethod == oauth.AuthMethodPrivateKeyJWT {
			return conflict("the client authenticates with this credential only: name another in client_authentication_methods first")
		}
	}
	if err := a.saveClient(r, c); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// saveClient validates and stores a client changed through a credential
// route.
func (a *api) saveClient(r *http.Request, c *oauth.Client) error {
	if err := a.validateClient(r.Context(), c, false); err != nil {
		return err
	}
	err := a.d.Store.UpdateClient(r.Context(), c)
	if errors.Is(err, oauth.ErrNotFound) {
		return notFound("inexistent_client", "the client does not exist")
	}
	return err
}
