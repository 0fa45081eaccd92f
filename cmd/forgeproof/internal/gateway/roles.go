package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"slices"

	"github.com/forgeproof/forgeproof"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/identity"
)

// Role-based access control.
//
// A route with Roles admits only senders that hold one of them. The
// gateway decides before the library's CSRF checks and before the
// backend: it finds every route that the request might be dispatched to
// (the library's CandidatePatterns), and when any of them lists roles it
// asks the identity.Verifier for the sender's roles. No verified identity
// is a 401 (unauthenticated), with a Bearer challenge when identities
// come from tokens; an identity without a required role is a 403
// (role-forbidden). The refusal is reported through the library's Refuse,
// so that it reaches OnDecision (logs, metrics, monitor, dashboard) and
// is answered like every other rejection; in report-only mode it is only
// noted, and the request goes on to the CSRF checks. Either way the
// request has one decision event (decision.go): a report-only role
// refusal is the one reported, unless a later layer refuses the request
// for good.

// roleGate is the state of the role check.
type roleGate struct {
	v          *identity.Verifier // nil when no route lists roles
	reportOnly bool               // Protection.ReportOnly
}

// routeRoles copies the roles of r (Routes[i]) into rt, checking them.
func (g *Gateway) routeRoles(rt *route, i int, r Route, ident *identity.Options) error {
	rt.reportOnly = r.Protect.ReportOnly
	if len(r.Roles) == 0 {
		return nil
	}
	if ident == nil {
		return fmt.Errorf("gateway: Routes[%d] (%q) lists roles, but Identity is not set: say where roles come from (a JWT or an authenticating proxy's header)", i, r.Pattern)
	}
	for _, role := range r.Roles {
		if !ValidRole(role) {
			return fmt.Errorf("gateway: Routes[%d] (%q) role %q must be a non-empty name without white space or commas", i, r.Pattern, role)
		}
	}
	rt.roles = slices.Clone(r.Roles)
	return nil
}

// ValidRole reports whether s can name a role: non-empty, printable,
// without white space or commas (which separate roles in headers and
// scope claims).
func ValidRole(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c <= ' ' || c == 0x7f || c == ',' {
			return false
		}
	}
	return true
}

// initRoles builds the identity verifier when some route lists roles.
func (g *Gateway) initRoles(opts Options) error {
	need := false
	for _, rt := range g.routes {
		need = need || len(rt.roles) > 0
	}
	if !need {
		return nil
	}
	idOpts := *opts.Identity
	if idOpts.Logger == nil {
		idOpts.Logger = g.log
	}
	v, err := identity.New(idOpts, g.prot.FromTrustedProxy)
	if err != nil {
		return fmt.Errorf("gateway: Identity: %w", err)
	}
	g.roles = roleGate{v: v, reportOnly: opts.Protection.ReportOnly}
	return nil
}

// refuseByRole applies the role check to r and reports whether r was
// answered.
func (g *Gateway) refuseByRole(w http.ResponseWriter, r *http.Request) bool {
	var need []*route
	for _, p := range g.prot.CandidatePatterns(r) {
		if rt := g.routes[p]; rt != nil && len(rt.roles) > 0 {
			need = append(need, rt)
		}
	}
	v := g.roles.v
	if name := v.HeaderName(); name != "" && !g.prot.FromTrustedProxy(r) {
		// Decide on the header as sent, then keep it from the backend,
		// which might believe it.
		defer r.Header.Del(name)
	}
	if len(need) == 0 || isPreflight(r) {
		// Browsers send CORS preflights without credentials, and a
		// preflight performs nothing: the request it announces is
		// checked when it comes.
		return false
	}
	reportOnly := true
	for _, rt := range need {
		reportOnly = reportOnly && rt.reportOnly
	}
	reason := forgeproof.ReasonNone
	roles, err := v.Roles(r)
	switch {
	case err != nil:
		reason = forgeproof.ReasonUnauthenticated
		// The error names what failed (expiry, issuer, signature), never
		// the credential.
		g.log.Debug("identity not verified", "error", err.Error(), "method", r.Method, "path", r.URL.Path)
	default:
		for _, rt := range need {
			if !holdsAny(roles, rt.roles) {
				reason = forgeproof.ReasonRoleForbidden
				break
			}
		}
	}
	if reason == forgeproof.ReasonNone {
		return false
	}
	if reason == forgeproof.ReasonUnauthenticated && v.FromToken() && !reportOnly && !g.roles.reportOnly {
		// RFC 6750, section 3.
		challenge := `Bearer realm="forgeproof"`
		if !errors.Is(err, identity.ErrNoCredential) {
			challenge += `, error="invalid_token"`
		}
		w.Header().Set("WWW-Authenticate", challenge)
	}
	return g.prot.Refuse(w, r, reason, reportOnly)
}

// isPreflight reports whether r is a CORS preflight request.
func isPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Origin") != "" && r.Header.Get("Access-Control-Request-Method") != ""
}

// holdsAny reports whether roles holds one of want, compared exactly.
func holdsAny(roles, want []string) bool {
	for _, r := range roles {
		if slices.Contains(want, r) {
			return true
		}
	}
	return false
}
