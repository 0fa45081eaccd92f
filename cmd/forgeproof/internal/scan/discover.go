package scan

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
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

// A convention is how a framework carries its anti-CSRF token: the form
// field (or meta tag) its pages render, the request header its JavaScript
// sends, and the readable cookie that holds the token, if any.
type convention struct {
	Framework string
	Field     string // hidden input or meta tag name
	Header    string // request header
	Cookie    string // readable cookie echoed in Header, or ""
}

// conventions are the token conventions of the major frameworks. A page's
// field name selects the header; a cookie name selects the header and
// field. Names compare case-insensitively.
var conventions = []convention{
	{"Django", "csrfmiddlewaretoken", "X-CSRFToken", "csrftoken"},
	{"Rails", "authenticity_token", "X-CSRF-Token", ""},
	{"Rails (meta)", "csrf-token", "X-CSRF-Token", ""},
	{"Laravel", "_token", "X-CSRF-TOKEN", ""},
	{"Laravel, Angular, Axios", "_token", "X-XSRF-TOKEN", "XSRF-TOKEN"},
	{"Spring Security", "_csrf", "X-CSRF-TOKEN", ""},
	{"Spring Security (cookie)", "_csrf", "X-XSRF-TOKEN", "XSRF-TOKEN"},
	{"ASP.NET Core", "__RequestVerificationToken", "RequestVerificationToken", ""},
	{"Express csurf, csrf-csrf", "_csrf", "X-CSRF-Token", "x-csrf-token"},
	{"csrf-csrf", "_csrf", "X-CSRF-Token", "__Host-psifi.x-csrf-token"},
	{"gorilla/csrf", "gorilla.csrf.Token", "X-CSRF-Token", ""},
	{"nosurf", "csrf_token", "X-CSRF-Token", ""},
	{"Flask-WTF", "csrf_token", "X-CSRFToken", ""},
	{"Tornado", "_xsrf", "X-XSRFToken", "_xsrf"},
	{"forgeproof", "forgeproof_token", "X-Forgeproof-Token", ""},
	{"forgeproof (meta)", "forgeproof-token", "X-Forgeproof-Token", ""},
	{"generic", "csrf", "X-CSRF-Token", ""},
	{"generic", "csrfToken", "X-CSRF-Token", ""},
	{"generic", "xsrf_token", "X-XSRF-TOKEN", ""},
	{"generic", "xsrf-token", "X-XSRF-TOKEN", ""},
	{"generic", "_csrf_token", "X-CSRF-Token", "CSRF-TOKEN"},
}

// headerFor returns the request header that goes with a token field.
func headerFor(field string) string {
	for _, c := range conventions {
		if strings.EqualFold(c.Field, field) {
			return c.Header
		}
	}
	return "X-CSRF-Token"
}

// headers returns the request headers that carry t: its own and, when it
// came from a page, every other header a framework pairs with its field
// (Flask-WTF and nosurf both name the field csrf_token). Sending them all
// is harmless: a framework reads its own.
func (t token) headers() []string {
	var hs []string
	if t.Header != "" {
		hs = append(hs, t.Header)
	}
	for _, c := range conventions {
		if t.Field != "" && strings.EqualFold(c.Field, t.Field) && !slices.ContainsFunc(hs, func(h string) bool { return strings.EqualFold(h, c.Header) }) {
			hs = append(hs, c.Header)
		}
	}
	return hs
}

// isTokenCookieName reports whether a cookie name is a known token cookie.
func isTokenCookieName(name string) bool {
	for _, c := range conventions {
		if c.Cookie != "" && strings.EqualFold(c.Cookie, name) {
			return true
		}
	}
	return false
}

// tokenEndpoints are the JSON endpoints that hand out tokens.
var tokenEndpoints = []string{"/.forgeproof/token", "/csrf-token", "/api/csrf-token"}

var (
	metaRE  = regexp.MustCompile(`(?is)<meta\b[^>]*>`)
	inputRE = regexp.MustCompile(`(?is)<input\b[^>]*>`)
	attrRE  = regexp.MustCompile(`(?is)([a-z_:-]+)\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)`)
)

func isTokenName(n string) bool {
	for _, c := range conventions {
		if strings.EqualFold(n, c.Field) {
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
	var headerName, paramName, metaName string
	var meta token
	for _, tag := range metaRE.FindAll(body, -1) {
		a := attrs(string(tag))
		name := a["name"]
		switch {
		case strings.EqualFold(name, "_csrf_header") || strings.EqualFold(name, "csrf-header"):
			headerName = a["content"]
		case strings.EqualFold(name, "csrf-param") || strings.EqualFold(name, "_csrf_parameter"):
			paramName = a["content"] // Rails, Spring: the form field's name
		case isTokenName(name) && a["content"] != "" && meta.Value == "":
			meta = token{Value: a["content"], Source: "meta tag " + name}
			metaName = name
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
		meta.Field = input.Field
		if meta.Field == "" {
			meta.Field = paramName
		}
		meta.Header = headerName
		if meta.Header == "" && meta.Field != "" {
			meta.Header = headerFor(meta.Field)
		}
		if meta.Header == "" {
			meta.Header = headerFor(metaName)
		}
		if meta.Field == "" {
			meta.Field = "_csrf"
		}
		return meta, true
	case input.Value != "":
		input.Header = headerName
		if input.Header == "" {
			input.Header = headerFor(input.Field)
		}
		return input, true
	}
	return token{}, false
}

var formRE = regexp.MustCompile(`(?is)<form\b([^>]*)>(.*?)</form>`)

// formTokens finds the hidden token of each form on a page, by the path
// its action resolves to: the token that the page preceding an operation
// hands out for it (Rails' per-form tokens, a settings page's own form).
func formTokens(page *url.URL, body []byte) map[string]token {
	out := map[string]token{}
	for _, m := range formRE.FindAllSubmatch(body, -1) {
		a := attrs(string(m[1]))
		if !strings.EqualFold(a["method"], "post") {
			continue
		}
		action, err := page.Parse(a["action"])
		if err != nil {
			continue
		}
		for _, tag := range inputRE.FindAll(m[2], -1) {
			in := attrs(string(tag))
			if strings.EqualFold(in["type"], "hidden") && isTokenName(in["name"]) && in["value"] != "" {
				out[action.Path] = token{Value: in["value"], Field: in["name"], Header: headerFor(in["name"]), Source: "form on " + page.Path}
				break
			}
		}
	}
	return out
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

// headerWith returns the Cookie header value with the cookies of repl
// in place of the session's cookies of the same name.
func (s *session) headerWith(repl map[string]string) string {
	var b strings.Builder
	for _, n := range s.order {
		v, ok := s.cookies[n]
		if r, swap := repl[n]; swap {
			v, ok = r, true
		}
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
	for _, c := range conventions {
		for _, name := range s.order {
			if v := s.cookies[name]; c.Cookie != "" && strings.EqualFold(name, c.Cookie) && v != "" {
				s.tok = token{Value: cookieValue(v), Header: c.Header, Field: c.Field, Source: "cookie " + name + " (" + c.Framework + ")"}
				return nil
			}
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

// cookieValue decodes a token cookie as JavaScript does before echoing it
// in a header (Laravel and Axios URL-encode XSRF-TOKEN).
func cookieValue(v string) string {
	if d, err := url.PathUnescape(v); err == nil {
		return d
	}
	return v
}

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
