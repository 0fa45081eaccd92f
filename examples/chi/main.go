// Command chi is a chi application protected by forgeproof. chi takes
// net/http middleware directly, so no adapter is needed: r.Use(p.Handler).
//
//	cd examples/chi && go run .        # then http://127.0.0.1:8083
package main

import (
	"encoding/json"
	"flag"
	"log"
	"net/http"

	"github.com/forgeproof/forgeproof"
	"github.com/go-chi/chi/v5"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8083", "listen on `ADDR`")
	flag.Parse()
	h, err := newApp()
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("chi example on http://%s", *addr)
	log.Fatal(http.ListenAndServe(*addr, h))
}

// newApp returns the chi router with forgeproof in front of every route.
func newApp() (http.Handler, error) {
	p, err := forgeproof.New(forgeproof.Config{
		Routes: []forgeproof.Route{{Pattern: "/api/", JSONOnly: true}},
	})
	if err != nil {
		return nil, err
	}
	r := chi.NewRouter()
	r.Use(p.Handler)
	r.Method("GET", "/csrf", p.TokenHandler())
	r.Route("/api", func(r chi.Router) {
		r.Post("/transfers", func(w http.ResponseWriter, r *http.Request) {
			var t struct {
				To     string `json:"to"`
				Amount int    `json:"amount"`
			}
			if err := json.NewDecoder(r.Body).Decode(&t); err != nil {
				http.Error(w, `send {"to": "...", "amount": N}`, http.StatusBadRequest)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusCreated)
			json.NewEncoder(w).Encode(map[string]any{"to": t.To, "amount": t.Amount})
		})
	})
	return r, nil
}
