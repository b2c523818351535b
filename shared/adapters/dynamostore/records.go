package dynamostore

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// The configuration items (clients, resource servers, client grants,
// users), mapped attribute by attribute like every other item of this
// package. The attribute names are the storage schema, pinned by
// testdata/items.golden: they are the Management API's names because the
// first version of this store wrote the domain types' JSON form, and they
// stay so, whatever the API's JSON becomes.

// Client attributes.
const (
	clientID           = "client_id"
	clientName         = "name"
	clientAppType      = "app_type"
	clientFirstParty   = "is_first_party"
	clientCallbacks    = "callbacks"
	clientGrantTypes   = "grant_types"
	clientAuthMethod   = "token_endpoint_auth_method"
	clientRefreshToken = "refresh_token" // a map of the rt* attributes
	attrSecret         = "sh"            // Client.SecretHash
	// Auth0 application fields, each absent when empty or false.
	clientAllowedOrigins = "allowed_origins"
	clientWebOrigins     = "web_origins"
	clientLogoutURLs     = "allowed_logout_urls"
	clientDescription    = "description"
	clientLogoURI        = "logo_uri"
	clientInitiateLogin  = "initiate_login_uri"
	clientCrossOrigin    = "cross_origin_authentication"
	clientOIDCConformant = "oidc_conformant"
	clientSSODisabled    = "sso_disabled"
	clientRequirePoP     = "require_proof_of_possession"
	clientAuthMethods    = "client_authentication_methods" // a map: pkjMethod → map: pkjCredentials → list of maps
	pkjMethod            = "private_key_jwt"
	pkjCredentials       = "credentials"
	credID               = "id"
	credName             = "name"
	credType             = "credential_type"
	credPEM              = "pem"
	credAlg              = "alg"
	credCreated          = "created_at" // milliseconds, absent when zero
	credUpdated          = "updated_at"
	credExpires          = "expires_at"
	clientCredentials    = "client_credentials" // a list of maps: the cred* attributes
	clientJWTConfig      = "jwt_configuration"  // a map: jwtAlg
	jwtAlg               = "alg"

	rtRotation     = "rotation_type"
	rtExpiration   = "expiration_type"
	rtLeeway       = "leeway"
	rtLifetime     = "token_lifetime"      // absent when 0
	rtIdleLifetime = "idle_token_lifetime" // absent when 0
	rtInfinite     = "infinite_token_lifetime"
	rtInfiniteIdle = "infinite_idle_token_lifetime"
	rtPolicies     = "policies" // a list of maps: policyAudience, policyScope
	policyAudience = "audience"
	policyScope    = "scope"
)

// Resource server attributes.
const (
	apiID          = "id" // absent when empty
	apiIdentifier  = "identifier"
	apiName        = "name"
	apiScopes      = "scopes" // a list of maps: scopeValue, scopeDesc
	scopeValue     = "value"
	scopeDesc      = "description" // absent when empty
	apiLifetime    = "token_lifetime"
	apiSkipConsent = "skip_consent_for_verifiable_first_party_clients"
	apiOffline     = "allow_offline_access"
	apiSigningAlg  = "signing_alg"
	apiPoP         = "proof_of_possession" // a map: popMechanism, popRequired; absent when unset
	popMechanism   = "mechanism"
	popRequired    = "required"
	apiRBAC        = "enforce_policies" // absent when false
	apiDialect     = "token_dialect"    // absent when empty
)

// Client grant attributes.
const (
	grantID       = "id"
	grantClient   = "client_id"
	grantAudience = "audience"
	grantScope    = "scope"
)

// User attributes.
const (
	userID      = "user_id"
	userEmail   = "email"
	userName    = "name" // absent when empty
	userBlocked = "blocked"
	// Standard claims, each absent when empty or false.
	userEmailVerified = "email_verified"
	userNickname      = "nickname"
	userGivenName     = "given_name"
	userFamilyName    = "family_name"
	userPicture       = "picture"
	userUpdatedAt     = "updated_at" // RFC 3339 text, like created_at
	userCreatedAt     = "created_at" // RFC 3339 text, unlike the epoch milliseconds of other items
)

