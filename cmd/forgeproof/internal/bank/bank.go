// Package bank is the demo bank that forgeproof protects: a small web
// application with sign-in, a balance, transfers made with fetch (JSON) and
// with a plain HTML form, a legacy GET that changes state, and payee removal
// through an Express-style method override.
//
// The bank is deliberately naive about CSRF: it trusts its session cookie,
// parses any request body as JSON whatever its Content-Type, changes state on
// GET, and honours method overrides. Every defense comes from forgeproof,
// either the library around it or the gateway in front of it:
//
//	p, _ := forgeproof.New(forgeproof.Config{SessionCookie: "session"})
//	b := bank.New(bank.Options{Protection: p})
//	http.ListenAndServe(addr, p.Handler(b))
//
// With a Protection, the bank renders tokens (a meta tag and a hidden field
// in every form) and rotates them at sign-in and sign-out. Without one, its
// page loads /.forgeproof/csrf.js, the gateway's script, so that it works
// unchanged behind the gateway.
//
// Every state change is recorded with what the bank saw, so that tests can
// assert on effects rather than on status codes: see [Bank.Transfers] and
// [Bank.Events].
//
// # Endpoints
//
//	GET  /                     the page: sign-in, or balance, transfers, payees
//	POST /login                form or JSON {"username","password"}; sets the session cookie
//	POST /logout               ends the session
//	GET  /api/balance          {"user","balance","balance_cents"}
//	POST /api/transfer         JSON {"to","amount"} (amount "12.50" or 12.5), whatever the Content-Type
//	POST /api/transfer/large   the same, for amounts from Options.LargeTransfer up
//	POST /api/reauth           JSON {"password","method","path"}: 200 {"proof","header"} with a
//	                           Protection, 204 without one (a gateway's verification call), 401
//	POST /transfer             urlencoded form to=&amount=, answered with a redirect
//	GET  /transfer?to=&amount= the legacy transfer that changes state on GET
//	GET  /api/payees           {"payees": [...]}
//	DELETE /api/payees/{id}    removes a payee; reached as POST with _method=DELETE (query or
//	                           form) or X-HTTP-Method-Override: DELETE, as with Express
//	GET  /static/              the page's script and style sheet
//
// Signed out, every endpoint but the page, /login and /static/ answers 401.
package bank

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/forgeproof/forgeproof"
)

// Options configure a [Bank]. The zero value is a bank with the default
// users, a legacy session cookie, and no protection of its own.
type Options struct {
	// Protection, if set, is the forgeproof Protection that the caller wraps
	// the bank with. The bank then renders its tokens into the page and
	// rotates them at sign-in and sign-out. If nil, the page loads the
	// gateway's /.forgeproof/csrf.js instead.
	Protection *forgeproof.Protection

	// TokenHeader is the request header that the page's scripts put the
	// token in when Protection is set. If empty, it is the one Protection
	// reads (forgeproof.Protection.HeaderName).
	TokenHeader string

	// CookieName is the name of the session cookie. If empty, it is
	// "session".
	CookieName string

	// SameSiteNone sets "SameSite=None; Secure" on the session cookie, so
	// that browsers send it on cross-site requests. The default is a legacy
	// cookie with HttpOnly and no SameSite attribute, which browsers treat
	// as Lax by default; tests of forgeproof's own defenses set SameSiteNone
	// so that the browser's default does not hide a missing defense.
	SameSiteNone bool

	// LargeTransfer, in cents, is the amount from which a transfer is
	// refused on the ordinary routes and must be sent to
	// POST /api/transfer/large, the route that the Protection or the
	// gateway marks sensitive (Route.ReauthMaxAge), so that the user
	// confirms it with their password. Zero sends every transfer through
	// the ordinary routes.
	LargeTransfer int64

	// ReauthHeader is the request header that the page sends a
	// re-authentication proof in, when neither the 401 answer nor
	// POST /api/reauth names one. If empty, it is "X-Reauth-Proof".
	ReauthHeader string

	// Users are the accounts of the bank. If nil, it is [DefaultUsers].
	Users []User

	// ErrorLog receives errors the bank cannot report to the client. If nil,
	// the log package's standard logger is used.
	ErrorLog *log.Logger
}

// A User is an account of the bank.
type User struct {
	Name     string
	Password string
	Balance  int64 // in cents
	Payees   []string
}

