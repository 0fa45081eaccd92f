// Package zoo holds the scanner's ground truth: small web applications
// with deliberately planted CSRF weaknesses, and properly protected ones
// (forgeproof's middleware, its gateway, Go's CrossOriginProtection, a
// hand-written synchronizer token, a required custom header).
//
// Every application is the same little bank (a home page, a login, a form
// transfer, a JSON transfer, a DELETE of a payee, a balance) built from an
// [App] whose fields choose its defenses and its flaws. [Variants] lists
// the zoo with the check ids the scanner must report on each: the scanner's
// tests measure recall and precision against it.
//
// These applications are insecure on purpose. Never expose them.
package zoo

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// TokenMode is how an App checks anti-CSRF tokens.
type TokenMode int

const (
	// NoTokens issues and checks no token.
	NoTokens TokenMode = iota
	// SessionTokens: one token per session, required on every unsafe
	// request, compared in constant time (the correct synchronizer).
	SessionTokens
	// OptionalTokens checks a token only when one is sent (flaw).
	OptionalTokens
	// EmptyTokens requires the token field to be present but accepts it
	// empty (flaw).
	EmptyTokens
	// GlobalTokens accepts any token the app ever issued, whatever the
	// session (flaw).
	GlobalTokens
	// CookieTokens is the double-submit cookie as Angular and Axios use it:
	// a readable XSRF-TOKEN cookie that unsafe requests must echo in the
	// X-XSRF-TOKEN header (a defense: another site can neither read the
	// cookie nor set the header).
	CookieTokens
	// NaiveDoubleSubmitTokens renders the session's token in forms and
	// sets it in a readable csrf_token cookie too, then accepts a request
	// whose token equals the cookie, whatever the session (flaw: a
	// sibling subdomain can set the cookie).
	NaiveDoubleSubmitTokens
)

// OriginMode is how an App checks where unsafe requests come from.
type OriginMode int

const (
	// NoOriginCheck checks nothing.
	NoOriginCheck OriginMode = iota
	// StrictOrigin is Go's CrossOriginProtection rule: Sec-Fetch-Site
	// first, else Origin must be the app's own; requests with neither pass.
	StrictOrigin
	// AllowNullOrigin requires Origin to be the app's own or "null" (flaw).
	AllowNullOrigin
	// SubdomainOrigin requires Origin's host to be the app's host or any
	// subdomain of its site (flaw: trusts every sibling).
	SubdomainOrigin
	// RefererOptional checks Referer only when present and ignores Origin
	// (flaw).
	RefererOptional
	// OriginOptional checks Origin only when present and ignores
	// Sec-Fetch-Site (weakness).
	OriginOptional
)

// CORSMode is the App's CORS policy.
type CORSMode int

const (
	// NoCORS answers no preflight.
	NoCORS CORSMode = iota
	// ReflectCORS reflects any Origin with credentials (flaw).
	ReflectCORS
	// NullCORS allows Origin: null with credentials (flaw).
	NullCORS
)

// An App is one zoo bank. The zero App has no defense at all but good
// cookies and security headers.
type App struct {
	// Tokens is how anti-CSRF tokens are issued and checked.
	Tokens TokenMode
	// Origin is how the origin of unsafe requests is checked.
	Origin OriginMode
	// CORS is the cross-origin resource sharing policy.
	CORS CORSMode
	// LaxJSON decodes the JSON transfer's body whatever its Content-Type.
	LaxJSON bool
	// MethodOverride honours _method and X-HTTP-Method-Override after the
	// CSRF check, which saw the original method (flaw).
	MethodOverride bool
	// GetAction also performs a transfer on GET /transfer?to=&amount=, and
	// the API declares GET /legacy/transfer (flaw).
	GetAction bool
	// WeakCookie sets the session cookie with SameSite=None and without
	// HttpOnly (flaw).
	WeakCookie bool
	// WeakHeaders serves the home page with a CSP that allows inline
	// script, no frame-ancestors and no Referrer-Policy (flaw).
	WeakHeaders bool
	// ThirdPartyScript loads a script from another host without
	// Subresource Integrity (flaw).
	ThirdPartyScript bool
	// TokenInURL puts the token in a link's query string (flaw).
	TokenInURL bool
	// KeepSessionAtLogin keeps the anonymous session, and its token, when
	// the user signs in (flaw).
	KeepSessionAtLogin bool
	// RequireHeader, if set, names a header every unsafe request must
	// carry (a defense).
	RequireHeader string
	// Declares maps a declared path ("/api/transfer") to the x-forgeproof
	// extension (a JSON object) that its operation carries in OpenAPI():
	// the protection the description promises, enforced or not.
	Declares map[string]string

	mu        sync.Mutex
	sessions  map[string]*session
	issued    map[string]bool
	transfers int
}

