package scan

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/scan/checks"
)

// A token is an anti-CSRF token and where the application expects it.
type token struct {
	Value  string
	Header string // request header name, or ""
	Field  string // form field name, or ""
	Source string // where it was found, for messages
}

// tokenFieldNames are the common names of hidden inputs and meta tags that
// carry anti-CSRF tokens.
var tokenFieldNames = []string{
	"_csrf", "csrf", "csrf_token", "csrf-token", "csrfmiddlewaretoken", "authenticity_token",
	"__RequestVerificationToken", "_token", "xsrf_token", "xsrf-token", "_xsrf", "csrfToken",
}

// tokenCookies maps readable token cookies to the header frameworks echo
// them in.
var tokenCookies = map[string]string{
	"XSRF-TOKEN": "X-XSRF-TOKEN", // Angular, Laravel, Axios
	"csrftoken":  "X-CSRFToken",  // Django
	"CSRF-TOKEN": "X-CSRF-Token",
}

// tokenEndpoints are the JSON endpoints that hand out tokens.
var tokenEndpoints = []string{"/.forgeproof/token", "/csrf-token", "/api/csrf-token"}

var (
	metaRE  = regexp.MustCompile(`(?is)<meta\b[^>]*>`)
	inputRE = regexp.MustCompile(`(?is)<input\b[^>]*>`)
	attrRE  = regexp.MustCompile(`(?is)([a-z_:-]+)\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)`)
)

func isTokenName(n string) bool {
	for _, t := range tokenFieldNames {
		if strings.EqualFold(n, t) {
			return true
		}
	}
	return false
}

func attrs(tag string) map[string]string {
	out := map[string]string{}
	for _, m := range attrRE.FindAllStringSubmatch(tag, -1) {
		out[strings.ToLower(m[1])] = htmlUnescape(strings.Trim(m[2], `"'`))
	}
	return out
}

func htmlUnescape(s string) string {
	r := strings.NewReplacer("&amp;", "&", "&quot;", `"`, "&#39;", "'", "&lt;", "<", "&gt;", ">", "&#43;", "+", "&#x2B;", "+", "&#61;", "=")
	return r.Replace(s)
}

// tokenInHTML finds a token in meta tags or hidden inputs.
func tokenInHTML(body []byte) (token, bool) {
	var headerName string
	var meta token
	for _, tag := range metaRE.FindAll(body, -1) {
		a := attrs(string(tag))
		name := a["name"]
		switch {
		case strings.EqualFold(name, "_csrf_header") || strings.EqualFold(name, "csrf-header"):
			headerName = a["content"]
		case isTokenName(name) && a["content"] != "" && meta.Value == "":
			meta = token{Value: a["content"], Source: "meta tag " + name}
		}
	}
	var input token
	for _, tag := range inputRE.FindAll(body, -1) {
		a := attrs(string(tag))
		if strings.EqualFold(a["type"], "hidden") && isTokenName(a["name"]) && a["value"] != "" {
			input = token{Value: a["value"], Field: a["name"], Source: "hidden input " + a["name"]}
			break
		}
	}
	switch {
	case meta.Value != "":
		meta.Header = headerName
		if meta.Header == "" {
			meta.Header = "X-CSRF-Token"
		}
		meta.Field = input.Field
		if meta.Field == "" {
			meta.Field = "_csrf"
		}
		return meta, true
	case input.Value != "":
		input.Header = headerName
		if input.Header == "" {
			input.Header = "X-CSRF-Token"
		}
		return input, true
	}
	return token{}, false
}

// session is one signed-in (or given) identity: its cookies and token.
type session struct {
	cookies map[string]string
	order   []string
	tok     token
}

func newSession() *session { return &session{cookies: map[string]string{}} }

func (s *session) set(name, value string) {
	if _, ok := s.cookies[name]; !ok {
		s.order = append(s.order, name)
	}
	s.cookies[name] = value
}

// update applies a response's Set-Cookie headers.
func (s *session) update(h http.Header) []*http.Cookie {
	var out []*http.Cookie
	for _, line := range h.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err != nil {
			continue
		}
		out = append(out, c)
		if c.MaxAge < 0 || c.Value == "" {
			delete(s.cookies, c.Name)
			continue
		}
		s.set(c.Name, c.Value)
	}
	return out
}

// header returns the Cookie header value.
func (s *session) header() string {
	var b strings.Builder
	for _, n := range s.order {
		v, ok := s.cookies[n]
		if !ok {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("; ")
		}
		b.WriteString(n + "=" + v)
	}
	return b.String()
}

// discover looks for the session's anti-CSRF token: in the target's home
// page (meta tags, hidden inputs), in readable token cookies, and at the
// known JSON token endpoints. It records the pages it fetched.
func (sc *scanner) discover(ctx context.Context, s *session, record bool) error {
	s.tok = token{}
	home, err := sc.get(ctx, s, sc.target.Path)
	if err != nil {
		return err
	}
	if record {
		sc.pass.Pages = append(sc.pass.Pages, &checks.Page{URL: home.Request.URL, Status: home.Status, Header: home.Header, Body: home.Body})
	}
	if t, ok := tokenInHTML(home.Body); ok {
		s.tok = t
		return nil
	}
	for _, ep := range tokenEndpoints {
		ex, err := sc.get(ctx, s, ep)
		if err != nil {
			return err
		}
		if ex.Status != http.StatusOK {
			continue
		}
		var v struct {
			Token     string `json:"token"`
			CSRFToken string `json:"csrfToken"`
			Header    string `json:"header"`
			Field     string `json:"field"`
		}
		if jsonUnmarshal(ex.Body, &v) != nil {
			continue
		}
		t := token{Value: v.Token, Header: v.Header, Field: v.Field, Source: "endpoint " + ep}
		if t.Value == "" {
			t.Value = v.CSRFToken
		}
		if t.Value == "" {
			continue
		}
		if t.Header == "" {
			t.Header = "X-CSRF-Token"
		}
		if t.Field == "" {
			t.Field = "_csrf"
		}
		s.tok = t
		return nil
	}
	for name, hdr := range tokenCookies {
		if v, ok := s.cookies[name]; ok && v != "" {
			field := "_csrf"
			if name == "csrftoken" {
				field = "csrfmiddlewaretoken"
			}
			s.tok = token{Value: v, Header: hdr, Field: field, Source: "cookie " + name}
			return nil
		}
	}
	return nil
}

// get sends a same-origin GET as a browser loading a page would.
func (sc *scanner) get(ctx context.Context, s *session, path string) (*checks.Exchange, error) {
	if path == "" {
		path = "/"
	}
	u := sc.target.ResolveReference(&url.URL{Path: path})
	h := sc.userHeader()
	h.Set("Sec-Fetch-Site", "same-origin")
	if c := s.header(); c != "" {
		h.Set("Cookie", c)
	}
	ex, err := sc.client.do(ctx, "discover", &checks.Request{Method: "GET", URL: u, Header: h})
	if err != nil {
		return nil, err
	}
	for _, c := range s.update(ex.Header) {
		sc.pass.SetCookies = append(sc.pass.SetCookies, checks.SetCookie{Cookie: c, Path: u.Path})
	}
	return ex, nil
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
