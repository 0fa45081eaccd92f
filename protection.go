package forgeproof

import "net/http"

// Protection is the CSRF defense: net/http middleware ([Protection.Handler])
// and the pure decision behind it ([Protection.Check]). Create one with
// [New]; it is safe for concurrent use.
type Protection struct {
	// SKELETON: fields are owned by the core-origin work (origin policy,
	// routes) and the core-token work (field tok of type tokens).
	tok tokens
}

// New returns a Protection for cfg, or an error that names every field
// that is wrong.
func New(cfg Config) (*Protection, error) {
	panic("SKELETON")
}

// Handler wraps h so that every request is checked before h sees it.
// Rejected requests are answered by the DenyHandler and never reach h.
func (p *Protection) Handler(h http.Handler) http.Handler {
	panic("SKELETON")
}

// Check applies every layer to r and returns nil or an [*Error] naming the
// reason. It writes nothing and calls neither DenyHandler nor OnDecision.
// When the token must be read from a form body, the body is restored so that
// the next handler reads it whole.
func (p *Protection) Check(r *http.Request) error {
	panic("SKELETON")
}

// isHTTPS reports whether r reached the application over HTTPS, believing
// forwarding headers only from trusted proxies. (core-origin owns this.)
func (p *Protection) isHTTPS(r *http.Request) bool {
	panic("SKELETON")
}
