package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/httpsyntax"
)

// setCookie is a Set-Cookie header line split into its parts. The parts
// are kept as the backend wrote them, so that rewriting changes only what
// it must, and attributes the gateway does not know (Partitioned,
// Priority…) survive.
type setCookie struct {
	pair  string // "name=value", trimmed
	name  string
	value string
	attrs []string // trimmed "Key[=Value]" parts, in order
}

// parseSetCookie splits a Set-Cookie line. It fails when the line has no
// name=value pair, the name is not an RFC 9110 token, or the line holds a
// control character: such a line is passed on unchanged.
func parseSetCookie(line string) (setCookie, bool) {
	return parseSetCookieInto(line, nil)
}

// parseSetCookieInto is parseSetCookie that appends the attributes to
// attrs, so that a caller can keep them in an array on its stack.
func parseSetCookieInto(line string, attrs []string) (setCookie, bool) {
	for i := 0; i < len(line); i++ {
		if c := line[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return setCookie{}, false
		}
	}
	pair, rest, _ := strings.Cut(line, ";")
	pair = strings.TrimSpace(pair)
	name, value, ok := strings.Cut(pair, "=")
	if !ok {
		return setCookie{}, false
	}
	name, value = strings.TrimSpace(name), strings.TrimSpace(value)
	if !httpsyntax.IsToken(name) {
		return setCookie{}, false
	}
	c := setCookie{pair: pair, name: name, value: value, attrs: attrs}
	for rest != "" {
		var a string
		a, rest, _ = strings.Cut(rest, ";")
		if a = strings.TrimSpace(a); a != "" {
			c.attrs = append(c.attrs, a)
		}
	}
	return c, true
}

// attr returns the index and value of the attribute named key (compared
// without regard to case), or -1. The last occurrence wins, as in
// browsers.
func (c *setCookie) attr(key string) (int, string) {
	idx, val := -1, ""
	for i, a := range c.attrs {
		k, v, _ := strings.Cut(a, "=")
		if strings.EqualFold(strings.TrimSpace(k), key) {
			idx, val = i, strings.TrimSpace(v)
		}
	}
	return idx, val
}

// deletes reports whether the cookie line removes the cookie: an empty
// value, a Max-Age of zero or less, or an Expires date in the past.
func (c *setCookie) deletes() bool {
	if c.value == "" || c.value == `""` {
		return true
	}
	if i, v := c.attr("Max-Age"); i >= 0 {
		if n, err := strconv.Atoi(v); err == nil {
			return n <= 0
		}
	}
	if i, v := c.attr("Expires"); i >= 0 {
		if t, err := http.ParseTime(v); err == nil {
			return t.Before(time.Now())
		}
	}
	return false
}

// String returns the Set-Cookie line for c.
func (c *setCookie) String() string {
	n := len(c.pair)
	for _, a := range c.attrs {
		n += 2 + len(a)
	}
	var b strings.Builder
	b.Grow(n)
	b.WriteString(c.pair)
	for _, a := range c.attrs {
		b.WriteString("; ")
		b.WriteString(a)
	}
	return b.String()
}

// setAttr replaces the attribute key of a cookie's attrs by attr, or
// appends attr. It returns the attributes and whether they changed. (A
// function rather than a method, so that attributes kept on the caller's
// stack stay there.)
func setAttr(attrs []string, key, attr string) ([]string, bool) {
	c := setCookie{attrs: attrs}
	i, _ := c.attr(key)
	if i < 0 {
		return append(attrs, attr), true
	}
	if attrs[i] == attr {
		return attrs, false
	}
	attrs[i] = attr
	return attrs, true
}

// checkCookieRules reports rules that name the same cookie twice or use a
// value outside the enumerations.
func checkCookieRules(rules []CookieRule) error {
	var errs []error
	seen := make(map[string]bool)
	for i, r := range rules {
		if seen[r.Name] {
			errs = append(errs, fmt.Errorf("[%d] repeats the rule for cookie %q; merge them", i, r.Name))
		}
		seen[r.Name] = true
		if r.Name != "" && !httpsyntax.IsToken(r.Name) {
			errs = append(errs, fmt.Errorf("[%d] name %q is not a cookie name", i, r.Name))
		}
		if r.SameSite > http.SameSiteNoneMode {
			errs = append(errs, fmt.Errorf("[%d] (%q) SameSite %d is not an http.SameSite value", i, r.Name, r.SameSite))
		}
		if r.Secure > FlagKeep || r.HttpOnly > FlagKeep {
			errs = append(errs, fmt.Errorf("[%d] (%q) Secure or HttpOnly is not a Flag; use FlagAuto, FlagSet or FlagKeep", i, r.Name))
		}
	}
	return errors.Join(errs...)
}

