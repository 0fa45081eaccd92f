// Command forms is a server-rendered net/http application protected by
// forgeproof: html/template forms carry the token in a hidden field, and
// the token is rotated at login and logout (Protection.Rotate), which
// defeats login CSRF and session fixation.
//
//	go run ./examples/forms            # then open http://127.0.0.1:8081
//
// Sign in as alice / wonderland.
package main

import (
	"crypto/rand"
	"flag"
	"fmt"
	"html/template"
	"log"
	"net/http"
	"sync"

	"github.com/forgeproof/forgeproof"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8081", "listen on `ADDR`")
	flag.Parse()
	h, err := newApp()
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("forms example on http://%s (alice / wonderland)", *addr)
	log.Fatal(http.ListenAndServe(*addr, h))
}

var page = template.Must(template.New("page").Parse(`<!doctype html>
<title>forgeproof forms example</title>
{{if .User}}
<p>Signed in as {{.User}}. {{.Message}}</p>
<form method="post" action="/transfer">
  {{.CSRFField}}
  <input name="to" placeholder="to"> <input name="amount" placeholder="amount">
  <button>Transfer</button>
</form>
<form method="post" action="/logout">{{.CSRFField}}<button>Sign out</button></form>
{{else}}
<form method="post" action="/login">
  {{.CSRFField}}
  <input name="user" placeholder="user"> <input name="password" type="password" placeholder="password">
  <button>Sign in</button>
</form>
{{end}}
`))

// app holds the sessions: session identifier to user name.
type app struct {
	prot     *forgeproof.Protection
	mu       sync.Mutex
	sessions map[string]string
}

const sessionCookie = "session"

// newApp returns the application's handler, wrapped by forgeproof.
func newApp() (http.Handler, error) {
	a := &app{sessions: map[string]string{}}
	p, err := forgeproof.New(forgeproof.Config{
		// Tokens are bound to the session: a token issued before login,
		// or to another user, is refused.
		SessionCookie: sessionCookie,
	})
	if err != nil {
		return nil, err
	}
	a.prot = p
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", a.home)
	mux.HandleFunc("POST /login", a.login)
	mux.HandleFunc("POST /logout", a.logout)
	mux.HandleFunc("POST /transfer", a.transfer)
	return p.Handler(mux), nil
}

// user returns the signed-in user of r, or "".
func (a *app) user(r *http.Request) string {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return ""
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sessions[c.Value]
}

// render writes the page with a fresh token for the form (or the given
// one, right after a rotation).
func (a *app) render(w http.ResponseWriter, r *http.Request, user, message string) {
	field, err := a.prot.TemplateField(w, r)
	if err != nil {
		http.Error(w, "token store unavailable", http.StatusServiceUnavailable)
		return
	}
	page.Execute(w, map[string]any{"User": user, "Message": message, "CSRFField": field})
}

func (a *app) home(w http.ResponseWriter, r *http.Request) {
	a.render(w, r, a.user(r), "")
}

func (a *app) login(w http.ResponseWriter, r *http.Request) {
	if r.PostFormValue("user") != "alice" || r.PostFormValue("password") != "wonderland" {
		http.Error(w, "wrong user or password", http.StatusUnauthorized)
		return
	}
	sid := rand.Text()
	a.mu.Lock()
	a.sessions[sid] = "alice"
	a.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: sid, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	// A new session: the token of the anonymous visitor stops working,
	// and the next page gets one bound to the new session.
	if _, err := a.prot.Rotate(w, r, sid); err != nil {
		http.Error(w, "token store unavailable", http.StatusServiceUnavailable)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (a *app) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		a.mu.Lock()
		delete(a.sessions, c.Value)
		a.mu.Unlock()
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Path: "/", MaxAge: -1})
	if _, err := a.prot.Rotate(w, r, ""); err != nil {
		http.Error(w, "token store unavailable", http.StatusServiceUnavailable)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (a *app) transfer(w http.ResponseWriter, r *http.Request) {
	user := a.user(r)
	if user == "" {
		http.Error(w, "sign in first", http.StatusUnauthorized)
		return
	}
	a.render(w, r, user, fmt.Sprintf("Transferred %s to %s.", r.PostFormValue("amount"), r.PostFormValue("to")))
}
