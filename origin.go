package forgeproof

import (
	"fmt"
	"net/http/cookiejar"
	"strings"
)

// An origin is the (scheme, host, port) triple of RFC 6454, split out of a
// serialization without copying. Scheme and host keep the case they were
// written in and are compared case-insensitively; host keeps the brackets
// of an IPv6 literal; port is "" when it was absent or is the scheme's
// default (443 for https, 80 for http), so that https://a and https://a:443
// compare equal.
type origin struct {
	scheme, host, port string
}

// String returns the serialization of o, with the default port omitted.
func (o origin) String() string {
	if o.port == "" {
		return o.scheme + "://" + o.host
	}
	return o.scheme + "://" + o.host + ":" + o.port
}

// equal reports whether o and p are the same origin.
func (o origin) equal(p origin) bool {
	return strings.EqualFold(o.scheme, p.scheme) &&
		strings.EqualFold(o.host, p.host) &&
		o.port == p.port
}

// parseOrigin parses the serialization of an origin as browsers send it in
// the Origin header: scheme "://" host [ ":" port ], and nothing else. It
// refuses userinfo (http://evil@bank.test), a path (even "/"), a query, a
// fragment, an empty host or port, a port with a leading zero or above
// 65535, and any byte that cannot appear in a serialized host. It does not
// accept "null"; callers test for it first.
func parseOrigin(s string) (origin, bool) {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok || !validScheme(scheme) {
		return origin{}, false
	}
	return parseAuthority(scheme, rest)
}

// parseAuthority parses host [ ":" port ] for the given scheme.
func parseAuthority(scheme, s string) (origin, bool) {
	if s == "" {
		return origin{}, false
	}
	var host, port string
	hasPort := false
	if s[0] == '[' {
		end := strings.IndexByte(s, ']')
		if end < 0 || !validIPv6(s[1:end]) {
			return origin{}, false
		}
		host = s[:end+1]
		switch rest := s[end+1:]; {
		case rest == "":
		case rest[0] == ':':
			port, hasPort = rest[1:], true
		default:
			return origin{}, false
		}
	} else {
		host = s
		if i := strings.IndexByte(s, ':'); i >= 0 {
			host, port, hasPort = s[:i], s[i+1:], true
		}
		if !validRegName(host) {
			return origin{}, false
		}
	}
	if hasPort && !validPort(port) {
		return origin{}, false
	}
	return origin{scheme: scheme, host: host, port: normalizePort(scheme, port)}, true
}

// normalizePort returns "" for the default port of scheme, else port.
func normalizePort(scheme, port string) string {
	switch {
	case port == "443" && strings.EqualFold(scheme, "https"),
		port == "80" && strings.EqualFold(scheme, "http"):
		return ""
	}
	return port
}

// validScheme reports whether s is an RFC 3986 scheme.
func validScheme(s string) bool {
	if s == "" || !isAlpha(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !isAlpha(c) && !isDigit(c) && c != '+' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

// validRegName reports whether s is a non-empty host name as browsers
// serialize it: ASCII letters, digits, '-', '.' and '_' (IDNs arrive in
// punycode). Everything else, including '@', '%', '/', spaces and
// non-ASCII bytes, is refused.
func validRegName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isAlpha(c) && !isDigit(c) && c != '-' && c != '.' && c != '_' {
			return false
		}
	}
	return true
}

// validIPv6 reports whether s, the text between the brackets of an IP
// literal, is made only of the characters of an IPv6 address (hex digits,
// ':' and '.', for an embedded IPv4 address) and holds a colon. Zone
// identifiers are refused: browsers never send them.
func validIPv6(s string) bool {
	if !strings.Contains(s, ":") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !isDigit(c) && !('a' <= c|0x20 && c|0x20 <= 'f') && c != ':' && c != '.' {
			return false
		}
	}
	return true
}