// ruleFor returns the rule for the cookie name.
func ruleFor(rules []CookieRule, name string) CookieRule {
	var dflt CookieRule
	for _, r := range rules {
		if r.Name == name {
			return r
		}
		if r.Name == "" {
			dflt = r
		}
	}
	dflt.Name = name
	return dflt
}

// hardenCookies rewrites the backend's Set-Cookie headers by the rules.
func (g *Gateway) hardenCookies(h http.Header, rules []CookieRule, in *http.Request) {
	lines := h["Set-Cookie"]
	if len(lines) == 0 {
		return
	}
	https := g.prot.PublicHTTPS(in)
	for i, line := range lines {
		out, warn := hardenCookie(line, rules, g.sessionCookie, https)
		if warn != "" {
			g.log.Warn("cookie not fully hardened", "cookie", cookieName(line), "problem", warn, "path", in.URL.Path)
		}
		lines[i] = out
	}
}

// cookieName returns the name in a Set-Cookie line for logs, or "?" when
// it is not a token (never the value).
func cookieName(line string) string {
	name, _, _ := strings.Cut(line, "=")
	name = strings.TrimSpace(name)
	if !httpsyntax.IsToken(name) || len(name) > 64 {
		return "?"
	}
	return name
}

// hardenCookie returns the Set-Cookie line rewritten by the rules, and a
// warning when it could not be hardened as asked. A line that does not parse
// is returned unchanged. When nothing needs to change, line itself is
// returned.
func hardenCookie(line string, rules []CookieRule, sessionCookie string, https bool) (string, string) {
	var attrs [8]string // room for the attributes of most cookies
	c, ok := parseSetCookieInto(line, attrs[:0])
	if !ok {
		return line, "Set-Cookie header does not parse; passed through unchanged"
	}
	r := ruleFor(rules, c.name)
	if r.Skip {
		return line, ""
	}
	changed, set := false, false
	warn := ""

	// SameSite.
	sameSite := ""
	if i, v := c.attr("SameSite"); i >= 0 {
		sameSite = v
	}
	switch r.SameSite {
	case 0:
		if sameSite == "" {
			c.attrs, set = setAttr(c.attrs, "SameSite", "SameSite=Lax")
			sameSite = "lax"
		}
	case http.SameSiteLaxMode:
		c.attrs, set = setAttr(c.attrs, "SameSite", "SameSite=Lax")
		sameSite = "lax"
	case http.SameSiteStrictMode:
		c.attrs, set = setAttr(c.attrs, "SameSite", "SameSite=Strict")
		sameSite = "strict"
	case http.SameSiteNoneMode:
		c.attrs, set = setAttr(c.attrs, "SameSite", "SameSite=None")
		sameSite = "none"
	}
	changed = changed || set

	// Secure: asked for, required by SameSite=None, or by a name prefix.
	secure := false
	switch r.Secure {
	case FlagAuto:
		secure = https
	case FlagSet:
		secure = true
	}
	host := strings.HasPrefix(c.name, "__Host-")
	if strings.EqualFold(sameSite, "none") || host || strings.HasPrefix(c.name, "__Secure-") {
		secure = true
	}
	if i, _ := c.attr("Secure"); i < 0 && secure {
		c.attrs = append(c.attrs, "Secure")
		changed = true
	}

	// __Host- cookies need Path=/ and no Domain.
	if host {
		if i, v := c.attr("Path"); i < 0 {
			c.attrs = append(c.attrs, "Path=/")
			changed = true
		} else if v != "/" {
			warn = "__Host- cookie with a Path other than /; browsers refuse it"
		}
		if i, _ := c.attr("Domain"); i >= 0 {
			warn = "__Host- cookie with a Domain attribute; browsers refuse it"
		}
	}

	// HttpOnly.
	httpOnly := r.HttpOnly == FlagSet || r.HttpOnly == FlagAuto && sessionCookie != "" && c.name == sessionCookie
	if i, _ := c.attr("HttpOnly"); i < 0 && httpOnly {
		c.attrs = append(c.attrs, "HttpOnly")
		changed = true
	}
	if !changed {
		return line, warn
	}
	return c.String(), warn
}
