package forgeproof

import (
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// parseProxies parses Config.TrustedProxies: single addresses and CIDR
// prefixes.
func parseProxies(entries []string) ([]netip.Prefix, []error) {
	var prefixes []netip.Prefix
	var errs []error
	for i, s := range entries {
		p, err := parseProxy(s)
		if err != nil {
			err.Field = fmt.Sprintf("TrustedProxies[%d]", i)
			errs = append(errs, err)
			continue
		}
		prefixes = append(prefixes, p)
	}
	return prefixes, errs
}

// parseProxy parses one TrustedProxies entry: an IP address, which stands
// for itself, or a CIDR prefix, which is masked. An IPv4-mapped IPv6
// address stands for the IPv4 address.
func parseProxy(s string) (netip.Prefix, *FieldError) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, &FieldError{Msg: fmt.Sprintf("%q is not a CIDR prefix", s), Hint: "write it as \"10.0.0.0/8\" or \"fd00::/8\""}
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, &FieldError{Msg: fmt.Sprintf("%q is not an IP address", s), Hint: "list proxies by address (\"10.0.0.7\") or prefix (\"10.0.0.0/8\"), not by host name"}
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// fromTrustedProxy reports whether the peer of r is a trusted proxy.
func (p *Protection) fromTrustedProxy(r *http.Request) bool {
	if len(p.proxies) == 0 {
		return false
	}
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	var a netip.Addr
	if err == nil {
		a = ap.Addr()
	} else if a, err = netip.ParseAddr(r.RemoteAddr); err != nil {
		return false
	}
	a = a.Unmap()
	for _, pr := range p.proxies {
		if pr.Contains(a) {
			return true
		}
	}
	return false
}

// forwarded returns the public scheme, host and port that a trusted proxy
// reported for r, each "" when not reported. The Forwarded header
// (RFC 7239) is preferred to X-Forwarded-Proto and X-Forwarded-Host; the
// port comes from X-Forwarded-Port (Forwarded carries it in host). When a
// request crossed several proxies, each appended its own element, so the
// last element is the one added by the nearest proxy, the only one whose
// word we can check (its address is the peer's).
func forwarded(h http.Header) (proto, host, port string) {
	if vs := h["Forwarded"]; len(vs) > 0 {
		proto, host = forwardedElement(lastElement(vs[len(vs)-1]))
	}
	if proto == "" {
		if vs := h["X-Forwarded-Proto"]; len(vs) > 0 {
			proto = lastListItem(vs[len(vs)-1])
		}
	}
	if host == "" {
		if vs := h["X-Forwarded-Host"]; len(vs) > 0 {
			host = lastListItem(vs[len(vs)-1])
		}
	}
	if vs := h["X-Forwarded-Port"]; len(vs) > 0 {
		port = lastListItem(vs[len(vs)-1])
	}
	return proto, host, port
}

// hasPort reports whether an authority names a port.
func hasPort(authority string) bool {
	if i := strings.LastIndexByte(authority, ']'); i >= 0 {
		authority = authority[i:]
	}
	return strings.Contains(authority, ":")
}

// lastListItem returns the last comma-separated item of s, trimmed.
func lastListItem(s string) string {
	if i := strings.LastIndexByte(s, ','); i >= 0 {
		s = s[i+1:]
	}
	return strings.TrimSpace(s)
}

// lastElement returns the last comma-separated element of a Forwarded
// header value, honouring quoted strings (which may contain commas).
func lastElement(s string) string {
	start, quoted := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && c == ',':
			start = i + 1
		}
	}
	return s[start:]
}

// forwardedElement returns the proto and host parameters of one Forwarded
// element ("for=192.0.2.60;proto=https;host=\"bank.test:8443\"").
func forwardedElement(e string) (proto, host string) {
	for e != "" {
		var pair string
		pair, e = cutPair(e)
		name, value, ok := strings.Cut(pair, "=")
		if !ok {
			continue
		}
		name = strings.TrimSpace(name)
		value = unquote(strings.TrimSpace(value))
		switch {
		case strings.EqualFold(name, "proto"):
			proto = value
		case strings.EqualFold(name, "host"):
			host = value
		}
	}
	return proto, host
}

// cutPair cuts the first ';'-separated pair off e, honouring quotes.
func cutPair(e string) (pair, rest string) {
	quoted := false
	for i := 0; i < len(e); i++ {
		switch c := e[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case !quoted && c == ';':
			return e[:i], e[i+1:]
		}
	}
	return e, ""
}

// unquote returns the content of an RFC 7230 quoted-string, or s itself
// when it is a token. A quoted-string with escapes is unescaped (which
// allocates); one that is not terminated yields "".
func unquote(s string) string {
	if s == "" || s[0] != '"' {
		return s
	}
	if len(s) < 2 || s[len(s)-1] != '"' {
		return ""
	}
	s = s[1 : len(s)-1]
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// PublicOrigin returns the origin, such as "https://bank.example", at which
// the browser reached r, as the origin layer judges it: the matching entry
// of [Config.PublicOrigins], or else the request's scheme and Host with the
// forwarding headers of a trusted proxy believed. The default port is
// omitted. A gateway or framework that must know what "same origin" means
// for r (to harden cookies, or to recognize a same-origin form action) asks
// here rather than repeating the rule.
func (p *Protection) PublicOrigin(r *http.Request) string {
	return p.requestOrigin(r).String()
}

// PublicHTTPS reports whether the browser reached r over HTTPS: whether
// [Protection.PublicOrigin] of r is an https origin. Unlike PublicOrigin,
// it does not allocate: a gateway that decides on every response whether
// a cookie may be marked Secure asks here.
func (p *Protection) PublicHTTPS(r *http.Request) bool { return p.isHTTPS(r) }

// isHTTPS reports whether r reached the application over HTTPS: the
// scheme of its own origin (see requestOrigin).
func (p *Protection) isHTTPS(r *http.Request) bool {
	return strings.EqualFold(p.requestOrigin(r).scheme, "https")
}

// requestOrigin returns the origin at which the browser reached r. With
// PublicOrigins configured it is the public origin whose host and port
// match r.Host, or the first one. Otherwise the scheme is https when the
// connection used TLS, and the host is r.Host; a trusted proxy's
// forwarding headers override both. It does not allocate.
func (p *Protection) requestOrigin(r *http.Request) origin {
	if len(p.public) > 0 {
		for _, o := range p.public {
			if h, ok := parseAuthority(o.scheme, r.Host); ok && strings.EqualFold(h.host, o.host) && h.port == o.port {
				return o
			}
		}
		return p.public[0]
	}
	scheme, host := "http", r.Host
	if r.TLS != nil {
		scheme = "https"
	}
	port := ""
	if p.fromTrustedProxy(r) {
		var proto, fhost string
		proto, fhost, port = forwarded(r.Header)
		switch {
		case strings.EqualFold(proto, "https"):
			scheme = "https"
		case strings.EqualFold(proto, "http"):
			scheme = "http"
		}
		if fhost != "" {
			host = fhost
		}
	}
	o, ok := parseAuthority(scheme, host)
	if !ok {
		// An unusable Host (empty, or with bytes no origin can hold)
		// gives an origin that equals no browser-sent origin, so every
		// origin check on it fails closed.
		return origin{scheme: scheme, host: "\x00invalid-host"}
	}
	if port != "" && !hasPort(host) && validPort(port) {
		o.port = normalizePort(scheme, port)
	}
	return o
}