func clientRecord(c *oauth.Client) item {
	it := keyOf(pkClients, c.ClientID)
	it.setS(clientID, c.ClientID)
	it.setS(clientName, c.Name)
	it.setS(clientAppType, c.AppType)
	it.setB(clientFirstParty, c.IsFirstParty)
	it.setL(clientCallbacks, c.Callbacks)
	it.setL(clientGrantTypes, c.GrantTypes)
	it.setS(clientAuthMethod, c.TokenEndpointAuthMethod)
	rt := item{}
	cfg := c.RefreshToken
	rt.setS(rtRotation, cfg.RotationType)
	rt.setS(rtExpiration, cfg.ExpirationType)
	rt.setN(rtLeeway, int64(cfg.Leeway))
	if cfg.TokenLifetime != 0 {
		rt.setN(rtLifetime, int64(cfg.TokenLifetime))
	}
	if cfg.IdleTokenLifetime != 0 {
		rt.setN(rtIdleLifetime, int64(cfg.IdleTokenLifetime))
	}
	rt.setB(rtInfinite, cfg.InfiniteTokenLifetime)
	rt.setB(rtInfiniteIdle, cfg.InfiniteIdleTokenLifetime)
	if cfg.Policies != nil {
		ps := make([]item, len(cfg.Policies))
		for i, p := range cfg.Policies {
			ps[i] = item{}
			ps[i].setS(policyAudience, p.Audience)
			ps[i].setL(policyScope, p.Scope)
		}
		rt.setML(rtPolicies, ps)
	}
	it.setM(clientRefreshToken, rt)
	it.setS(attrSecret, c.SecretHash)
	it.setL(clientAllowedOrigins, nilIfEmpty(c.AllowedOrigins))
	it.setL(clientWebOrigins, nilIfEmpty(c.WebOrigins))
	it.setL(clientLogoutURLs, nilIfEmpty(c.AllowedLogoutURLs))
	it.setS(clientDescription, c.Description)
	it.setS(clientLogoURI, c.LogoURI)
	it.setS(clientInitiateLogin, c.InitiateLoginURI)
	it.setTrue(clientCrossOrigin, c.CrossOriginAuthentication)
	it.setTrue(clientOIDCConformant, c.OIDCConformant)
	it.setTrue(clientSSODisabled, c.SSODisabled)
	it.setTrue(clientRequirePoP, c.RequireProofOfPossession)
	if m := c.ClientAuthenticationMethods; m != nil {
		am := item{}
		if m.PrivateKeyJWT != nil {
			creds := make([]item, len(m.PrivateKeyJWT.Credentials))
			for i, cr := range m.PrivateKeyJWT.Credentials {
				creds[i] = credentialItem(cr)
			}
			pk := item{}
			pk.setML(pkjCredentials, creds)
			am.setM(pkjMethod, pk)
		}
		it.setM(clientAuthMethods, am)
	}
	if len(c.Credentials) > 0 {
		creds := make([]item, len(c.Credentials))
		for i, cr := range c.Credentials {
			creds[i] = credentialItem(cr)
		}
		it.setML(clientCredentials, creds)
	}
	if alg := c.IDTokenAlg(); alg != "" {
		jc := item{}
		jc.setS(jwtAlg, alg)
		it.setM(clientJWTConfig, jc)
	}
	return it
}

// credentialItem maps a client credential (or, in
// client_authentication_methods, a reference holding only its id).
func credentialItem(cr oauth.Credential) item {
	it := item{}
	it.setS(credID, cr.ID)
	it.setS(credName, cr.Name)
	it.setS(credType, cr.CredentialType)
	it.setS(credPEM, cr.PEM)
	it.setS(credAlg, cr.Alg)
	it.setT(credCreated, cr.CreatedAt)
	it.setT(credUpdated, cr.UpdatedAt)
	if cr.ExpiresAt != nil {
		it.setT(credExpires, *cr.ExpiresAt)
	}
	return it
}

func credentialOf(it item) oauth.Credential {
	cr := oauth.Credential{ID: it.s(credID), Name: it.s(credName), CredentialType: it.s(credType), PEM: it.s(credPEM), Alg: it.s(credAlg),
		CreatedAt: it.t(credCreated), UpdatedAt: it.t(credUpdated)}
	if t := it.t(credExpires); !t.IsZero() {
		cr.ExpiresAt = &t
	}
	return cr
}

// setTrue stores a flag only when it is set.
func (it item) setTrue(name string, v bool) {
	if v {
		it.setB(name, true)
	}
}

func nilIfEmpty(v []string) []string {
	if len(v) == 0 {
		return nil
	}
	return v
}