type session struct {
	user  string
	token string
}

// Transfers returns the number of transfers performed, by any route.
func (a *App) Transfers() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.transfers
}

func random() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// session returns the request's session, creating an anonymous one (and
// setting its cookie) when create is set.
func (a *App) session(w http.ResponseWriter, r *http.Request, create bool) *session {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.sessions == nil {
		a.sessions = map[string]*session{}
		a.issued = map[string]bool{}
	}
	if c, err := r.Cookie("session"); err == nil {
		if s, ok := a.sessions[c.Value]; ok {
			return s
		}
	}
	if !create {
		return nil
	}
	return a.newSessionLocked(w, r, "")
}

func (a *App) newSessionLocked(w http.ResponseWriter, r *http.Request, user string) *session {
	id := random()
	s := &session{user: user, token: random()}
	a.sessions[id] = s
	a.issued[s.token] = true
	a.setCookie(w, r, id)
	return s
}

func (a *App) setCookie(w http.ResponseWriter, r *http.Request, id string) {
	c := &http.Cookie{Name: "session", Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil}
	if a.WeakCookie {
		c.HttpOnly = false
		c.SameSite = http.SameSiteNoneMode
	}
	http.SetCookie(w, c)
}

// ServeHTTP implements [http.Handler].
func (a *App) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodOptions {
		a.preflight(w, r)
		return
	}
	if a.CORS != NoCORS {
		a.corsHeaders(w, r)
	}
	unsafe := r.Method != http.MethodGet && r.Method != http.MethodHead
	if unsafe && r.URL.Path != "/login" {
		if msg := a.checkCSRF(r); msg != "" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			json.NewEncoder(w).Encode(map[string]string{"error": msg})
			return
		}
	}
	method := r.Method
	if a.MethodOverride {
		if m := r.Header.Get("X-HTTP-Method-Override"); m != "" {
			method = strings.ToUpper(m)
		} else if m := r.URL.Query().Get("_method"); m != "" {
			method = strings.ToUpper(m)
		} else if r.Method == http.MethodPost {
			if m := r.PostFormValue("_method"); m != "" {
				method = strings.ToUpper(m)
			}
		}
	}
	switch {
	case r.URL.Path == "/" && method == "GET":
		a.home(w, r)
	case r.URL.Path == "/login" && method == "POST":
		a.login(w, r)
	case r.URL.Path == "/transfer" && (method == "POST" || method == "GET" && a.GetAction):
		a.formTransfer(w, r)
	case r.URL.Path == "/legacy/transfer" && method == "GET" && a.GetAction:
		a.formTransfer(w, r)
	case r.URL.Path == "/api/transfer" && method == "POST":
		a.jsonTransfer(w, r)
	case strings.HasPrefix(r.URL.Path, "/api/payees/") && method == "DELETE":
		a.deletePayee(w, r)
	case r.URL.Path == "/api/balance" && method == "GET":
		a.balance(w, r)
	case r.URL.Path == "/openapi.json" && method == "GET":
		w.Header().Set("Content-Type", "application/json")
		w.Write(a.OpenAPI())
	case r.URL.Path == "/" || r.URL.Path == "/login" || r.URL.Path == "/transfer" || r.URL.Path == "/api/transfer" ||
		strings.HasPrefix(r.URL.Path, "/api/payees/") || r.URL.Path == "/api/balance":
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	default:
		http.NotFound(w, r)
	}
}

