// Package token serves the token endpoint (authorization_code,
// refresh_token with Multi-Resource Refresh Tokens, client_credentials),
// token revocation (RFC 7009), the JWKS and the discovery documents.
package token

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
	"github.com/mrrt-auth/mrrt/shared/protocol/httpx"
)

// Routes are the Go 1.22 ServeMux patterns NewHandler serves.
var Routes = []string{
	"POST /oauth/token",
	"POST /oauth/revoke",
	"GET /.well-known/jwks.json",
	"GET /.well-known/openid-configuration",
	"GET /.well-known/oauth-authorization-server",
	"OPTIONS /oauth/token", // CORS preflight (cors.go)
	"OPTIONS /oauth/revoke",
	"GET /userinfo", // OIDC Core §5.3 (userinfo.go)
	"POST /userinfo",
	"OPTIONS /userinfo",
}

// Deps is what the token handler needs.
type Deps struct {
	Clients      oauth.ClientStore
	APIs         oauth.ResourceServerStore
	ClientGrants oauth.ClientGrantStore
	Codes        oauth.CodeStore
	Families     oauth.FamilyStore
	Signer       oauth.Signer
	// Users gives the ID token and /userinfo the user's standard claims;
	// nil delivers none.
	Users oauth.UserStore
	// Permissions gives APIs with RBAC (enforce_policies) the user's
	// current permissions; nil refuses tokens for such APIs.
	Permissions oauth.PermissionReader
	// Replay makes private_key_jwt assertions single-use (a jti is
	// reserved once); nil refuses private_key_jwt.
	Replay oauth.LoginThrottle
	Issuer string // e.g. "https://auth.example.com/", used byte for byte as iss
	// RefreshKey returns the server's secret (>= 32 bytes) for refresh-token
	// MACs and successor derivation; called per request, implementations cache.
	RefreshKey func(ctx context.Context) ([]byte, error)
	// PreviousRefreshKeys, when set, returns the keys RefreshKey had before
	// (a rotation's overlap): their tokens keep working, and their families
	// keep rotating under them, while new families get RefreshKey's.
	PreviousRefreshKeys func(ctx context.Context) ([][]byte, error)
	// Events receives one event per token request, revocation and reuse
	// detection (Auth0's log event shape); nil drops them.
	Events          oauth.EventSink
	IDTokenLifetime time.Duration // default 1h when zero
	Now             func() time.Time
	Rand            io.Reader
	Logger          *slog.Logger
}

const defaultIDTokenLifetime = time.Hour

type handler struct {
	d    Deps
	log  *slog.Logger
	mux  *http.ServeMux
	jwks jwksCache
	// codecs pools refresh-token codecs (refresh_token_codec.go).
	codecs sync.Pool
	// doubts remembers ambiguous writes the store could not settle, and
	// settleEvery paces their later settles (settle.go).
	doubts      doubts
	settleEvery time.Duration
	meta        []byte // the discovery document, rendered once
}

// NewHandler returns the handler for Routes. Nil Now, Rand and Logger
// default to time.Now, crypto/rand and a discarding logger; the stores,
// Signer and RefreshKey are required.
func NewHandler(d Deps) http.Handler {
	d.Now, d.Rand, d.Logger = httpx.Defaults(d.Now, d.Rand, d.Logger)
	if d.IDTokenLifetime <= 0 {
		d.IDTokenLifetime = defaultIDTokenLifetime
	}
	h := &handler{d: d, log: d.Logger, mux: http.NewServeMux(), settleEvery: settleRetryEvery}
	h.meta = h.metadata()
	h.mux.HandleFunc(Routes[0], h.serveToken)
	h.mux.HandleFunc(Routes[1], h.serveRevoke)
	h.mux.HandleFunc(Routes[2], h.serveJWKS)
	h.mux.HandleFunc(Routes[3], h.serveMetadata)
	h.mux.HandleFunc(Routes[4], h.serveMetadata)
	h.mux.HandleFunc(Routes[5], servePreflight)
	h.mux.HandleFunc(Routes[6], servePreflight)
	h.mux.HandleFunc(Routes[7], h.serveUserinfo)
	h.mux.HandleFunc(Routes[8], h.serveUserinfo)
	h.mux.HandleFunc(Routes[9], servePreflight)
	return httpx.Recover(d.Logger, nil)(cors(h.mux))
}

