package e2e_test

import (
	"bufio"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/forgeproof/forgeproof"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/attack"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/bank"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/gateway"
)

// bankOrigin is where the in-process victims are served; the browser maps
// the name to a loopback server.
const bankOrigin = "https://bank.test"

// app is the demo bank plus a cookie-authenticated WebSocket endpoint at
// /ws, renewed before each case, that records every state change.
type app struct {
	newBank func() *bank.Bank

	mu      sync.Mutex
	bank    *bank.Bank
	sockets []string // WebSocket reads, as effects
}

func newApp(newBank func() *bank.Bank) *app {
	a := &app{newBank: newBank}
	a.reset()
	return a
}

func (a *app) reset() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.bank = a.newBank()
	a.sockets = nil
}

func (a *app) current() *bank.Bank {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.bank
}

// effects describes every state change since the last reset.
func (a *app) effects() []string {
	var out []string
	for _, e := range a.current().Events() {
		switch e.Kind {
		case "transfer":
			out = append(out, fmt.Sprintf("transfer %s→%s %s (%s)", e.User, e.Detail, bank.FormatAmount(e.Amount), e.Via))
		case "payee-delete":
			out = append(out, fmt.Sprintf("payee %s of %s deleted (%s %s)", e.Detail, e.User, e.Method, e.Via))
		default:
			out = append(out, e.Kind+" "+e.User)
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return append(out, a.sockets...)
}

func (a *app) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/ws" {
		a.serveWebSocket(w, r)
		return
	}
	a.current().ServeHTTP(w, r)
}

// serveWebSocket accepts a WebSocket handshake from any origin, as many
// applications do, looks the user up by the session cookie and sends them
// their balance: the data a cross-site WebSocket hijack steals.
func (a *app) serveWebSocket(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get("Sec-WebSocket-Key")
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") || key == "" {
		http.Error(w, "a WebSocket handshake is expected", http.StatusBadRequest)
		return
	}
	who := httptest.NewRequest("GET", "/api/balance", nil)
	who.Header.Set("Cookie", r.Header.Get("Cookie"))
	rec := httptest.NewRecorder()
	a.current().ServeHTTP(rec, who)
	var bal struct {
		User    string `json:"user"`
		Balance string `json:"balance"`
	}
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &bal) != nil {
		http.Error(w, "sign in first", http.StatusUnauthorized)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		http.Error(w, "WebSocket needs HTTP/1.1", http.StatusHTTPVersionNotSupported)
		return
	}
	conn, brw, err := hj.Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	fmt.Fprintf(brw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
		base64.StdEncoding.EncodeToString(sum[:]))
	msg, _ := json.Marshal(bal)
	brw.Write([]byte{0x81, byte(len(msg))}) // FIN + text frame, short payload
	brw.Write(msg)
	brw.Flush()
	a.mu.Lock()
	a.sockets = append(a.sockets, "websocket sent "+bal.User+"'s balance")
	a.mu.Unlock()
	// Wait for the client's close frame, briefly.
	conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	io.Copy(io.Discard, bufio.NewReader(conn))
}

// routes are the rules both the library and the gateway victims declare:
// the legacy GET that changes state is checked like a POST, and the JSON
// API takes JSON only.
var routes = []forgeproof.Route{
	{Pattern: "GET /transfer", CheckSafeMethods: true},
	{Pattern: "POST /api/transfer", JSONOnly: true},
}

var modes = []forgeproof.TokenMode{forgeproof.SignedTokens, forgeproof.SynchronizerTokens, forgeproof.TokensOff}

// controlVictim is the unprotected bank, served directly.
func controlVictim() attack.Victim {
	a := newApp(func() *bank.Bank { return bank.New(bank.Options{SameSiteNone: true, ErrorLog: quiet}) })
	return attack.Victim{
		Name: "control (unprotected bank)", Protected: false,
		Target: attack.BankTarget(bankOrigin), Handler: a, Reset: a.reset, Effects: a.effects,
	}
}

// libraryVictim is the bank wrapped by the library's middleware.
func libraryVictim(t *testing.T, mode forgeproof.TokenMode) attack.Victim {
	return libraryVictimTrusting(t, mode)
}

