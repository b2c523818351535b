package authorize

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"sync"

	"github.com/mrrt-auth/mrrt/shared/core/oauth"
)

// The pages are server-rendered, need no JavaScript, and load nothing from
// anywhere: their one stylesheet is inline and allowed by its hash, so the
// CSP needs neither 'unsafe-inline' nor a per-response nonce.
const css = `body{font-family:system-ui,sans-serif;background:#f4f5f7;color:#1d2330;margin:0}` +
	`main{max-width:22rem;margin:4rem auto;background:#fff;padding:2rem;border-radius:8px;box-shadow:0 1px 4px #0002}` +
	`h1{font-size:1.3rem;margin-top:0}label{display:block;margin:.8rem 0 .2rem}` +
	`input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem}` +
	`button{margin-top:1.2rem;padding:.5rem 1rem;font-size:1rem}.error{color:#b00020}ul{padding-left:1.2rem}`

var styleHash = func() string {
	sum := sha256.Sum256([]byte(css))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}()

// csp is the Content-Security-Policy of every response. formTarget, when
// not empty, is added to form-action: browsers (Chromium, Firefox) apply
// form-action to the redirects that follow a form submission too, so the
// login and consent forms, whose POST ends in a 303 to the client's
// redirect URI, must allow that URI's origin.
func csp(formTarget string) string {
	fa := "'self'"
	if formTarget != "" {
		fa += " " + formTarget
	}
	return "default-src 'none'; style-src " + styleHash + "; form-action " + fa +
		"; frame-ancestors 'none'; base-uri 'none'"
}

// cspSource is a conservative CSP host-source: scheme://host[:port] with no
// characters that could end the directive or start another.
var cspSource = regexp.MustCompile(`^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$|^http://\[[0-9a-fA-F:]+\](:[0-9]{1,5})?$`)

// cspScheme is a CSP scheme-source ("com.example.app:") for native apps'
// private-use URI schemes (RFC 8252 §7.1).
var cspScheme = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.-]*:$`)

// formTarget is the CSP source of a redirect URI, or "" if it has no safe
// form (then the browser blocks the final redirect: fail closed).
func formTarget(redirectURI string) string {
	u, err := url.Parse(redirectURI)
	if err != nil || u.Scheme == "" {
		return ""
	}
	if u.Scheme == "http" || u.Scheme == "https" {
		if s := u.Scheme + "://" + u.Host; u.User == nil && cspSource.MatchString(s) {
			return s
		}
		return ""
	}
	if s := u.Scheme + ":"; cspScheme.MatchString(s) {
		return s
	}
	return ""
}

// pages parses the templates on first use, not in a package initialiser:
// binaries that link this package without serving it (the other
// functions) then leave the template code out. (sync.OnceValue in a
// package-level var would not: its initialiser refers to the parser.)
func pages() *template.Template {
	parsedPages.once.Do(func() {
		parsedPages.t = template.Must(template.New("").Parse(pagesText))
	})
	return parsedPages.t
}

var parsedPages struct {
	once sync.Once
	t    *template.Template
}

const pagesText = `
{{define "head"}}<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title><style>` + css + `</style></head><body><main>
{{end}}
{{define "foot"}}</main></body></html>
{{end}}

{{define "login"}}{{template "head" .}}<h1>Sign in</h1>
<p>to continue to <strong>{{.ClientName}}</strong></p>
{{with .Message}}<p class="error" role="alert">{{.}}</p>{{end}}
<form method="post" action="/authorize/login">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<input type="hidden" name="request" value="{{.Request}}">
<label for="username">Email</label>
<input type="text" id="username" name="username" value="{{.Username}}" autocomplete="username" autocapitalize="none" spellcheck="false" required autofocus>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>
{{template "foot" .}}{{end}}

{{define "consent"}}{{template "head" .}}<h1>Allow access?</h1>
<p><strong>{{.ClientName}}</strong> wants to access <strong>{{.APIName}}</strong> on behalf of {{.UserEmail}}{{if .Scopes}}, to:{{else}}.{{end}}</p>
{{if .Scopes}}<ul>{{range .Scopes}}<li>{{.}}</li>{{end}}</ul>{{end}}
<form method="post" action="/authorize/consent">
<input type="hidden" name="csrf" value="{{.CSRF}}">
<input type="hidden" name="request" value="{{.Request}}">
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>
{{template "foot" .}}{{end}}

{{define "error"}}{{template "head" .}}<h1>Sign-in error</h1>
<p class="error">{{.Message}}</p>
<p>Go back to the application and try again.</p>
{{template "foot" .}}{{end}}

{{define "signedout"}}{{template "head" .}}<h1>Signed out</h1>
<p>You are signed out. You can close this window.</p>
{{template "foot" .}}{{end}}
`

// page is the data of every template; each uses the fields it needs.
type page struct {
	Title      string
	Message    string
	ClientName string
	APIName    string
	UserEmail  string
	Scopes     []string
	CSRF       string
	Request    string
	Username   string
}

// renderPage writes a page. CSP etc. are already set by securityHeaders
// (or widened by the caller).
func (h *handler) renderPage(w http.ResponseWriter, status int, name string, p page) {
	var buf bytes.Buffer
	if err := pages().ExecuteTemplate(&buf, name, p); err != nil {
		h.log.Error("render page", "page", name, "cause", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func (h *handler) renderError(w http.ResponseWriter, status int, msg string) {
	h.renderPage(w, status, "error", page{Title: "Sign-in error", Message: msg})
}

// renderForm renders a page with a form that continues req.
func (h *handler) renderForm(w http.ResponseWriter, r *http.Request, req *request, status int, name string, p page) {
	token, err := h.csrfToken(w, r)
	if err != nil {
		h.fail(w, r, req, err, status)
		return
	}
	p.CSRF, p.Request, p.ClientName = token, req.raw, req.client.Name
	if p.ClientName == "" {
		p.ClientName = req.client.ClientID
	}
	w.Header().Set("Content-Security-Policy", csp(formTarget(req.redirectURI)))
	h.renderPage(w, status, name, p)
}

func (h *handler) renderLogin(w http.ResponseWriter, r *http.Request, req *request, status int, username, msg string) {
	h.renderForm(w, r, req, status, "login", page{Title: "Sign in", Username: username, Message: msg})
}

func (h *handler) renderConsent(w http.ResponseWriter, r *http.Request, req *request, user *oauth.User) {
	p := page{Title: "Allow access", APIName: req.api.Name, UserEmail: user.Email}
	if p.APIName == "" {
		p.APIName = req.api.Identifier
	}
	for _, s := range req.scopes {
		p.Scopes = append(p.Scopes, describeScope(req.api, s))
	}
	h.renderForm(w, r, req, http.StatusOK, "consent", p)
}

var oidcScopeText = map[string]string{
	oauth.ScopeOpenID:        "sign you in",
	oauth.ScopeProfile:       "read your name",
	oauth.ScopeEmail:         "read your email address",
	oauth.ScopeOfflineAccess: "stay signed in (refresh tokens)",
}

// describeScope is the consent page's line for scope s.
func describeScope(api *oauth.ResourceServer, s string) string {
	if t, ok := oidcScopeText[s]; ok {
		return t
	}
	for _, sc := range api.Scopes {
		if sc.Value == s && sc.Description != "" {
			return sc.Description + " (" + s + ")"
		}
	}
	return s
}
