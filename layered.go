package forgeproof

import (
	"net/http"
	"slices"
)

// Layers built on top.
//
// A tool that adds a check of its own in front of the library, such as the
// gateway's role check, must apply it to the same routes as the library
// and report it like the library's own rejections. CandidatePatterns and
// Refuse let it do both without repeating the matching rules or the
// rejection format.

// CandidatePatterns returns the patterns of every route that some common
// router might dispatch r to (see the package documentation, "Dispatch
// confusion"), under its own method and every method that a method
// override in r names, whether r is safe or not. A rule attached to a
// pattern by a layer built on top applies to r when its pattern is among
// them, so that spelling a path or a method differently never escapes it.
// The route that ServeMux would pick ([Protection.RoutePattern]) comes
// first; a request that matches no route gets an empty slice.
func (p *Protection) CandidatePatterns(r *http.Request) []string {
	var ms methodSet
	// Unsafe, so that override headers and a _method field count on
	// any method: the layer on top judges who sends r, not where from.
	p.requestMethods(r, false, &ms)
	urlPath, raw := "/", ""
	if r.URL != nil {
		urlPath, raw = r.URL.Path, r.URL.RawPath
	}
	if ms.invalid {
		// The backend may dispatch the request as any method.
		ms.any = true
	}
	var cs candidateSet
	primary := p.candidates(&ms, urlPath, raw, &cs)
	var out []string
	if primary != nil {
		out = append(out, primary.Pattern)
	}
	for i := 0; i < cs.len(); i++ {
		if rt := cs.at(i).rt; rt != nil && rt != primary && !slices.Contains(out, rt.Pattern) {
			out = append(out, rt.Pattern)
		}
	}
	return out
}

// Refuse reports a rejection for reason decided by a layer built on top
// of the library, as the library reports its own: it calls
// [Config.OnDecision] and [Config.OnRequestDecision] with a denial event
// for r and, unless the denial is report-only (reportOnly, or
// [Config.ReportOnly]), answers r with [Config.DenyHandler] or the
// default problem+json body. It reports whether r was answered; if not,
// the caller goes on serving it.
func (p *Protection) Refuse(w http.ResponseWriter, r *http.Request, reason Reason, reportOnly bool) bool {
	if reason == ReasonNone || reason >= numReasons {
		return false
	}
	v := verdict{reason: reason, method: r.Method, reportOnly: reportOnly || p.reportOnly}
	if r.URL != nil {
		v.route = p.match(r.Method, cleanPath(r.URL.Path), false)
	}
	if p.onDecision != nil {
		p.onDecision(r, p.event(r, &v))
	}
	if v.reportOnly {
		return false
	}
	p.reject(w, r, reason)
	return true
}
