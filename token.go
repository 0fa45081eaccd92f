package forgeproof

import (
	"html/template"
	"net/http"
)

// tokens holds the token layer's state. (core-token owns this file.)
type tokens struct{}

// verify applies the token layer in the given mode to r and returns
// ReasonNone or the reason for rejection.
func (p *Protection) verifyToken(r *http.Request, mode TokenMode, oneTime bool) Reason {
	panic("SKELETON")
}

// Token returns a freshly masked token for r, setting the token cookie on w
// when r does not already carry a valid one.
func (p *Protection) Token(w http.ResponseWriter, r *http.Request) string {
	panic("SKELETON")
}

// TemplateField returns a hidden form input carrying a fresh masked token.
func (p *Protection) TemplateField(w http.ResponseWriter, r *http.Request) template.HTML {
	panic("SKELETON")
}

// TokenHandler returns a handler answering {"token","header","field"}.
func (p *Protection) TokenHandler() http.Handler {
	panic("SKELETON")
}

// Rotate issues a new token bound to sessionID (after login or logout).
func (p *Protection) Rotate(w http.ResponseWriter, r *http.Request, sessionID string) string {
	panic("SKELETON")
}

// OneTimeToken returns a masked token accepted once, on routes with
// OneTimeTokens set.
func (p *Protection) OneTimeToken(w http.ResponseWriter, r *http.Request) (string, error) {
	panic("SKELETON")
}
