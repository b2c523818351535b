package policyadmin

import (
	"context"
	"errors"
	"net/http"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// clientBody is the body of POST and PATCH /api/v2/clients (Auth0's
// client_create / client_update, the members we support).
type clientBody struct {
	Name                    opt[string]           `json:"name"`
	AppType                 opt[string]           `json:"app_type"`
	IsFirstParty            opt[bool]             `json:"is_first_party"`
	Callbacks               opt[[]string]         `json:"callbacks"`
	GrantTypes              opt[[]string]         `json:"grant_types"`
	TokenEndpointAuthMethod opt[string]           `json:"token_endpoint_auth_method"`
	RefreshToken            opt[refreshTokenBody] `json:"refresh_token"`
	// Auth0 application fields (oauth.Client documents each).
	AllowedOrigins            opt[[]string]             `json:"allowed_origins"`
	WebOrigins                opt[[]string]             `json:"web_origins"`
	AllowedLogoutURLs         opt[[]string]             `json:"allowed_logout_urls"`
	Description               opt[string]               `json:"description"`
	LogoURI                   opt[string]               `json:"logo_uri"`
	InitiateLoginURI          opt[string]               `json:"initiate_login_uri"`
	CrossOriginAuthentication opt[bool]                 `json:"cross_origin_authentication"`
	OIDCConformant            opt[bool]                 `json:"oidc_conformant"`
	SSODisabled               opt[bool]                 `json:"sso_disabled"`
	RequireProofOfPossession  opt[bool]                 `json:"require_proof_of_possession"`
	ClientAuthMethods         opt[authMethodsBody]      `json:"client_authentication_methods"`
	JWTConfiguration          opt[jwtConfigurationBody] `json:"jwt_configuration"`
}

// authMethodsBody is Auth0's client_authentication_methods, with the
// private_key_jwt credentials given inline (as Auth0's client create takes
// them); each gets an id.
type authMethodsBody struct {
	PrivateKeyJWT opt[privateKeyJWTBody] `json:"private_key_jwt"`
}

type privateKeyJWTBody struct {
	Credentials opt[[]credentialBody] `json:"credentials"`
}

type credentialBody struct {
	ID             opt[string] `json:"id"`
	Name           opt[string] `json:"name"`
	CredentialType opt[string] `json:"credential_type"`
	PEM            opt[string] `json:"pem"`
	Alg            opt[string] `json:"alg"`
}

// jwtConfigurationBody is the part of Auth0's jwt_configuration that has a
// meaning here.
type jwtConfigurationBody struct {
	Alg opt[string] `json:"alg"`
}

// setFrom writes a present member onto *dst.
func setFrom[T any](dst *T, o opt[T], field string) error {
	v, ok, err := o.value(field)
	if ok {
		*dst = v
	}
	return err
}

// clientView is a client on the wire: never the secret hash, the secret only
// when it was just generated (create, rotate-secret).
type clientView struct {
	*oauth.Client
	ClientSecret string `json:"client_secret,omitempty"`
}

func viewClient(c *oauth.Client, secret string) clientView {
	if c.Callbacks == nil {
		c.Callbacks = []string{}
	}
	if c.GrantTypes == nil {
		c.GrantTypes = []string{}
	}
	return clientView{Client: c, ClientSecret: secret}
}

// apply writes the members present in b onto c. create marks a POST, where
// name is required and refresh_token, when given, must name both types.
func (b *clientBody) apply(c *oauth.Client, create bool) error {
	if create && !b.Name.Set {
		return invalidBody("name", "is required")
	}
	if v, ok, err := b.Name.value("name"); err != nil {
		return err
	} else if ok {
		c.Name = v
	}
	if v, ok, err := b.AppType.value("app_type"); err != nil {
		return err
	} else if ok {
		c.AppType = v
	}
	if v, ok, err := b.IsFirstParty.value("is_first_party"); err != nil {
		return err
	} else if ok {
		c.IsFirstParty = v
	}
	if v, ok, err := b.Callbacks.value("callbacks"); err != nil {
		return err
	} else if ok {
		c.Callbacks = v
	}
	if v, ok, err := b.GrantTypes.value("grant_types"); err != nil {
		return err
	} else if ok {
		c.GrantTypes = v
	}
	if v, ok, err := b.TokenEndpointAuthMethod.value("token_endpoint_auth_method"); err != nil {
		return err
	} else if ok {
		c.TokenEndpointAuthMethod = v
	}
	for _, err := range []error{
		setFrom(&c.AllowedOrigins, b.AllowedOrigins, "allowed_origins"),
		setFrom(&c.WebOrigins, b.WebOrigins, "web_origins"),
		setFrom(&c.AllowedLogoutURLs, b.AllowedLogoutURLs, "allowed_logout_urls"),
		setFrom(&c.Description, b.Description, "description"),
		setFrom(&c.LogoURI, b.LogoURI, "logo_uri"),
		setFrom(&c.InitiateLoginURI, b.InitiateLoginURI, "initiate_login_uri"),
		setFrom(&c.CrossOriginAuthentication, b.CrossOriginAuthentication, "cross_origin_authentication"),
		setFrom(&c.OIDCConformant, b.OIDCConformant, "oidc_conformant"),
		setFrom(&c.SSODisabled, b.SSODisabled, "sso_disabled"),
		setFrom(&c.RequireProofOfPossession, b.RequireProofOfPossession, "require_proof_of_possession"),
	} {
		if err != nil {
			return err
		}
	}
	switch am := b.ClientAuthMethods; {
	case am.Null:
		c.ClientAuthenticationMethods = nil
	case am.Set:
		m := &oauth.ClientAuthenticationMethods{}
		if pk, ok, err := am.V.PrivateKeyJWT.value("client_authentication_methods.private_key_jwt"); err != nil {
			return err
		} else if ok {
			creds, _, err := pk.Credentials.value("client_authentication_methods.private_key_jwt.credentials")
			if err != nil {
				return err
			}
			m.PrivateKeyJWT = &oauth.PrivateKeyJWT{Credentials: make([]oauth.Credential, len(creds))}
			for i, cb := range creds {
				cr := &m.PrivateKeyJWT.Credentials[i]
				for _, f := range []struct {
					dst *string
					o   opt[string]
				}{{&cr.ID, cb.ID}, {&cr.Name, cb.Name}, {&cr.CredentialType, cb.CredentialType}, {&cr.PEM, cb.PEM}, {&cr.Alg, cb.Alg}} {
					if err := setFrom(f.dst, f.o, "client_authentication_methods.private_key_jwt.credentials"); err != nil {
						return err
					}
				}
			}
		}
		c.ClientAuthenticationMethods = m
	}
	if jc, ok, err := b.JWTConfiguration.value("jwt_configuration"); err != nil {
		return err
	} else if ok {
		alg, _, err := jc.Alg.value("jwt_configuration.alg")
		if err != nil {
			return err
		}
		c.JWTConfiguration = &oauth.JWTConfiguration{Alg: alg}
	}
	if create {
		refresh := c.RefreshToken
		c.ApplyDefaults()
		c.RefreshToken = refresh
	}
	// The refresh-token defaults depend on the (new) auth method.
	switch body := b.RefreshToken; {
	case create && (!body.Set || body.Null), !create && body.Null:
		c.RefreshToken = oauth.DefaultRefreshConfig(c.IsPublic())
	case body.Set:
		if create {
			// Auth0's schema defaults: finite lifetimes unless said otherwise.
			c.RefreshToken = oauth.RefreshTokenConfig{}
		}
		if err := body.V.apply(&c.RefreshToken, create); err != nil {
			return err
		}
	}
	return nil
}

// adoptCredentials makes credentials given in full in
// client_authentication_methods credentials of the client (Auth0's client
// create takes them so), named there by id.
func (a *api) adoptCredentials(c *oauth.Client) error {
	return checked(c.AdoptInlineCredentials(a.d.Now(), func() (string, error) { return oauth.NewID(a.d.Rand) }))
}

// validateClient checks every rule on the client as it would be stored.
// checkPolicyRefs also checks that each policy names an API that exists,
// allows skipping consent and defines the scopes; it is set when the request
// wrote the policies, so that a policy made stale by a later change of an API
// (which the token endpoint ignores) does not block unrelated updates.
func (a *api) validateClient(ctx context.Context, c *oauth.Client, checkPolicyRefs bool) error {
	if err := oauth.ValidateClient(c, a.d.Audience); err != nil {
		return checked(err)
	}
	if !checkPolicyRefs {
		return nil
	}
	return checked(oauth.ValidatePolicyRefs(c, func(aud string) (*oauth.ResourceServer, error) {
		return a.d.Store.ResourceServer(ctx, aud)
	}))
}

func (a *api) listClients(w http.ResponseWriter, r *http.Request) error {
	p, err := parsePaging(r.URL.Query())
	if err != nil {
		return err
	}
	cs, err := a.d.Store.Clients(r.Context())
	if err != nil {
		return err
	}
	views := make([]clientView, len(cs))
	for i, c := range cs {
		views[i] = viewClient(c, "")
	}
	writeList(w, p, "clients", views)
	return nil
}

func (a *api) createClient(w http.ResponseWriter, r *http.Request) error {
	var b clientBody
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	c := &oauth.Client{IsFirstParty: true}
	if err := b.apply(c, true); err != nil {
		return err
	}
	if err := a.adoptCredentials(c); err != nil {
		return err
	}
	if err := a.validateClient(r.Context(), c, true); err != nil {
		return err
	}
	id, err := oauth.NewID(a.d.Rand)
	if err != nil {
		return err
	}
	c.ClientID = id
	secret, err := a.setSecret(c)
	if err != nil {
		return err
	}
	if err := a.d.Store.CreateClient(r.Context(), c); err != nil {
		if errors.Is(err, oauth.ErrAlreadyExists) {
			return conflict("a client with this client_id already exists")
		}
		return err
	}
	writeJSON(w, http.StatusCreated, viewClient(c, secret))
	return nil
}

// setSecret gives a confidential client a fresh secret, kept only as its
// hash, and returns it; a public client has none.
func (a *api) setSecret(c *oauth.Client) (string, error) {
	if c.IsPublic() {
		c.SecretHash = ""
		return "", nil
	}
	secret, err := oauth.NewOpaque(a.d.Rand)
	if err != nil {
		return "", err
	}
	c.SecretHash = oauth.HashToken(secret)
	return secret, nil
}

func (a *api) client(ctx context.Context, id string) (*oauth.Client, error) {
	c, err := a.d.Store.Client(ctx, id)
	if errors.Is(err, oauth.ErrNotFound) {
		return nil, notFound("inexistent_client", "the client does not exist")
	}
	return c, err
}

func (a *api) getClient(w http.ResponseWriter, r *http.Request) error {
	c, err := a.client(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewClient(c, ""))
	return nil
}

// updateClient changes the members present in the body. Setting
// refresh_token.policies is how an MRRT policy is written; the token endpoint
// reads the client on every exchange, so it applies from the next one.
func (a *api) updateClient(w http.ResponseWriter, r *http.Request) error {
	var b clientBody
	if err := decodeBody(r, &b); err != nil {
		return err
	}
	c, err := a.client(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := b.apply(c, false); err != nil {
		return err
	}
	if err := a.adoptCredentials(c); err != nil {
		return err
	}
	if err := a.validateClient(r.Context(), c, b.RefreshToken.Set && b.RefreshToken.V.Policies.Set); err != nil {
		return err
	}
	// A client that became confidential gets its first secret now, shown
	// once; one that became public loses its secret.
	var secret string
	if c.IsPublic() || c.SecretHash == "" {
		if secret, err = a.setSecret(c); err != nil {
			return err
		}
	}
	if err := a.d.Store.UpdateClient(r.Context(), c); err != nil {
		if errors.Is(err, oauth.ErrNotFound) {
			return notFound("inexistent_client", "the client does not exist")
		}
		return err
	}
	writeJSON(w, http.StatusOK, viewClient(c, secret))
	return nil
}

// deleteClient removes the client and its client grants. Its refresh
// tokens stop working when the token endpoint no longer finds the client:
// at once where the deletion was served, within CONFIG_CACHE_TTL (the
// configuration cache) on other warm instances.
func (a *api) deleteClient(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	id := r.PathValue("id")
	if err := a.d.Store.DeleteClient(ctx, id); err != nil {
		if errors.Is(err, oauth.ErrNotFound) {
			return notFound("inexistent_client", "the client does not exist")
		}
		return err
	}
	if err := a.deleteGrantsWhere(ctx, func(g *oauth.ClientGrant) bool { return g.ClientID == id }); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// rotateSecret replaces a confidential client's secret. The new one works at
// once everywhere (a secret that does not match a cached client is checked
// against the store); the old one stops working at once where the rotation
// was served and within CONFIG_CACHE_TTL on other warm instances. The new
// secret is in the response and nowhere else.
func (a *api) rotateSecret(w http.ResponseWriter, r *http.Request) error {
	c, err := a.client(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if c.IsPublic() {
		return newError(http.StatusBadRequest, "invalid_body", "public clients (token_endpoint_auth_method none) have no secret")
	}
	secret, err := a.setSecret(c)
	if err != nil {
		return err
	}
	if err := a.d.Store.UpdateClient(r.Context(), c); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewClient(c, secret))
	return nil
}
