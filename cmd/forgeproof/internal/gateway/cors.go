package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/forgeproof/forgeproof"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/httpsyntax"
)

// compiledCORS is a [CORS] policy with its defaults filled in.
type compiledCORS struct {
	any         bool            // "*" without credentials
	origins     map[string]bool // normalized origins
	methods     map[string]bool
	methodsList string
	headers     map[string]bool // lower case
	headersList string
	expose      string
	credentials bool
	maxAge      string // "" to omit

	// last is the verdict on the last origin that had to be normalized:
	// most requests come from one page's origin, and normalizing it
	// allocates.
	last atomic.Pointer[corsVerdict]
}

// corsVerdict is the Access-Control-Allow-Origin value for an origin.
type corsVerdict struct{ origin, allow string }

func compileCORS(c *CORS, tokenHeader string) (*compiledCORS, error) {
	if c == nil {
		return nil, nil
	}
	var errs []error
	cc := &compiledCORS{origins: make(map[string]bool), methods: make(map[string]bool), headers: make(map[string]bool), credentials: c.AllowCredentials}
	if len(c.AllowOrigins) == 0 {
		errs = append(errs, errors.New("AllowOrigins is empty; list the origins allowed to read responses, such as \"https://app.example.com\""))
	}
	for i, o := range c.AllowOrigins {
		switch o {
		case "*":
			if c.AllowCredentials {
				errs = append(errs, errors.New("AllowOrigins \"*\" with AllowCredentials would let any site read users' data; list the origins explicitly"))
			}
			cc.any = true
			continue
		case "null":
			errs = append(errs, fmt.Errorf("AllowOrigins[%d] is \"null\", which sandboxed frames and data: URLs of any site send; it is never allowed", i))
			continue
		}
		n, err := forgeproof.CanonicalOrigin(o)
		if err != nil {
			fe := err.(*forgeproof.FieldError)
			errs = append(errs, fmt.Errorf("AllowOrigins[%d]: %s; %s", i, fe.Msg, fe.Hint))
			continue
		}
		cc.origins[n] = true
	}
	methods := c.AllowMethods
	if len(methods) == 0 {
		methods = []string{http.MethodGet, http.MethodHead, http.MethodPost}
	}
	for i, m := range methods {
		if !httpsyntax.IsToken(m) {
			errs = append(errs, fmt.Errorf("AllowMethods[%d] %q is not a method", i, m))
			continue
		}
		cc.methods[strings.ToUpper(m)] = true
	}
	cc.methodsList = strings.Join(sortedKeys(cc.methods), ", ")
	headers := c.AllowHeaders
	if len(headers) == 0 {
		headers = []string{"Content-Type", tokenHeader}
	}
	for i, h := range headers {
		if !httpsyntax.IsToken(h) {
			errs = append(errs, fmt.Errorf("AllowHeaders[%d] %q is not a header name", i, h))
			continue
		}
		cc.headers[strings.ToLower(h)] = true
	}
	cc.headersList = strings.Join(sortedKeys(cc.headers), ", ")
	for i, h := range c.ExposeHeaders {
		if !httpsyntax.IsToken(h) {
			errs = append(errs, fmt.Errorf("ExposeHeaders[%d] %q is not a header name", i, h))
		}
	}
	cc.expose = strings.Join(c.ExposeHeaders, ", ")
	switch {
	case c.MaxAge == 0:
		cc.maxAge = "300"
	case c.MaxAge > 0:
		cc.maxAge = strconv.FormatInt(int64(c.MaxAge/time.Second), 10)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return cc, nil
}

func sortedKeys(m map[string]bool) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// normalizeOrigin returns the serialized origin of s as the library
// writes it (lower-case scheme and host, default port dropped), or false
// when s is not an origin.
func normalizeOrigin(s string) (string, bool) {
	n, err := forgeproof.CanonicalOrigin(s)
	return n, err == nil
}

// allowed returns the Access-Control-Allow-Origin value for origin, or "".
func (c *compiledCORS) allowed(origin string) string {
	if origin == "" || origin == "null" {
		return ""
	}
	if c.origins[origin] { // already in normal form: no allocation
		return origin
	}
	if v := c.last.Load(); v != nil && v.origin == origin {
		return v.allow
	}
	allow := ""
	if n, ok := normalizeOrigin(origin); ok && c.origins[n] {
		allow = origin
	} else if c.any {
		allow = "*"
	}
	c.last.Store(&corsVerdict{origin: origin, allow: allow})
	return allow
}

// apply replaces the backend's CORS response headers by the policy's.
func (c *compiledCORS) apply(h http.Header, origin string) {
	for k := range h {
		if strings.HasPrefix(k, "Access-Control-") {
			delete(h, k)
		}
	}
	addVary(h, "Origin")
	allow := c.allowed(origin)
	if allow == "" {
		return
	}
	h["Access-Control-Allow-Origin"] = []string{allow}
	if c.credentials && allow != "*" {
		h["Access-Control-Allow-Credentials"] = trueValue
	}
	if c.expose != "" {
		h.Set("Access-Control-Expose-Headers", c.expose)
	}
}

// preflightPolicy returns the CORS policy that answers r if r is a CORS
// preflight (OPTIONS with Access-Control-Request-Method), or nil. A
// preflight asks about the request that will follow, so it is matched
// under the method it names, not under OPTIONS: a policy on "PUT /api/x"
// must answer the preflight for PUT /api/x.
func (g *Gateway) preflightPolicy(r *http.Request) *compiledCORS {
	if r.Method != http.MethodOptions {
		return nil
	}
	m := r.Header.Get("Access-Control-Request-Method")
	if m == "" || !httpsyntax.IsToken(m) {
		return nil
	}
	return g.match(m, r.URL.Path).cors
}

// preflight answers a CORS preflight request: 204 with the policy's
// headers when the origin, method and headers are allowed, 403 otherwise.
// The backend never sees it.
func (g *Gateway) preflight(w http.ResponseWriter, r *http.Request, c *compiledCORS, origin string) {
	h := w.Header()
	addVary(h, "Origin")
	addVary(h, "Access-Control-Request-Method")
	addVary(h, "Access-Control-Request-Headers")
	allow := c.allowed(origin)
	if allow == "" {
		g.fail(w, http.StatusForbidden, "cors-refused", "CORS Preflight Refused",
			"the origin is not in this route's CORS allowlist; add it to AllowOrigins if it must read responses")
		return
	}
	method := r.Header.Get("Access-Control-Request-Method")
	if !c.methods[method] {
		g.fail(w, http.StatusForbidden, "cors-refused", "CORS Preflight Refused",
			"the method is not in this route's CORS AllowMethods")
		return
	}
	for _, v := range r.Header.Values("Access-Control-Request-Headers") {
		for name := range strings.SplitSeq(v, ",") {
			name = strings.ToLower(strings.TrimSpace(name))
			if name != "" && !c.headers[name] {
				g.fail(w, http.StatusForbidden, "cors-refused", "CORS Preflight Refused",
					"a request header is not in this route's CORS AllowHeaders")
				return
			}
		}
	}
	h.Set("Access-Control-Allow-Origin", allow)
	if c.credentials && allow != "*" {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	h.Set("Access-Control-Allow-Methods", c.methodsList)
	if c.headersList != "" {
		h.Set("Access-Control-Allow-Headers", c.headersList)
	}
	if c.maxAge != "" {
		h.Set("Access-Control-Max-Age", c.maxAge)
	}
	w.WriteHeader(http.StatusNoContent)
}