// libraryVictimTrusting is libraryVictim with TrustedOrigins: trusting
// the sibling subdomains lets their requests through the origin layer, so
// only the tokens stand in the way of the sibling's attacks (cookie
// tossing, a stolen token).
func libraryVictimTrusting(t *testing.T, mode forgeproof.TokenMode, trusted ...string) attack.Victim {
	cfg := forgeproof.Config{
		SessionCookie:  "session",
		Tokens:         mode,
		TrustedOrigins: trusted,
		Routes: append(append([]forgeproof.Route(nil), routes...),
			// Browsers cannot add a header to a WebSocket handshake: the
			// origin layer alone checks it.
			forgeproof.Route{Pattern: "GET /ws", CheckSafeMethods: true, Tokens: forgeproof.TokensOff}),
		ErrorLog: quiet,
	}
	p, err := forgeproof.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	a := newApp(func() *bank.Bank {
		return bank.New(bank.Options{Protection: p, SameSiteNone: true, ErrorLog: quiet})
	})
	name := "library/" + mode.String()
	if len(trusted) > 0 {
		name += " trusting " + strings.Join(trusted, ", ")
	}
	return attack.Victim{
		Name: name, Protected: true,
		Target: attack.BankTarget(bankOrigin), Handler: p.Handler(a), Reset: a.reset, Effects: a.effects,
	}
}

// gatewayVictim is the unprotected bank on a loopback port behind the
// gateway.
func gatewayVictim(t *testing.T, mode forgeproof.TokenMode) attack.Victim {
	return gatewayVictimCORS(t, mode, nil)
}

// openCORS is a CORS policy wrongly open to the attacker, with credentials
// and the headers the attacks send: preflights then pass, and only the
// CSRF checks stand in the way of the requests that follow.
var openCORS = &gateway.CORS{
	AllowOrigins:     []string{"https://evil.test"},
	AllowMethods:     []string{"GET", "POST", "DELETE"},
	AllowHeaders:     []string{"Content-Type", "X-Forgeproof-Token", "X-Requested-With", "X-HTTP-Method-Override"},
	AllowCredentials: true,
}

func gatewayVictimCORS(t *testing.T, mode forgeproof.TokenMode, cors *gateway.CORS) attack.Victim {
	a := newApp(func() *bank.Bank { return bank.New(bank.Options{SameSiteNone: true, ErrorLog: quiet}) })
	backend := httptest.NewServer(a)
	t.Cleanup(backend.Close)
	u, _ := url.Parse(backend.URL)
	var gwRoutes []gateway.Route
	for _, r := range routes {
		gwRoutes = append(gwRoutes, gateway.Route{Pattern: r.Pattern, Protect: r})
	}
	g, err := gateway.New(gateway.Options{
		Upstreams:  []gateway.Upstream{{URL: u}},
		Protection: forgeproof.Config{SessionCookie: "session", Tokens: mode, ErrorLog: quiet},
		Routes:     gwRoutes,
		// HTML injection is on by default.
		CORS:   cors,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	name := "gateway/" + mode.String()
	if cors != nil {
		name += " with CORS wrongly open to evil.test"
	}
	target := attack.BankTarget(bankOrigin)
	target.TokenMeta = "forgeproof-token" // the tag the gateway injects
	return attack.Victim{
		Name: name, Protected: true,
		Target: target, Handler: g, Reset: a.reset, Effects: a.effects,
	}
}

var quiet = log.New(io.Discard, "", 0)

// naiveVictim is the bank behind a naive double-submit check: a token
// cookie that any subdomain can overwrite, compared with the form field,
// with no origin check and no session binding. Cookie tossing breaks it.
func naiveVictim() attack.Victim {
	a := newApp(func() *bank.Bank { return bank.New(bank.Options{SameSiteNone: true, ErrorLog: quiet}) })
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet:
			if _, err := r.Cookie("csrf"); err != nil {
				http.SetCookie(w, &http.Cookie{Name: "csrf", Value: rand.Text(), Path: "/", Secure: true, SameSite: http.SameSiteLaxMode})
			}
		case r.URL.Path == "/login":
			// The sign-in form carries no token in this naive scheme.
		default:
			c, err := r.Cookie("csrf")
			field := attack.BankTarget(bankOrigin).TokenField
			if err != nil || r.FormValue(field) == "" || r.FormValue(field) != c.Value {
				http.Error(w, "csrf token mismatch", http.StatusForbidden)
				return
			}
		}
		a.ServeHTTP(w, r)
	})
	return attack.Victim{
		Name: "naive double-submit", Protected: false,
		Target: attack.BankTarget(bankOrigin), Handler: h, Reset: a.reset, Effects: a.effects,
	}
}