// DefaultUsers returns the demo accounts: alice (password "wonderland"),
// bob ("builder") and mallory ("attacker"), the account forged requests try
// to send money to.
func DefaultUsers() []User {
	return []User{
		{Name: "alice", Password: "wonderland", Balance: 1000_00, Payees: []string{"bob", "mallory"}},
		{Name: "bob", Password: "builder", Balance: 500_00, Payees: []string{"alice"}},
		{Name: "mallory", Password: "attacker", Balance: 0, Payees: []string{"alice", "bob"}},
	}
}

// A Transfer is money moved from one account to another.
type Transfer struct {
	ID     int
	From   string
	To     string
	Amount int64  // in cents
	Via    string // "json", "form" or "legacy-get"
	Method string // the request method as sent
	Path   string
	Time   time.Time
}

// An Event is a state change, recorded with what the bank saw.
type Event struct {
	Kind   string // "login", "logout", "reauth", "transfer" or "payee-delete"
	User   string
	Method string // the request method as sent on the wire
	Path   string
	Amount int64  // in cents, for transfers
	Via    string // how the request arrived; see the constants below
	Detail string // the payee removed, the transfer's recipient
	Time   time.Time
}

// Values of Event.Via and Transfer.Via.
const (
	ViaJSON      = "json"            // a JSON body (fetch)
	ViaForm      = "form"            // an urlencoded or multipart form
	ViaLegacyGET = "legacy-get"      // query parameters of a GET
	ViaOverride  = "method-override" // a POST turned into another method
)

// A Bank is the demo application. It is an [http.Handler], safe for
// concurrent use.
type Bank struct {
	opts         Options
	cookie       string
	header       string
	reauthHeader string
	handler      http.Handler

	mu        sync.Mutex
	users     map[string]*account
	order     []string
	sessions  map[string]string // session id → user
	transfers []Transfer
	events    []Event
}

type account struct {
	User
	payees []string
}

// New returns a bank with its accounts at their opening balances.
func New(opts Options) *Bank {
	b := &Bank{
		opts:         opts,
		cookie:       orDefault(opts.CookieName, "session"),
		header:       opts.TokenHeader,
		reauthHeader: orDefault(opts.ReauthHeader, forgeproof.DefaultReauthHeader),
		users:        make(map[string]*account),
		sessions:     make(map[string]string),
	}
	if b.header == "" && opts.Protection != nil {
		b.header = opts.Protection.HeaderName()
	}
	users := opts.Users
	if users == nil {
		users = DefaultUsers()
	}
	for _, u := range users {
		b.users[u.Name] = &account{User: u, payees: slices.Clone(u.Payees)}
		b.order = append(b.order, u.Name)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", b.page)
	mux.Handle("GET /static/", http.FileServerFS(staticFS))
	mux.HandleFunc("POST /login", b.login)
	mux.HandleFunc("POST /logout", b.logout)
	mux.HandleFunc("GET /api/balance", b.balance)
	mux.HandleFunc("POST /api/transfer", b.transferJSON)
	mux.HandleFunc("POST /api/transfer/large", b.transferJSON)
	mux.HandleFunc("POST /api/reauth", b.reauth)
	mux.HandleFunc("POST /transfer", b.transferForm)
	mux.HandleFunc("GET /transfer", b.transferLegacy)
	mux.HandleFunc("GET /api/payees", b.listPayees)
	mux.HandleFunc("DELETE /api/payees/{id}", b.deletePayee)
	b.handler = methodOverride(mux)
	return b
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// ServeHTTP serves the bank.
func (b *Bank) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b.handler.ServeHTTP(w, r)
}

// Transfers returns every transfer made so far, oldest first.
func (b *Bank) Transfers() []Transfer {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.transfers)
}

// Events returns every state change so far, oldest first.
func (b *Bank) Events() []Event {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.events)
}

// Balance returns the balance of user in cents, and whether the user
// exists.
func (b *Bank) Balance(user string) (int64, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	a, ok := b.users[user]
	if !ok {
		return 0, false
	}
	return a.Balance, true
}

// Payees returns the payees of user.
func (b *Bank) Payees(user string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	if a, ok := b.users[user]; ok {
		return slices.Clone(a.payees)
	}
	return nil
}

