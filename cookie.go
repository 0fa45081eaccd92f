package forgeproof

import (
	"net/http"
	"strings"
)

// A cookieScanner walks the cookies of a request's Cookie headers without
// allocating, unlike [http.Request.Cookie]. It follows the parsing of
// net/http: pairs separated by ";", optional white space around them, and
// a value optionally enclosed in double quotes.
type cookieScanner struct {
	lines []string // the Cookie header lines not yet scanned
	line  string   // the rest of the current line
}

func newCookieScanner(h http.Header) cookieScanner {
	return cookieScanner{lines: h["Cookie"]}
}

// next returns the value of the next cookie called name.
func (c *cookieScanner) next(name string) (value string, ok bool) {
	for {
		n, v, ok := c.pair()
		if !ok || n == name {
			return v, ok
		}
	}
}

// pair returns the name and value of the next cookie.
func (c *cookieScanner) pair() (name, value string, ok bool) {
	for {
		for c.line != "" {
			if name, value, c.line, ok = cutCookie(c.line); ok {
				return name, value, true
			}
		}
		if len(c.lines) == 0 {
			return "", "", false
		}
		c.line, c.lines = c.lines[0], c.lines[1:]
	}
}

// cutCookie cuts the first pair off the Cookie header line s: its name and
// value, and the rest of the line after the ";" that ends it. ok is false
// if the pair has no "=", which makes it no cookie.
func cutCookie(s string) (name, value, rest string, ok bool) {
	part := s
	if j := strings.IndexByte(s, ';'); j >= 0 {
		part, rest = s[:j], s[j+1:]
	}
	// The name runs to the first "=" of the pair. Names are short: a loop
	// finds the "=" sooner than strings.IndexByte.
	i := 0
	for i < len(part) && part[i] != '=' {
		i++
	}
	if i == len(part) {
		return "", "", rest, false
	}
	name, value = trimLeftSpace(part[:i]), trimRightSpace(part[i+1:])
	if len(value) >= 2 && value[0] == '"' && value[len(value)-1] == '"' {
		value = value[1 : len(value)-1]
	}
	return name, value, rest, true
}

// cookieValue returns the value of the first cookie called name in h.
func cookieValue(h http.Header, name string) (string, bool) {
	c := newCookieScanner(h)
	return c.next(name)
}

// hasCookie reports whether h carries a cookie called name.
func hasCookie(h http.Header, name string) bool {
	_, ok := cookieValue(h, name)
	return ok
}

// requestCookies holds the cookies of a request that the token layer
// reads, found in one pass over its Cookie headers.
type requestCookies struct {
	session  string    // the value of Config.SessionCookie, if it is read
	token    [2]string // the token cookie's values, under the names of tokens.readNames
	seen     [2]bool   // whether token[i] was sent
	conflict bool      // some cookie of these was sent twice with different values
}

// readCookies reads the session cookie (unless Config.SessionID replaces
// it) and the token cookies of h in one pass. It does not allocate. It
// walks the lines itself: through a cookieScanner, it takes half as long
// again.
func (t *tokens) readCookies(h http.Header) requestCookies {
	var rc requestCookies
	session := t.sessionCookie
	if t.sessionFunc != nil {
		session = ""
	}
	var sessionSeen bool
	for _, line := range h["Cookie"] {
		for line != "" {
			name, v, rest, ok := cutCookie(line)
			line = rest
			// The names differ (see tokens.init), so one case at most
			// applies.
			switch {
			case !ok:
			case name == session && session != "":
				if !sessionSeen {
					rc.session, sessionSeen = v, true
				} else if v != rc.session {
					rc.conflict = true
				}
			case name == t.readNames[0]:
				rc.read(0, v)
			case name == t.readNames[1] && name != "":
				rc.read(1, v)
			}
		}
	}
	return rc
}

// read records the value v of the token cookie under tokens.readNames[i].
func (rc *requestCookies) read(i int, v string) {
	if !rc.seen[i] {
		rc.token[i], rc.seen[i] = v, true
	} else if v != rc.token[i] {
		rc.conflict = true
	}
}

// trimSpace trims spaces and tabs, the white space of HTTP headers.
func trimSpace(s string) string { return trimRightSpace(trimLeftSpace(s)) }

// trimLeftSpace trims leading spaces and tabs.
func trimLeftSpace(s string) string {
	for s != "" && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	return s
}

// trimRightSpace trims trailing spaces and tabs.
func trimRightSpace(s string) string {
	for s != "" && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// setCookieValue returns the value of the cookie called name that a
// Set-Cookie header in h sets, if any.
func setCookieValue(h http.Header, name string) (string, bool) {
	for _, line := range h["Set-Cookie"] {
		if len(line) > len(name) && line[len(name)] == '=' && strings.HasPrefix(line, name) {
			v, _, _ := strings.Cut(line[len(name)+1:], ";")
			return v, true
		}
	}
	return "", false
}

// removeSetCookie deletes the Set-Cookie headers of h that set the cookie
// called name.
func removeSetCookie(h http.Header, name string) {
	lines := h["Set-Cookie"]
	kept := lines[:0]
	for _, line := range lines {
		if len(line) > len(name) && line[len(name)] == '=' && strings.HasPrefix(line, name) {
			continue
		}
		kept = append(kept, line)
	}
	switch {
	case len(kept) == len(lines):
	case len(kept) == 0:
		delete(h, "Set-Cookie")
	default:
		clear(lines[len(kept):])
		h["Set-Cookie"] = kept
	}
}