// validPort reports whether s is a decimal port from 0 to 65535 without a
// leading zero.
func validPort(s string) bool {
	if s == "" || len(s) > 5 || (s[0] == '0' && len(s) > 1) {
		return false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n <= 65535
}

func isAlpha(c byte) bool { return 'a' <= c|0x20 && c|0x20 <= 'z' }
func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// refererParts splits a Referer header value into its scheme and authority.
// ok is false when s is not an absolute URL with a scheme and a non-empty
// authority ("", "//example.com/", "https://", "ØBöIß"). The authority is
// not validated here, so that an insecure Referer is reported as such even
// when its authority is odd (as Django does).
func refererParts(s string) (scheme, authority string, ok bool) {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok || !validScheme(scheme) {
		return "", "", false
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	authority = rest[:end]
	if authority == "" {
		return "", "", false
	}
	return scheme, authority, true
}

// parseReferer returns the origin of the page named by a Referer header
// value. It refuses what refererParts refuses and an authority that is not
// a valid host and port, including one with userinfo (browsers strip it).
func parseReferer(s string) (origin, bool) {
	scheme, authority, ok := refererParts(s)
	if !ok {
		return origin{}, false
	}
	return parseAuthority(scheme, authority)
}

// refererOrigin returns the scheme://authority prefix of a Referer header
// value for [Event.RefererOrigin], or "" when it has none. It does not
// allocate.
func refererOrigin(s string) string {
	scheme, authority, ok := refererParts(s)
	if !ok {
		return ""
	}
	return s[:len(scheme)+3+len(authority)]
}

// An originPattern matches the subdomains, at any depth, of suffix under
// one scheme and port: https://*.example.com matches https://a.example.com
// and https://a.b.example.com, not https://example.com or
// http://a.example.com.
type originPattern struct {
	scheme, suffix, port string
}

func (pt originPattern) match(o origin) bool {
	h := o.host
	return strings.EqualFold(o.scheme, pt.scheme) && o.port == pt.port &&
		len(h) > len(pt.suffix)+1 && h[len(h)-len(pt.suffix)-1] == '.' &&
		strings.EqualFold(h[len(h)-len(pt.suffix):], pt.suffix) &&
		h[0] != '['
}

// trustList holds the trusted origins of a configuration.
type trustList struct {
	exact    []origin
	patterns []originPattern
}

// contains reports whether o is trusted. It does not allocate.
func (t *trustList) contains(o origin) bool {
	for _, e := range t.exact {
		if e.equal(o) {
			return true
		}
	}
	for _, pt := range t.patterns {
		if pt.match(o) {
			return true
		}
	}
	return false
}

// parseConfigOrigin parses an origin written in a Config field. The result
// is normalized to lower case. The error says what to write instead.
func parseConfigOrigin(s string) (origin, *FieldError) {
	const form = "write it as scheme://host[:port], such as \"https://app.example.com\""
	switch {
	case s == "":
		return origin{}, &FieldError{Msg: "empty origin", Hint: form}
	case s == "*":
		return origin{}, &FieldError{Msg: "\"*\" would trust every site", Hint: "list each origin, or use a subdomain pattern such as \"https://*.example.com\""}
	case strings.EqualFold(s, "null"):
		return origin{}, &FieldError{Msg: "\"null\" is sent by sandboxed frames and data: URLs that any site can create", Hint: "remove it"}
	case !strings.Contains(s, "://"):
		return origin{}, &FieldError{Msg: fmt.Sprintf("%q has no scheme", s), Hint: fmt.Sprintf("write \"https://%s\" (the scheme is part of the origin)", s)}
	}
	scheme, rest, _ := strings.Cut(s, "://")
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		return origin{}, &FieldError{Msg: fmt.Sprintf("%q has a path, query or fragment", s), Hint: fmt.Sprintf("an origin is scheme://host[:port] only, such as %q", scheme+"://"+rest[:i])}
	}
	if strings.Contains(rest, "@") {
		return origin{}, &FieldError{Msg: fmt.Sprintf("%q has userinfo", s), Hint: "an origin is scheme://host[:port] only"}
	}
	o, ok := parseOrigin(s)
	if !ok {
		return origin{}, &FieldError{Msg: fmt.Sprintf("%q is not a valid origin", s), Hint: form}
	}
	return origin{
		scheme: strings.ToLower(o.scheme),
		host:   strings.ToLower(o.host),
		port:   o.port,
	}, nil
}

// add adds a TrustedOrigins entry to t. A subdomain pattern over a public
// suffix is refused: by psl when it is not nil, else by the built-in rule
// of publicSuffixGuess.
func (t *trustList) add(s string, psl cookiejar.PublicSuffixList) *FieldError {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok || !strings.Contains(rest, "*") {
		o, err := parseConfigOrigin(s)
		if err != nil {
			return err
		}
		t.exact = append(t.exact, o)
		return nil
	}
	suffix, found := strings.CutPrefix(rest, "*.")
	if !found || strings.Contains(suffix, "*") {
		return &FieldError{Msg: fmt.Sprintf("%q: a wildcard may only stand for the leftmost labels", s), Hint: "write it as in \"https://*.example.com\""}
	}
	o, err := parseConfigOrigin(scheme + "://" + suffix)
	if err != nil {
		err.Msg = fmt.Sprintf("%q: %s", s, err.Msg)
		return err
	}
	if o.host[0] == '[' || !strings.Contains(strings.Trim(o.host, "."), ".") {
		return &FieldError{Msg: fmt.Sprintf("%q would trust every subdomain of a top-level domain", s), Hint: "name a registrable domain, as in \"https://*.example.com\""}
	}
	if isPublicSuffix(o.host, psl) {
		return &FieldError{
			Msg:  fmt.Sprintf("%q would trust every site under the public suffix %q, where anyone can register one", s, o.host),
			Hint: fmt.Sprintf("list the exact origins, or a pattern under a domain of your own, such as \"%s://*.yours.%s\"", o.scheme, o.host),
		}
	}
	t.patterns = append(t.patterns, originPattern{scheme: o.scheme, suffix: o.host, port: o.port})
	return nil
}