// methodOverride turns a POST into the method named by the
// X-HTTP-Method-Override header or the _method query or form parameter, as
// Express's method-override middleware does. The original method is kept in
// the request's context for the record.
func methodOverride(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			m := r.Header.Get("X-HTTP-Method-Override")
			if m == "" {
				m = r.URL.Query().Get("_method")
			}
			if m == "" && isForm(r) {
				r.Body = http.MaxBytesReader(w, r.Body, maxBody)
				if err := parseForm(r); err == nil {
					m = r.PostForm.Get("_method")
				}
			}
			switch m = strings.ToUpper(m); m {
			case http.MethodPut, http.MethodPatch, http.MethodDelete:
				r = r.Clone(context.WithValue(r.Context(), overriddenKey{}, r.Method))
				r.Method = m
			}
		}
		next.ServeHTTP(w, r)
	})
}

// overriddenKey is the context key under which methodOverride keeps the
// method the request was sent with.
type overriddenKey struct{}

const maxBody = 64 << 10

func isForm(r *http.Request) bool {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return ct == "application/x-www-form-urlencoded" || ct == "multipart/form-data"
}

// parseForm reads an urlencoded or a multipart form body into r.PostForm,
// as web frameworks do, so that a multipart form works like any other.
func parseForm(r *http.Request) error {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "multipart/form-data" {
		return r.ParseMultipartForm(maxBody)
	}
	return r.ParseForm()
}

// apiUser returns the signed-in user of an API request, or answers 401
// with a JSON error and returns "".
func (b *Bank) apiUser(w http.ResponseWriter, r *http.Request) string {
	name, _ := b.user(r)
	if name == "" {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "sign in first"})
	}
	return name
}

// user returns the signed-in user of r and the session id, or "".
func (b *Bank) user(r *http.Request) (name, sid string) {
	c, err := r.Cookie(b.cookie)
	if err != nil || c.Value == "" {
		return "", ""
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sessions[c.Value], c.Value
}

func (b *Bank) record(e Event) {
	e.Time = time.Now()
	b.events = append(b.events, e)
}

func (b *Bank) sessionCookie(value string, maxAge int) *http.Cookie {
	c := &http.Cookie{Name: b.cookie, Value: value, Path: "/", HttpOnly: true, MaxAge: maxAge}
	if b.opts.SameSiteNone {
		c.SameSite = http.SameSiteNoneMode
		c.Secure = true
	}
	return c
}

func newSessionID() string {
	var buf [32]byte
	rand.Read(buf[:])
	return base64.RawURLEncoding.EncodeToString(buf[:])
}

type credentials struct {
	Username string `json:"username"`
	Password string `json:"password"`
}

func (b *Bank) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	form := isForm(r)
	var c credentials
	if form {
		if err := parseForm(r); err != nil {
			b.fail(w, r, http.StatusBadRequest, "the sign-in form could not be read")
			return
		}
		c.Username, c.Password = r.PostForm.Get("username"), r.PostForm.Get("password")
	} else if err := json.NewDecoder(r.Body).Decode(&c); err != nil {
		b.fail(w, r, http.StatusBadRequest, `send {"username": …, "password": …} as JSON or as a form`)
		return
	}
	b.mu.Lock()
	a, ok := b.users[c.Username]
	if !ok || subtle.ConstantTimeCompare([]byte(a.Password), []byte(c.Password)) != 1 {
		b.mu.Unlock()
		b.fail(w, r, http.StatusUnauthorized, "wrong username or password")
		return
	}
	name := a.Name
	b.mu.Unlock()

	// The token moves to the new session before the session exists, so
	// that a failing token store leaves the user signed out.
	sid := newSessionID()
	if p := b.opts.Protection; p != nil {
		if _, err := p.Rotate(w, r, sid); err != nil {
			b.logf("bank: login: %v", err)
			b.fail(w, r, http.StatusServiceUnavailable, "sign-in is unavailable for a moment; try again")
			return
		}
	}
	b.mu.Lock()
	if old, err := r.Cookie(b.cookie); err == nil {
		delete(b.sessions, old.Value)
	}
	b.sessions[sid] = name
	b.record(Event{Kind: "login", User: name, Method: r.Method, Path: r.URL.Path, Via: via(form)})
	b.mu.Unlock()

	http.SetCookie(w, b.sessionCookie(sid, 0))
	if form {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"user": name})
}