func (a *App) preflight(w http.ResponseWriter, r *http.Request) {
	if a.CORS == NoCORS {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	a.corsHeaders(w, r)
	w.Header().Set("Access-Control-Allow-Methods", "GET, POST, DELETE")
	w.Header().Set("Access-Control-Allow-Headers", "Content-Type, X-CSRF-Token")
	w.WriteHeader(http.StatusNoContent)
}

func (a *App) corsHeaders(w http.ResponseWriter, r *http.Request) {
	o := r.Header.Get("Origin")
	switch {
	case o == "":
		return
	case a.CORS == ReflectCORS:
	case a.CORS == NullCORS && o == "null":
	default:
		return
	}
	w.Header().Set("Access-Control-Allow-Origin", o)
	w.Header().Set("Access-Control-Allow-Credentials", "true")
	w.Header().Add("Vary", "Origin")
}

// ownOrigin is the app's origin as the request names it.
func ownOrigin(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// checkCSRF applies the app's defenses and returns why it refuses r, or "".
func (a *App) checkCSRF(r *http.Request) string {
	if a.RequireHeader != "" && r.Header.Get(a.RequireHeader) == "" {
		return "missing " + a.RequireHeader
	}
	origin := r.Header.Get("Origin")
	switch a.Origin {
	case StrictOrigin:
		switch r.Header.Get("Sec-Fetch-Site") {
		case "same-origin", "none":
		case "":
			if origin != "" && origin != ownOrigin(r) {
				return "cross-origin request"
			}
		default:
			return "cross-site request"
		}
	case AllowNullOrigin:
		if origin != ownOrigin(r) && origin != "null" {
			return "bad origin"
		}
	case SubdomainOrigin:
		u, err := url.Parse(origin)
		if err != nil || origin == "" {
			return "bad origin"
		}
		host, _, _ := strings.Cut(r.Host, ":")
		if u.Hostname() != host && !strings.HasSuffix(u.Hostname(), "."+site(host)) {
			return "bad origin"
		}
	case RefererOptional:
		if ref := r.Header.Get("Referer"); ref != "" && !strings.HasPrefix(ref, ownOrigin(r)+"/") {
			return "bad referer"
		}
	case OriginOptional:
		if origin != "" && origin != ownOrigin(r) {
			return "bad origin"
		}
	}
	if a.Tokens == NoTokens {
		return ""
	}
	if a.Tokens == NaiveDoubleSubmitTokens {
		c, err := r.Cookie("csrf_token")
		got, _ := a.requestToken(r)
		if err != nil || c.Value == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(got)) != 1 {
			return "bad token"
		}
		return ""
	}
	if a.Tokens == CookieTokens {
		c, err := r.Cookie("XSRF-TOKEN")
		if err != nil || c.Value == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.Header.Get("X-XSRF-TOKEN"))) != 1 {
			return "bad token"
		}
		return ""
	}
	s := a.session(nil, r, false)
	got, present := a.requestToken(r)
	switch a.Tokens {
	case SessionTokens:
		if s == nil || got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(s.token)) != 1 {
			return "bad token"
		}
	case OptionalTokens:
		if got != "" && (s == nil || got != s.token) {
			return "bad token"
		}
	case EmptyTokens:
		if !present || got != "" && (s == nil || got != s.token) {
			return "bad token"
		}
	case GlobalTokens:
		a.mu.Lock()
		ok := a.issued[got]
		a.mu.Unlock()
		if !ok {
			return "bad token"
		}
	}
	return ""
}

// requestToken reads the token from X-CSRF-Token or the _csrf form field.
func (a *App) requestToken(r *http.Request) (string, bool) {
	if v, ok := r.Header["X-Csrf-Token"]; ok {
		return v[0], true
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "application/x-www-form-urlencoded" {
		r.ParseForm()
		if v, ok := r.PostForm["_csrf"]; ok {
			return v[0], true
		}
	}
	return "", false
}

func site(host string) string {
	labels := strings.Split(host, ".")
	if len(labels) > 2 {
		return strings.Join(labels[len(labels)-2:], ".")
	}
	return host
}

func (a *App) home(w http.ResponseWriter, r *http.Request) {
	s := a.session(w, r, true)
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	if a.WeakHeaders {
		h.Set("Content-Security-Policy", "script-src 'self' 'unsafe-inline'")
	} else {
		h.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'")
		h.Set("Referrer-Policy", "same-origin")
	}
	if a.Tokens == CookieTokens {
		http.SetCookie(w, &http.Cookie{Name: "XSRF-TOKEN", Value: s.token, Path: "/", SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil})
	}
	if a.Tokens == NaiveDoubleSubmitTokens {
		http.SetCookie(w, &http.Cookie{Name: "csrf_token", Value: s.token, Path: "/", SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil})
	}
	var b strings.Builder
	b.WriteString("<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Zoo bank</title>\n")
	if a.Tokens != NoTokens && a.Tokens != CookieTokens {
		fmt.Fprintf(&b, "<meta name=\"csrf-token\" content=\"%s\">\n", html.EscapeString(s.token))
	}
	if a.ThirdPartyScript {
		b.WriteString("<script src=\"https://cdn.zoo-thirdparty.example/widget.js\"></script>\n")
	}
	b.WriteString("</head><body>\n<h1>Zoo bank</h1>\n")
	if s.user != "" {
		fmt.Fprintf(&b, "<p>Signed in as %s</p>\n", html.EscapeString(s.user))
	}
	b.WriteString("<form method=\"post\" action=\"/transfer\">\n")
	if a.Tokens != NoTokens && a.Tokens != CookieTokens {
		fmt.Fprintf(&b, "<input type=\"hidden\" name=\"_csrf\" value=\"%s\">\n", html.EscapeString(s.token))
	}
	b.WriteString("<input name=\"to\"> <input name=\"amount\"> <button>Send</button>\n</form>\n")
	if a.TokenInURL && a.Tokens != NoTokens {
		fmt.Fprintf(&b, "<a href=\"/api/balance?_csrf=%s\">Balance</a>\n", url.QueryEscape(s.token))
	}
	b.WriteString("</body></html>\n")
	io.WriteString(w, b.String())
}

func (a *App) login(w http.ResponseWriter, r *http.Request) {
	user := r.PostFormValue("user")
	if user == "" {
		user = "alice"
	}
	a.mu.Lock()
	if a.sessions == nil {
		a.sessions = map[string]*session{}
		a.issued = map[string]bool{}
	}
	kept := false
	if c, err := r.Cookie("session"); err == nil && a.KeepSessionAtLogin {
		if old, ok := a.sessions[c.Value]; ok {
			old.user = user
			a.setCookie(w, r, c.Value)
			kept = true
		}
	}
	if !kept {
		a.newSessionLocked(w, r, user)
	}
	a.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{"user": user})
}

