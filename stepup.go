package forgeproof

import "net/http"

// checkReauth applies the step-up layer of a sensitive route. (monitoring and
// step-up work owns this file.)
func (p *Protection) checkReauth(r *http.Request, rt *Route) Reason {
	return ReasonNone // SKELETON
}

// GrantReauth mints a re-authentication proof. SKELETON: signature to be
// settled by the step-up work.
func (p *Protection) GrantReauth(w http.ResponseWriter, r *http.Request, method, path string) (string, error) {
	panic("SKELETON")
}