func via(form bool) string {
	if form {
		return ViaForm
	}
	return ViaJSON
}

func (b *Bank) logout(w http.ResponseWriter, r *http.Request) {
	name, sid := b.user(r)
	if sid != "" {
		b.mu.Lock()
		delete(b.sessions, sid)
		if name != "" {
			b.record(Event{Kind: "logout", User: name, Method: r.Method, Path: r.URL.Path, Via: via(isForm(r))})
		}
		b.mu.Unlock()
	}
	http.SetCookie(w, b.sessionCookie("", -1))
	if p := b.opts.Protection; p != nil {
		// The session is gone whatever happens here; a store failure only
		// leaves the old session's token to expire in the store.
		if _, err := p.Rotate(w, r, ""); err != nil {
			b.logf("bank: logout: %v", err)
		}
	}
	if isForm(r) {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (b *Bank) balance(w http.ResponseWriter, r *http.Request) {
	name := b.apiUser(w, r)
	if name == "" {
		return
	}
	bal, _ := b.Balance(name)
	writeJSON(w, http.StatusOK, balanceJSON{User: name, Balance: FormatAmount(bal), Cents: bal})
}

type balanceJSON struct {
	User    string `json:"user"`
	Balance string `json:"balance"`
	Cents   int64  `json:"balance_cents"`
}

// errStepUp refuses a large transfer on an ordinary route.
type errStepUp struct{ limit int64 }

func (e errStepUp) Error() string {
	return "transfers of $" + FormatAmount(e.limit) + " or more need your confirmation: send them to " + largePath
}

const largePath = "/api/transfer/large"

// transfer moves amount from the signed-in user to to, and records it.
// Large transfers are refused unless r came to the large-transfer route.
func (b *Bank) transfer(r *http.Request, from, to string, amount int64, via string) (Transfer, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	src, dst := b.users[from], b.users[to]
	limit := b.opts.LargeTransfer
	switch {
	case limit > 0 && amount >= limit && r.URL.Path != largePath:
		return Transfer{}, errStepUp{limit}
	case dst == nil:
		return Transfer{}, fmt.Errorf("there is no account named %q", to)
	case from == to:
		return Transfer{}, errors.New("choose another account than your own")
	case src.Balance < amount:
		return Transfer{}, fmt.Errorf("insufficient funds: the balance is %s", FormatAmount(src.Balance))
	}
	src.Balance -= amount
	dst.Balance += amount
	t := Transfer{ID: len(b.transfers) + 1, From: from, To: to, Amount: amount, Via: via,
		Method: r.Method, Path: r.URL.Path, Time: time.Now()}
	b.transfers = append(b.transfers, t)
	b.record(Event{Kind: "transfer", User: from, Method: r.Method, Path: r.URL.Path,
		Amount: amount, Via: via, Detail: to})
	return t, nil
}

type transferRequest struct {
	To     string     `json:"to"`
	Amount jsonAmount `json:"amount"`
}

type transferJSON struct {
	ID      int    `json:"id"`
	From    string `json:"from"`
	To      string `json:"to"`
	Amount  string `json:"amount"`
	Balance string `json:"balance"`
}

// transferJSON serves POST /api/transfer. Like many real APIs, it decodes
// the body as JSON whatever its Content-Type says, so that a cross-site
// form with enctype="text/plain" reaches it: the gateway's JSONOnly rule is
// what stops that.
func (b *Bank) transferJSON(w http.ResponseWriter, r *http.Request) {
	name := b.apiUser(w, r)
	if name == "" {
		return
	}
	var req transferRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody)).Decode(&req); err != nil {
		msg := `send {"to": "bob", "amount": "12.50"}`
		if errors.Is(err, errAmount) {
			msg = errAmount.Error()
		}
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": msg})
		return
	}
	t, err := b.transfer(r, name, req.To, int64(req.Amount), ViaJSON)
	if err != nil {
		body := map[string]string{"error": err.Error()}
		if errors.As(err, new(errStepUp)) {
			body["step_up"] = largePath
		}
		writeJSON(w, http.StatusUnprocessableEntity, body)
		return
	}
	bal, _ := b.Balance(name)
	writeJSON(w, http.StatusOK, transferJSON{ID: t.ID, From: t.From, To: t.To,
		Amount: FormatAmount(t.Amount), Balance: FormatAmount(bal)})
}