func (a *App) signedIn(w http.ResponseWriter, r *http.Request) bool {
	if s := a.session(nil, r, false); s != nil && s.user != "" {
		return true
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusUnauthorized)
	io.WriteString(w, `{"error":"sign in first"}`+"\n")
	return false
}

func (a *App) transfer() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.transfers++
	return a.transfers
}

func (a *App) formTransfer(w http.ResponseWriter, r *http.Request) {
	if !a.signedIn(w, r) {
		return
	}
	to, amount := r.FormValue("to"), r.FormValue("amount")
	if to == "" || amount == "" {
		http.Error(w, "missing to or amount", http.StatusBadRequest)
		return
	}
	n := a.transfer()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, "<!doctype html><p>Transfer %d: sent %s to %s.</p>\n", n, html.EscapeString(amount), html.EscapeString(to))
}

func (a *App) jsonTransfer(w http.ResponseWriter, r *http.Request) {
	if !a.signedIn(w, r) {
		return
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/json" && !a.LaxJSON {
		http.Error(w, "want application/json", http.StatusUnsupportedMediaType)
		return
	}
	var req struct {
		To     string `json:"to"`
		Amount int    `json:"amount"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&req); err != nil || req.To == "" {
		http.Error(w, "bad transfer", http.StatusBadRequest)
		return
	}
	n := a.transfer()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"ok": true, "transfer": n, "to": req.To, "amount": req.Amount})
}

func (a *App) deletePayee(w http.ResponseWriter, r *http.Request) {
	if !a.signedIn(w, r) {
		return
	}
	id := strings.TrimPrefix(r.URL.Path, "/api/payees/")
	a.transfer()
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"ok": true, "deleted": id})
}

func (a *App) balance(w http.ResponseWriter, r *http.Request) {
	if !a.signedIn(w, r) {
		return
	}
	// The balance reads back every transfer, so that a scanner can tell
	// a GET that moves money from one that does not.
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, "{\"balance\":%d,\"transfers\":%d}\n", 1000-5*a.Transfers(), a.Transfers())
}

// OpenAPI returns the app's OpenAPI 3.1 description (JSON).
// declared returns the x-forgeproof member of the operation at path, with
// its trailing comma, or "".
func (a *App) declared(path string) string {
	if ext, ok := a.Declares[path]; ok {
		return ` "x-forgeproof": ` + ext + `,`
	}
	return ""
}

func (a *App) OpenAPI() []byte {
	legacy := ""
	if a.GetAction {
		legacy = `,
    "/legacy/transfer": {"get": {"operationId": "legacyTransfer", "summary": "Transfer money (old clients)",
      "parameters": [{"name": "to", "in": "query", "required": true, "schema": {"type": "string", "example": "bob"}},
                     {"name": "amount", "in": "query", "required": true, "schema": {"type": "integer", "example": 5}}],
      "responses": {"200": {"description": "done"}}}}`
	}
	return []byte(`{
  "openapi": "3.1.0",
  "info": {"title": "Zoo bank", "version": "1.0.0"},
  "paths": {
    "/transfer": {"post": {"operationId": "formTransfer",` + a.declared("/transfer") + `
      "requestBody": {"required": true, "content": {"application/x-www-form-urlencoded": {"schema": {"type": "object",
        "properties": {"to": {"type": "string", "example": "bob"}, "amount": {"type": "integer", "example": 5}}}}}},
      "responses": {"200": {"description": "done"}}}},
    "/api/transfer": {"post": {"operationId": "jsonTransfer",` + a.declared("/api/transfer") + `
      "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object",
        "properties": {"to": {"type": "string", "example": "bob"}, "amount": {"type": "integer", "example": 5}}}}}},
      "responses": {"200": {"description": "done"}}}},
    "/api/payees/{id}": {"delete": {"operationId": "deletePayee",
      "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer", "example": 7}}],
      "responses": {"200": {"description": "deleted"}}}},
    "/api/balance": {"get": {"operationId": "getBalance", "responses": {"200": {"description": "balance"}}}}` + legacy + `
  }
}
`)
}
