// Command spa is a JSON API with a single-page front end, protected by
// forgeproof: the page fetches a token from /csrf (Protection.TokenHandler)
// and sends it in the X-Forgeproof-Token header; when the API refuses a token
// (expired, or rotated at login) the page fetches a fresh one and retries
// once. API clients without a browser do the same (see client.go).
//
//	go run ./examples/spa              # then open http://127.0.0.1:8082
package main

import (
	"crypto/rand"
	_ "embed"
	"encoding/json"
	"flag"
	"log"
	"net/http"
	"sync"

	"github.com/forgeproof/forgeproof"
)

//go:embed index.html
var indexHTML []byte

func main() {
	addr := flag.String("addr", "127.0.0.1:8082", "listen on `ADDR`")
	flag.Parse()
	h, err := newApp()
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("single-page example on http://%s (alice / wonderland)", *addr)
	log.Fatal(http.ListenAndServe(*addr, h))
}

const sessionCookie = "session"

type app struct {
	prot     *forgeproof.Protection
	mu       sync.Mutex
	sessions map[string]string   // session identifier to user
	notes    map[string][]string // user to notes
}

// newApp returns the application's handler, wrapped by forgeproof.
func newApp() (http.Handler, error) {
	a := &app{sessions: map[string]string{}, notes: map[string][]string{}}
	p, err := forgeproof.New(forgeproof.Config{
		SessionCookie: sessionCookie,
		Routes: []forgeproof.Route{
			// The API takes JSON only: an HTML form cannot send it
			// cross-site without a CORS preflight.
			{Pattern: "/api/", JSONOnly: true},
		},
	})
	if err != nil {
		return nil, err
	}
	a.prot = p
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(indexHTML)
	})
	mux.Handle("GET /csrf", p.TokenHandler())
	mux.HandleFunc("POST /api/login", a.login)
	mux.HandleFunc("POST /api/notes", a.addNote)
	return p.Handler(mux), nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (a *app) login(w http.ResponseWriter, r *http.Request) {
	var in struct{ User, Password string }
	if json.NewDecoder(r.Body).Decode(&in) != nil || in.User != "alice" || in.Password != "wonderland" {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "wrong user or password"})
		return
	}
	sid := rand.Text()
	a.mu.Lock()
	a.sessions[sid] = in.User
	a.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: sid, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	// The session changed: rotate, and hand the page its new token.
	tok, err := a.prot.Rotate(w, r, sid)
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "token store unavailable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"user": in.User, "token": tok})
}

func (a *app) addNote(w http.ResponseWriter, r *http.Request) {
	c, err := r.Cookie(sessionCookie)
	a.mu.Lock()
	defer a.mu.Unlock()
	user := ""
	if err == nil {
		user = a.sessions[c.Value]
	}
	if user == "" {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "sign in first"})
		return
	}
	var in struct{ Text string }
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Text == "" {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": `send {"text": "..."}`})
		return
	}
	a.notes[user] = append(a.notes[user], in.Text)
	writeJSON(w, http.StatusCreated, map[string]any{"notes": a.notes[user]})
}