type reauthRequest struct {
	Password string `json:"password"`
	Method   string `json:"method"`
	Path     string `json:"path"`
}

// ReauthVerifiedHeader is the response header, with the value "true",
// by which POST /api/reauth says that the password was right.
const ReauthVerifiedHeader = "X-Reauth-Verified"

// reauth serves POST /api/reauth: the signed-in user confirms their
// password for one operation (method and path, such as POST
// /api/transfer/large). With a Protection, the answer carries a proof
// minted by GrantReauth, {"proof": …, "header": …}. Without one, the bank
// only verifies the password and answers 204, so that a gateway can call
// it before minting the proof itself.
func (b *Bank) reauth(w http.ResponseWriter, r *http.Request) {
	name := b.apiUser(w, r)
	if name == "" {
		return
	}
	var req reauthRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody)).Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": `send {"password": …, "method": "POST", "path": "/api/transfer/large"}`})
		return
	}
	b.mu.Lock()
	ok := subtle.ConstantTimeCompare([]byte(b.users[name].Password), []byte(req.Password)) == 1
	b.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "wrong password"})
		return
	}
	if req.Method == "" {
		req.Method = http.MethodPost
	}
	if req.Path == "" {
		req.Path = largePath
	}
	var proof string
	if p := b.opts.Protection; p != nil {
		var err error
		if proof, err = p.GrantReauth(w, r, req.Method, req.Path); err != nil {
			b.logf("bank: reauth: %v", err)
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "confirmation is unavailable for a moment; try again"})
			return
		}
	}
	b.mu.Lock()
	b.record(Event{Kind: "reauth", User: name, Method: r.Method, Path: r.URL.Path, Via: ViaJSON, Detail: req.Method + " " + req.Path})
	b.mu.Unlock()
	// The explicit signal that a gateway's reauth_success names: only a
	// right password sets it.
	w.Header().Set(ReauthVerifiedHeader, "true")
	if proof == "" {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"proof": proof, "header": b.reauthHeader})
}