func clientFromRecord(it item) *oauth.Client {
	c := &oauth.Client{
		ClientID:                  it.s(clientID),
		Name:                      it.s(clientName),
		AppType:                   it.s(clientAppType),
		IsFirstParty:              it.b(clientFirstParty),
		Callbacks:                 it.l(clientCallbacks),
		GrantTypes:                it.l(clientGrantTypes),
		TokenEndpointAuthMethod:   it.s(clientAuthMethod),
		SecretHash:                it.s(attrSecret),
		AllowedOrigins:            it.l(clientAllowedOrigins),
		WebOrigins:                it.l(clientWebOrigins),
		AllowedLogoutURLs:         it.l(clientLogoutURLs),
		Description:               it.s(clientDescription),
		LogoURI:                   it.s(clientLogoURI),
		InitiateLoginURI:          it.s(clientInitiateLogin),
		CrossOriginAuthentication: it.b(clientCrossOrigin),
		OIDCConformant:            it.b(clientOIDCConformant),
		SSODisabled:               it.b(clientSSODisabled),
		RequireProofOfPossession:  it.b(clientRequirePoP),
	}
	if _, ok := it[clientAuthMethods]; ok {
		am := it.m(clientAuthMethods)
		c.ClientAuthenticationMethods = &oauth.ClientAuthenticationMethods{}
		if _, ok := am[pkjMethod]; ok {
			creds, _ := am.m(pkjMethod).ml(pkjCredentials)
			pk := &oauth.PrivateKeyJWT{Credentials: make([]oauth.Credential, len(creds))}
			for i, cr := range creds {
				pk.Credentials[i] = credentialOf(cr)
			}
			c.ClientAuthenticationMethods.PrivateKeyJWT = pk
		}
	}
	if creds, ok := it.ml(clientCredentials); ok {
		c.Credentials = make([]oauth.Credential, len(creds))
		for i, cr := range creds {
			c.Credentials[i] = credentialOf(cr)
		}
	}
	if alg := it.m(clientJWTConfig).s(jwtAlg); alg != "" {
		c.JWTConfiguration = &oauth.JWTConfiguration{Alg: alg}
	}
	rt := it.m(clientRefreshToken)
	c.RefreshToken = oauth.RefreshTokenConfig{
		RotationType:              rt.s(rtRotation),
		ExpirationType:            rt.s(rtExpiration),
		Leeway:                    int(rt.n(rtLeeway)),
		TokenLifetime:             int(rt.n(rtLifetime)),
		IdleTokenLifetime:         int(rt.n(rtIdleLifetime)),
		InfiniteTokenLifetime:     rt.b(rtInfinite),
		InfiniteIdleTokenLifetime: rt.b(rtInfiniteIdle),
	}
	if ps, ok := rt.ml(rtPolicies); ok {
		c.RefreshToken.Policies = make([]oauth.Policy, len(ps))
		for i, p := range ps {
			c.RefreshToken.Policies[i] = oauth.Policy{Audience: p.s(policyAudience), Scope: p.l(policyScope)}
		}
	}
	return c
}

func apiRecord(rs *oauth.ResourceServer) item {
	it := keyOf(pkAPIs, rs.Identifier)
	it.setS(apiID, rs.ID)
	it.setS(apiIdentifier, rs.Identifier)
	it.setS(apiName, rs.Name)
	if rs.Scopes != nil {
		scopes := make([]item, len(rs.Scopes))
		for i, s := range rs.Scopes {
			scopes[i] = item{}
			scopes[i].setS(scopeValue, s.Value)
			scopes[i].setS(scopeDesc, s.Description)
		}
		it.setML(apiScopes, scopes)
	}
	it.setN(apiLifetime, int64(rs.TokenLifetime))
	it.setB(apiSkipConsent, rs.SkipConsentForVerifiableFirstPartyClients)
	it.setB(apiOffline, rs.AllowOfflineAccess)
	it.setS(apiSigningAlg, rs.SigningAlg)
	if pop := rs.ProofOfPossession; pop != nil {
		m := item{}
		m.setS(popMechanism, pop.Mechanism)
		m.setB(popRequired, pop.Required)
		it.setM(apiPoP, m)
	}
	it.setTrue(apiRBAC, rs.EnforcePolicies)
	it.setS(apiDialect, rs.TokenDialect)
	return it
}

