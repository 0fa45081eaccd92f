package gateway

import (
	"errors"
	"net/http"
	"strings"
)

// compiledHeaders are [Headers] with their defaults filled in.
type compiledHeaders struct {
	csp            string // the whole policy
	frameAncestors string // "frame-ancestors …", added beside a backend policy without one
	referrer       string
	override       bool
	disable        bool

	// Header values as slices with len == cap, assigned to response
	// headers without allocating; a later Add copies instead of writing
	// into them.
	cspValue, referrerValue []string
}

var nosniffValue = []string{"nosniff"}

func compileHeaders(h Headers) (compiledHeaders, error) {
	c := compiledHeaders{override: h.Override, disable: h.Disable}
	fa := h.FrameAncestors
	if fa == "" {
		fa = "'self'"
	}
	if strings.ContainsAny(fa, ";,\r\n") {
		return c, errors.New("FrameAncestors must be a CSP source list such as \"'self' https://partner.example\", without ';' or ','")
	}
	c.frameAncestors = "frame-ancestors " + fa
	c.csp = strings.TrimSpace(h.ContentSecurityPolicy)
	if strings.ContainsAny(c.csp, "\r\n") {
		return c, errors.New("ContentSecurityPolicy must be one line")
	}
	switch {
	case c.csp == "":
		// base-uri 'self' keeps a <base> planted in a page from sending
		// its forms, and the token fields in them, to another site.
		c.csp = c.frameAncestors + "; base-uri 'self'"
	case !hasDirective(c.csp, "frame-ancestors"):
		c.csp = strings.TrimRight(c.csp, "; ") + "; " + c.frameAncestors
	}
	c.referrer = h.ReferrerPolicy
	if c.referrer == "" {
		c.referrer = "strict-origin-when-cross-origin"
	}
	if strings.ContainsAny(c.referrer, "\r\n") {
		return c, errors.New("ReferrerPolicy must be one line")
	}
	c.cspValue = []string{c.csp}
	c.referrerValue = []string{c.referrer}
	return c, nil
}

// hasDirective reports whether the policy names the directive.
func hasDirective(policy, name string) bool {
	for d := range strings.SplitSeq(policy, ";") {
		f := strings.Fields(d)
		if len(f) > 0 && strings.EqualFold(f[0], name) {
			return true
		}
	}
	return false
}

// apply sets the security headers on a response header, keeping the
// backend's own values unless told to override them.
func (c *compiledHeaders) apply(h http.Header) {
	if c.disable {
		return
	}
	if c.override {
		h["Content-Security-Policy"] = c.cspValue
		delete(h, "X-Frame-Options")
		h["Referrer-Policy"] = c.referrerValue
		h["X-Content-Type-Options"] = nosniffValue
		return
	}
	framed := framingPolicy(h)
	if policies := h.Values("Content-Security-Policy"); len(policies) == 0 {
		if !framed {
			h["Content-Security-Policy"] = c.cspValue
		} else {
			// The backend chose its framing rule with X-Frame-Options;
			// the rest of the policy still applies.
			if p := withoutDirective(c.csp, "frame-ancestors"); p != "" {
				h.Set("Content-Security-Policy", p)
			}
		}
	} else if !framed && !anyHasDirective(policies, "frame-ancestors") {
		// A second policy is enforced in addition to the backend's:
		// browsers apply every Content-Security-Policy header.
		h.Add("Content-Security-Policy", c.frameAncestors)
	}
	if h.Get("Referrer-Policy") == "" {
		h["Referrer-Policy"] = c.referrerValue
	}
	if h.Get("X-Content-Type-Options") == "" {
		h["X-Content-Type-Options"] = nosniffValue
	}
}

// framingPolicy reports whether the backend's X-Frame-Options is a
// framing rule that browsers enforce: DENY or SAMEORIGIN, in any case,
// possibly repeated. Anything else (ALLOW-FROM, which current browsers
// ignore, a typo, an empty value) is no rule at all, and must not take
// the place of the gateway's frame-ancestors directive.
func framingPolicy(h http.Header) bool {
	vs := h["X-Frame-Options"]
	if len(vs) == 0 {
		return false
	}
	for _, v := range vs {
		for part := range strings.SplitSeq(v, ",") {
			p := strings.TrimSpace(part)
			if !strings.EqualFold(p, "DENY") && !strings.EqualFold(p, "SAMEORIGIN") {
				return false
			}
		}
	}
	return true
}

func anyHasDirective(policies []string, name string) bool {
	for _, p := range policies {
		if hasDirective(p, name) {
			return true
		}
	}
	return false
}

// withoutDirective returns the policy without the named directive.
func withoutDirective(policy, name string) string {
	var keep []string
	for d := range strings.SplitSeq(policy, ";") {
		f := strings.Fields(d)
		if len(f) == 0 || strings.EqualFold(f[0], name) {
			continue
		}
		keep = append(keep, strings.TrimSpace(d))
	}
	return strings.Join(keep, "; ")
}