// transferForm serves POST /transfer from the page's plain HTML form.
func (b *Bank) transferForm(w http.ResponseWriter, r *http.Request) {
	name, _ := b.user(r)
	if name == "" {
		b.fail(w, r, http.StatusUnauthorized, "sign in first")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := parseForm(r); err != nil {
		b.fail(w, r, http.StatusBadRequest, "the transfer form could not be read")
		return
	}
	amount, err := ParseAmount(r.PostForm.Get("amount"))
	if err != nil {
		b.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	t, err := b.transfer(r, name, r.PostForm.Get("to"), amount, ViaForm)
	if err != nil {
		b.fail(w, r, http.StatusUnprocessableEntity, err.Error())
		return
	}
	http.Redirect(w, r, "/?sent="+strconv.Itoa(t.ID), http.StatusSeeOther)
}

// transferLegacy serves GET /transfer?to=&amount=, the kind of endpoint
// that old applications have and that an <img> tag on any site can call.
func (b *Bank) transferLegacy(w http.ResponseWriter, r *http.Request) {
	name, _ := b.user(r)
	if name == "" {
		b.fail(w, r, http.StatusUnauthorized, "sign in first")
		return
	}
	q := r.URL.Query()
	amount, err := ParseAmount(q.Get("amount"))
	if err != nil {
		b.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	t, err := b.transfer(r, name, q.Get("to"), amount, ViaLegacyGET)
	if err != nil {
		b.fail(w, r, http.StatusUnprocessableEntity, err.Error())
		return
	}
	http.Redirect(w, r, "/?sent="+strconv.Itoa(t.ID), http.StatusSeeOther)
}

func (b *Bank) listPayees(w http.ResponseWriter, r *http.Request) {
	name := b.apiUser(w, r)
	if name == "" {
		return
	}
	writeJSON(w, http.StatusOK, map[string][]string{"payees": b.Payees(name)})
}

// deletePayee serves DELETE /api/payees/{id}, reached from the page as a
// POST with _method=DELETE.
func (b *Bank) deletePayee(w http.ResponseWriter, r *http.Request) {
	name, _ := b.user(r)
	if name == "" {
		b.fail(w, r, http.StatusUnauthorized, "sign in first")
		return
	}
	id := r.PathValue("id")
	method, via := r.Method, ""
	if orig, ok := r.Context().Value(overriddenKey{}).(string); ok {
		method, via = orig, ViaOverride
	}
	b.mu.Lock()
	a := b.users[name]
	i := slices.Index(a.payees, id)
	if i >= 0 {
		a.payees = slices.Delete(a.payees, i, i+1)
		b.record(Event{Kind: "payee-delete", User: name, Method: method, Path: r.URL.Path, Via: via, Detail: id})
	}
	b.mu.Unlock()
	if i < 0 {
		b.fail(w, r, http.StatusNotFound, fmt.Sprintf("%q is not one of your payees", id))
		return
	}
	if isForm(r) {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// fail answers an error: JSON for API clients, the page with the message
// for browsers submitting forms.
func (b *Bank) fail(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if strings.HasPrefix(r.URL.Path, "/api/") || !acceptsHTML(r) {
		writeJSON(w, status, map[string]string{"error": msg})
		return
	}
	b.render(w, r, status, msg)
}

func acceptsHTML(r *http.Request) bool {
	return isForm(r) || strings.Contains(r.Header.Get("Accept"), "text/html")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (b *Bank) page(w http.ResponseWriter, r *http.Request) {
	b.render(w, r, http.StatusOK, "")
}

// pageData is what page.html shows.
type pageData struct {
	User      string
	Balance   string
	Payees    []string
	Accounts  []string
	Transfers []transferRow
	Sent      *transferRow
	Error     string
	Demo      []User
	Large     string // the step-up threshold in dollars, or ""

	// Token is the masked token for the meta tag, Field the hidden input
	// for forms; both empty without a Protection, and Gateway is true.
	Token   string
	Header  string
	Field   template.HTML
	Gateway bool

	ReauthHeader string
}

type transferRow struct {
	ID       int
	Dir      string // "in" or "out"
	Other    string
	Amount   string
	Via      string
	TimeText string
}

func (b *Bank) render(w http.ResponseWriter, r *http.Request, status int, errMsg string) {
	name, _ := b.user(r)
	d := pageData{User: name, Error: errMsg, Header: b.header, Gateway: b.opts.Protection == nil,
		ReauthHeader: b.reauthHeader}
	if b.opts.LargeTransfer > 0 {
		d.Large = FormatAmount(b.opts.LargeTransfer)
	}
	b.mu.Lock()
	if a := b.users[name]; a != nil {
		d.Balance = FormatAmount(a.Balance)
		d.Payees = slices.Clone(a.payees)
		for _, n := range b.order {
			if n != name {
				d.Accounts = append(d.Accounts, n)
			}
		}
		sent, _ := strconv.Atoi(r.URL.Query().Get("sent"))
		for i := len(b.transfers) - 1; i >= 0; i-- {
			t := b.transfers[i]
			row := transferRow{ID: t.ID, Amount: FormatAmount(t.Amount), Via: t.Via, TimeText: t.Time.Format("15:04:05")}
			switch name {
			case t.From:
				row.Dir, row.Other = "out", t.To
			case t.To:
				row.Dir, row.Other = "in", t.From
			default:
				continue
			}
			if t.ID == sent && row.Dir == "out" {
				d.Sent = &row
			}
			d.Transfers = append(d.Transfers, row)
		}
	} else {
		for _, n := range b.order {
			d.Demo = append(d.Demo, User{Name: n, Password: b.users[n].Password})
		}
	}
	b.mu.Unlock()
	if p := b.opts.Protection; p != nil {
		var err error
		if d.Token, err = p.Token(w, r); err == nil {
			d.Field, err = p.TemplateField(w, r)
		}
		if err != nil {
			b.logf("bank: page: %v", err)
			http.Error(w, "the page is unavailable for a moment; reload it", http.StatusServiceUnavailable)
			return
		}
	}
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, d); err != nil {
		b.logf("bank: render page: %v", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

func (b *Bank) logf(format string, args ...any) {
	if b.opts.ErrorLog != nil {
		b.opts.ErrorLog.Printf(format, args...)
		return
	}
	log.Printf(format, args...)
}
