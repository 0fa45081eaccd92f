package forgeproof

import "net/http"

// A Candidate is a route that a common router might dispatch a request to,
// with the method it would dispatch it as.
type Candidate struct {
	// Method is the request's own method or one named by a method
	// override.
	Method string
	// Pattern is the Pattern of the route in [Config.Routes].
	Pattern string
}

// Candidates returns every route under which the middleware judges r, with
// the method of each: r's own method and every method override, and r's
// path as case-insensitive, trailing-slash-tolerant, ;params-stripping and
// dot-resolving routers read it (see the package documentation, "Dispatch
// confusion"). Ways of reading r that reach no route are left out. ok is
// false when a method override is malformed, so that the backend's
// dispatch cannot be known (the middleware refuses such a request with
// [ReasonMethodOverrideInvalid]).
//
// A layer built on top that applies per-route rules of its own, such as a
// gateway that validates requests against the operations of an API
// description, calls it so that its rules reach every handler the request
// might run, as the library's do. It may read a form body for a _method
// field, and restores it.
func (p *Protection) Candidates(r *http.Request) (cands []Candidate, ok bool) {
	var ms methodSet
	p.requestMethods(r, isSafeMethod(r.Method), &ms)
	if ms.invalid {
		return nil, false
	}
	urlPath, raw := "/", ""
	if r.URL != nil {
		urlPath, raw = r.URL.Path, r.URL.RawPath
	}
	var cs candidateSet
	p.candidates(&ms, urlPath, raw, &cs)
	for i := 0; i < cs.len(); i++ {
		if c := cs.at(i); c.rt != nil {
			cands = append(cands, Candidate{Method: c.method, Pattern: c.rt.Pattern})
		}
	}
	return cands, true
}