func (h *handler) serveToken(w http.ResponseWriter, r *http.Request) {
	x := &exchange{}
	r = r.WithContext(context.WithValue(r.Context(), exchangeKey{}, x))
	resp, err := h.token(w, r)
	h.emitExchange(r, x, resp, err)
	if err != nil {
		httpx.WriteError(w, r, h.log, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, resp)
}

// token parses the request, authenticates the client and dispatches on
// grant_type; each grant lives in its own file.
func (h *handler) token(w http.ResponseWriter, r *http.Request) (*oauth.TokenResponse, error) {
	form, err := httpx.ParseForm(r)
	if err != nil {
		return nil, err
	}
	ctx := r.Context()
	x := noted(ctx)
	x.grant, x.clientID = form.Get("grant_type"), form.Get("client_id")
	client, err := h.authenticateClient(ctx, r, form)
	if err != nil {
		return nil, err
	}
	x.clientID, x.clientName = client.ClientID, client.Name
	if err := checkOrigin(w, r, client); err != nil {
		return nil, err
	}
	if ctx, err = h.checkDPoP(ctx, w, r, ""); err != nil {
		return nil, err
	}
	if client.RequireProofOfPossession && dpopJKT(ctx) == "" {
		return nil, errDPoPRequiredByClient
	}
	switch gt := form.Get("grant_type"); gt {
	case oauth.GrantTypeAuthorizationCode:
		return h.exchangeCode(ctx, client, form)
	case oauth.GrantTypeRefreshToken:
		return h.refresh(ctx, client, form)
	case oauth.GrantTypeClientCredentials:
		return h.clientCredentials(ctx, client, form)
	case "":
		return nil, oauth.Errorf(oauth.InvalidRequest, "grant_type missing")
	default:
		return nil, oauth.Errorf(oauth.UnsupportedGrantType, "grant_type is not supported")
	}
}

// audienceParam returns the requested audience (oauth.ResourceParam, the
// rule /authorize applies too).
func audienceParam(form url.Values) (string, error) {
	return oauth.ResourceParam(form.Get("audience"), form.Get("resource"))
}

// Errors for an audience with no API, built once (they are copied by
// WithCause, never modified).
var (
	errUnknownAudience = &oauth.Error{Code: oauth.InvalidTarget, Description: "unknown audience"}
	errCodeAPIGone     = &oauth.Error{Code: oauth.InvalidGrant, Description: "the API of this authorization no longer exists"}
	errOriginAPIGone   = &oauth.Error{Code: oauth.InvalidGrant, Description: "the API of this refresh token no longer exists"}
)

// api reads the resource server for audience; notFound is returned when
// there is none. The userinfo audience is this server's own API: it needs
// no resource server in the store.
func (h *handler) api(ctx context.Context, audience string, notFound *oauth.Error) (*oauth.ResourceServer, error) {
	if audience == oauth.UserinfoAudience(h.d.Issuer) {
		return &oauth.ResourceServer{
			Identifier: audience, Name: "userinfo", AllowOfflineAccess: true,
			SkipConsentForVerifiableFirstPartyClients: true,
		}, nil
	}
	api, err := h.d.APIs.ResourceServer(ctx, audience)
	if errors.Is(err, oauth.ErrNotFound) {
		return nil, notFound.WithCause(err)
	}
	if err != nil {
		return nil, fmt.Errorf("token: resource server: %w", err)
	}
	return api, nil
}

// openRefreshToken decodes raw under the current refresh-token key, then
// under each previous one, and returns the codec of the key that opened
// it (take it back with h.codecs.Put): a token's successor is made under
// the same key, so a family stays on its key through a rotation and
// concurrent exchanges still agree on the successor. ok is false for a
// token no key opens; err is a fault fetching the keys.
func (h *handler) openRefreshToken(ctx context.Context, raw string) (c *codec, t refreshToken, ok bool, err error) {
	key, err := h.refreshKey(ctx)
	if err != nil {
		return nil, t, false, err
	}
	c = h.codecFor(key)
	if t, err = c.decode(raw); err == nil || h.d.PreviousRefreshKeys == nil {
		return c, t, err == nil, nil
	}
	previous, err := h.d.PreviousRefreshKeys(ctx)
	if err != nil {
		h.codecs.Put(c)
		return nil, t, false, fmt.Errorf("token: previous refresh keys: %w", err)
	}
	for _, k := range previous {
		if checkRefreshKey(k) != nil {
			continue
		}
		pc := newCodec(k)
		if t, err := pc.decode(raw); err == nil {
			h.codecs.Put(c)
			return pc, t, true, nil
		}
	}
	return c, t, false, nil
}

// refreshKey returns the refresh-token MAC key.
func (h *handler) refreshKey(ctx context.Context) ([]byte, error) {
	key, err := h.d.RefreshKey(ctx)
	if err != nil {
		return nil, fmt.Errorf("token: refresh key: %w", err)
	}
	if err := checkRefreshKey(key); err != nil {
		return nil, err
	}
	return key, nil
}