func apiFromRecord(it item) *oauth.ResourceServer {
	rs := &oauth.ResourceServer{
		ID:            it.s(apiID),
		Identifier:    it.s(apiIdentifier),
		Name:          it.s(apiName),
		TokenLifetime: int(it.n(apiLifetime)),
		SkipConsentForVerifiableFirstPartyClients: it.b(apiSkipConsent),
		AllowOfflineAccess:                        it.b(apiOffline),
		SigningAlg:                                it.s(apiSigningAlg),
	}
	rs.EnforcePolicies, rs.TokenDialect = it.b(apiRBAC), it.s(apiDialect)
	if _, ok := it[apiPoP]; ok {
		m := it.m(apiPoP)
		rs.ProofOfPossession = &oauth.ProofOfPossession{Mechanism: m.s(popMechanism), Required: m.b(popRequired)}
	}
	if scopes, ok := it.ml(apiScopes); ok {
		rs.Scopes = make([]oauth.Scope, len(scopes))
		for i, s := range scopes {
			rs.Scopes[i] = oauth.Scope{Value: s.s(scopeValue), Description: s.s(scopeDesc)}
		}
	}
	return rs
}

func grantRecord(g *oauth.ClientGrant, pk, sk string) item {
	it := keyOf(pk, sk)
	it.setS(grantID, g.ID)
	it.setS(grantClient, g.ClientID)
	it.setS(grantAudience, g.Audience)
	it.setL(grantScope, g.Scope)
	return it
}

func grantFromRecord(it item) *oauth.ClientGrant {
	return &oauth.ClientGrant{
		ID: it.s(grantID), ClientID: it.s(grantClient), Audience: it.s(grantAudience), Scope: it.l(grantScope),
	}
}

func userRecord(u *oauth.User) item {
	it := keyOf(pkUsers, u.UserID)
	it.setS(userID, u.UserID)
	it.setS(userEmail, u.Email)
	it.setS(userName, u.Name)
	it.setB(userBlocked, u.Blocked)
	it.setS(userCreatedAt, u.CreatedAt.Format(time.RFC3339Nano))
	it.setTrue(userEmailVerified, u.EmailVerified)
	it.setS(userNickname, u.Nickname)
	it.setS(userGivenName, u.GivenName)
	it.setS(userFamilyName, u.FamilyName)
	it.setS(userPicture, u.Picture)
	if !u.UpdatedAt.IsZero() {
		it.setS(userUpdatedAt, u.UpdatedAt.Format(time.RFC3339Nano))
	}
	it.setS(attrPassword, u.PasswordHash)
	it.setS(attrEmailKey, emailKey(u.Email))
	return it
}

func userFromRecord(it item) (*oauth.User, error) {
	u := &oauth.User{
		UserID:        it.s(userID),
		Email:         it.s(userEmail),
		Name:          it.s(userName),
		Blocked:       it.b(userBlocked),
		PasswordHash:  it.s(attrPassword),
		EmailVerified: it.b(userEmailVerified),
		Nickname:      it.s(userNickname),
		GivenName:     it.s(userGivenName),
		FamilyName:    it.s(userFamilyName),
		Picture:       it.s(userPicture),
	}
	for _, f := range []struct {
		attr string
		dst  *time.Time
	}{{userCreatedAt, &u.CreatedAt}, {userUpdatedAt, &u.UpdatedAt}} {
		if v := it.s(f.attr); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return nil, err
			}
			*f.dst = t
		}
	}
	return u, nil
}

// Nested maps and lists of maps.

func (it item) setM(name string, m item) { it[name] = &types.AttributeValueMemberM{Value: m} }

func (it item) m(name string) item {
	if v, ok := it[name].(*types.AttributeValueMemberM); ok {
		return v.Value
	}
	return item{}
}

// setML stores a list of maps; an empty list stays an empty list.
func (it item) setML(name string, ms []item) {
	l := make([]types.AttributeValue, len(ms))
	for i, m := range ms {
		l[i] = &types.AttributeValueMemberM{Value: m}
	}
	it[name] = &types.AttributeValueMemberL{Value: l}
}

// ml reads a list of maps; ok is false when the attribute is absent (or
// NULL, as the first version wrote nil lists).
func (it item) ml(name string) ([]item, bool) {
	v, ok := it[name].(*types.AttributeValueMemberL)
	if !ok {
		return nil, false
	}
	out := make([]item, 0, len(v.Value))
	for _, e := range v.Value {
		if m, ok := e.(*types.AttributeValueMemberM); ok {
			out = append(out, m.Value)
		}
	}
	return out, true
}
