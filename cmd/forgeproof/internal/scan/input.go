package scan

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/operations"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/operations/rule"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/scan/checks"
)

// An Operation is one endpoint the scanner probes.
type Operation struct {
	Method string
	// Path is the path as declared, such as /api/payees/{id}.
	Path string
	// URLPath is Path with its parameters filled in.
	URLPath string
	// Query holds query parameters to send.
	Query url.Values
	// Body and ContentType are the request body of a legitimate call.
	Body        []byte
	ContentType string
	// OperationID and Summary come from an OpenAPI document.
	OperationID, Summary string
	// Header and Cookies are the header and cookie parameters the input
	// declares as required, with their examples; legitimate requests send
	// them, forged ones do not (a cross-site page cannot set a header).
	Header  http.Header
	Cookies []*http.Cookie
	// Policy is the protection that the input declares for the
	// operation (the x-forgeproof extension of OpenAPI), or nil.
	Policy *rule.Rule
}

// unsafe reports whether the operation's method changes state.
func (op *Operation) unsafe() bool {
	switch op.Method {
	case "GET", "HEAD", "OPTIONS", "TRACE":
		return false
	}
	return true
}

// ParseEndpoint parses an --endpoint value: "METHOD /path[?query] [BODY]".
// A BODY that starts with "{" or "[" is sent as JSON, any other as
// application/x-www-form-urlencoded.
func ParseEndpoint(s string) (Operation, error) {
	s = strings.TrimSpace(s)
	method, rest, ok := strings.Cut(s, " ")
	rest = strings.TrimSpace(rest)
	if !ok || rest == "" {
		return Operation{}, fmt.Errorf("endpoint %q: want \"METHOD /path [BODY]\"", s)
	}
	if !validMethod(method) {
		return Operation{}, fmt.Errorf("endpoint %q: %q is not an HTTP method", s, method)
	}
	target, body, _ := strings.Cut(rest, " ")
	if !strings.HasPrefix(target, "/") {
		return Operation{}, fmt.Errorf("endpoint %q: the path must start with /", s)
	}
	u, err := url.Parse(target)
	if err != nil || u.Host != "" || u.Scheme != "" {
		return Operation{}, fmt.Errorf("endpoint %q: bad path", s)
	}
	op := Operation{Method: strings.ToUpper(method), Path: u.Path, URLPath: u.Path, Query: u.Query()}
	if body = strings.TrimSpace(body); body != "" {
		op.Body = []byte(body)
		if body[0] == '{' || body[0] == '[' {
			if !json.Valid(op.Body) {
				return Operation{}, fmt.Errorf("endpoint %q: the body looks like JSON but does not parse", s)
			}
			op.ContentType = "application/json"
		} else {
			if _, err := url.ParseQuery(body); err != nil {
				return Operation{}, fmt.Errorf("endpoint %q: the body is neither JSON nor a form (%v)", s, err)
			}
			op.ContentType = "application/x-www-form-urlencoded"
		}
	}
	return op, nil
}

func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for _, c := range m {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}

// LoadOpenAPI reads an OpenAPI 3.0 or 3.1 document as the gateway does
// (operations.ReadDescription) and returns its operations, with example
// bodies built from the request schemas.
func LoadOpenAPI(ctx context.Context, file string) ([]Operation, []checks.Declared, error) {
	doc, _, err := operations.ReadDescription(ctx, file)
	if err != nil {
		return nil, nil, err
	}
	prefix := operations.BasePath(doc)
	var ops []Operation
	var declared []checks.Declared
	paths := doc.Paths.Map()
	for _, p := range slices.Sorted(maps.Keys(paths)) {
		item := paths[p]
		methods := item.Operations()
		for _, m := range slices.Sorted(maps.Keys(methods)) {
			o := methods[m]
			op := Operation{Method: m, Path: prefix + p, OperationID: o.OperationID, Summary: o.Summary, Query: url.Values{}}
			params := append(openapi3.Parameters{}, item.Parameters...)
			params = append(params, o.Parameters...)
			op.URLPath = op.Path
			for _, pr := range params {
				if pr.Value == nil {
					continue
				}
				v := paramExample(pr.Value)
				switch pr.Value.In {
				case "path":
					op.URLPath = strings.ReplaceAll(op.URLPath, "{"+pr.Value.Name+"}", url.PathEscape(v))
				case "query":
					if pr.Value.Required {
						op.Query.Set(pr.Value.Name, v)
					}
				case "header":
					if pr.Value.Required && v != "" {
						if op.Header == nil {
							op.Header = http.Header{}
						}
						op.Header.Set(pr.Value.Name, v)
					}
				case "cookie":
					if pr.Value.Required && v != "" {
						op.Cookies = append(op.Cookies, &http.Cookie{Name: pr.Value.Name, Value: v})
					}
				}
			}
			if o.RequestBody != nil && o.RequestBody.Value != nil {
				op.ContentType, op.Body = bodyExample(o.RequestBody.Value.Content)
			}
			pol, err := decodePolicy(item.Extensions[PolicyExtension], o.Extensions[PolicyExtension])
			if err != nil {
				return nil, nil, fmt.Errorf("openapi %s: %s %s: %w", file, m, p, err)
			}
			if pol != nil && pol.RequireHeader != "" && op.Header.Get(pol.RequireHeader) == "" {
				// A legitimate client sends the header the operation
				// requires.
				if op.Header == nil {
					op.Header = http.Header{}
				}
				v := "1"
				if strings.EqualFold(pol.RequireHeader, "X-Requested-With") {
					v = "XMLHttpRequest"
				}
				op.Header.Set(pol.RequireHeader, v)
			}
			op.Policy = pol
			declared = append(declared, checks.Declared{Method: m, Path: op.Path, OperationID: o.OperationID, Summary: o.Summary})
			ops = append(ops, op)
		}
	}
	return ops, declared, nil
}

func paramExample(p *openapi3.Parameter) string {
	if p.Example != nil {
		return fmt.Sprint(p.Example)
	}
	if p.Schema != nil && p.Schema.Value != nil {
		v := schemaExample(p.Schema.Value, 0)
		if s, ok := v.(string); ok {
			return s
		}
		return fmt.Sprint(v)
	}
	return "1"
}

// bodyExample picks a media type (JSON first, then forms) and returns an
// example body for it.
func bodyExample(content openapi3.Content) (string, []byte) {
	for _, ct := range []string{"application/json", "application/x-www-form-urlencoded", "multipart/form-data", "text/plain"} {
		mt := content.Get(ct)
		if mt == nil {
			continue
		}
		var v any
		switch {
		case mt.Example != nil:
			v = mt.Example
		case len(mt.Examples) > 0:
			names := make([]string, 0, len(mt.Examples))
			for n := range mt.Examples {
				names = append(names, n)
			}
			sort.Strings(names)
			if ex := mt.Examples[names[0]]; ex != nil && ex.Value != nil {
				v = ex.Value.Value
			}
		case mt.Schema != nil && mt.Schema.Value != nil:
			v = schemaExample(mt.Schema.Value, 0)
		}
		switch ct {
		case "application/json":
			b, _ := json.Marshal(v)
			return ct, b
		case "text/plain":
			return ct, []byte(fmt.Sprint(v))
		default:
			return "application/x-www-form-urlencoded", []byte(flatten(v).Encode())
		}
	}
	return "", nil
}

// schemaExample builds a value that satisfies s as far as a scanner needs:
// examples and defaults first, then one value per type.
func schemaExample(s *openapi3.Schema, depth int) any {
	switch {
	case s.Example != nil:
		return s.Example
	case s.Default != nil:
		return s.Default
	case len(s.Enum) > 0:
		return s.Enum[0]
	case depth > 6:
		return nil
	}
	t := s.Type
	switch {
	case t == nil || t.Is("object") || (t.IsEmpty() && len(s.Properties) > 0):
		obj := map[string]any{}
		for name, p := range s.Properties {
			if p.Value != nil {
				obj[name] = schemaExample(p.Value, depth+1)
			}
		}
		return obj
	case t.Permits("array"):
		if s.Items != nil && s.Items.Value != nil {
			return []any{schemaExample(s.Items.Value, depth+1)}
		}
		return []any{}
	case t.Permits("integer"):
		if s.Min != nil {
			return int(*s.Min) + 1
		}
		return 1
	case t.Permits("number"):
		if s.Min != nil {
			return *s.Min + 1
		}
		return 1
	case t.Permits("boolean"):
		return true
	case t.Permits("string"):
		switch s.Format {
		case "email":
			return "scan@example.com"
		case "date-time":
			return "2026-01-01T00:00:00Z"
		case "uuid":
			return "00000000-0000-4000-8000-000000000000"
		}
		return "forgeproof"
	}
	return nil
}

// flatten turns a decoded JSON value into form fields (nested objects
// with dotted names).
func flatten(v any) url.Values {
	out := url.Values{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				name := k
				if prefix != "" {
					name = prefix + "." + k
				}
				walk(name, e)
			}
		case []any:
			for _, e := range x {
				walk(prefix, e)
			}
		case nil:
			out.Add(prefix, "")
		default:
			out.Add(prefix, fmt.Sprint(x))
		}
	}
	walk("", v)
	return out
}

// HAR is what a HAR file gives the scanner.
type HAR struct {
	Operations []Operation
	Pages      []*checks.Page
	URLs       []*url.URL
	SetCookies []checks.SetCookie
	// Cookies are the cookies of the last request to the target that
	// carried a Cookie header: the recorded session.
	Cookies []*http.Cookie
	// Skipped counts entries for other hosts.
	Skipped int
}

type harFile struct {
	Log struct {
		Entries []struct {
			Request struct {
				Method  string `json:"method"`
				URL     string `json:"url"`
				Headers []struct {
					Name  string `json:"name"`
					Value string `json:"value"`
				} `json:"headers"`
				PostData *struct {
					MimeType string `json:"mimeType"`
					Text     string `json:"text"`
					Params   []struct {
						Name  string `json:"name"`
						Value string `json:"value"`
					} `json:"params"`
				} `json:"postData"`
			} `json:"request"`
			Response struct {
				Status  int `json:"status"`
				Headers []struct {
					Name  string `json:"name"`
					Value string `json:"value"`
				} `json:"headers"`
				Content struct {
					MimeType string `json:"mimeType"`
					Text     string `json:"text"`
					Encoding string `json:"encoding"`
				} `json:"content"`
			} `json:"response"`
		} `json:"entries"`
	} `json:"log"`
}

// maxHARBytes bounds the size of a HAR file.
const maxHARBytes = 256 << 20

// ParseHAR reads a HAR 1.2 document (as saved by a browser's developer
// tools) and keeps what concerns target: its unsafe requests as
// operations, its HTML pages, its request URLs and the cookies it set.
func ParseHAR(data []byte, target *url.URL) (*HAR, error) {
	if len(data) > maxHARBytes {
		return nil, fmt.Errorf("har: file larger than %d MiB", maxHARBytes>>20)
	}
	var f harFile
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("har: %w", err)
	}
	if f.Log.Entries == nil {
		return nil, errors.New("har: no log.entries: not a HAR file")
	}
	h := &HAR{}
	seen := map[string]bool{}
	for _, e := range f.Log.Entries {
		u, err := url.Parse(e.Request.URL)
		if err != nil || !validMethod(e.Request.Method) {
			continue
		}
		if !strings.EqualFold(u.Scheme, target.Scheme) || !strings.EqualFold(u.Host, target.Host) {
			h.Skipped++
			continue
		}
		h.URLs = append(h.URLs, u)
		for _, hd := range e.Request.Headers {
			if strings.EqualFold(hd.Name, "Cookie") {
				if cs, err := http.ParseCookie(hd.Value); err == nil && len(cs) > 0 {
					h.Cookies = cs
				}
			}
		}
		header := http.Header{}
		for _, hd := range e.Response.Headers {
			header.Add(hd.Name, hd.Value)
		}
		login := isLoginPath(u.Path)
		for _, line := range header.Values("Set-Cookie") {
			if c, err := http.ParseSetCookie(line); err == nil {
				h.SetCookies = append(h.SetCookies, checks.SetCookie{Cookie: c, Login: login, Path: u.Path})
			}
		}
		method := strings.ToUpper(e.Request.Method)
		if method == "GET" && e.Response.Status != 0 {
			body := []byte(nil)
			if e.Response.Content.Encoding == "" {
				body = []byte(e.Response.Content.Text)
			}
			if header.Get("Content-Type") == "" && e.Response.Content.MimeType != "" {
				header.Set("Content-Type", e.Response.Content.MimeType)
			}
			h.Pages = append(h.Pages, &checks.Page{URL: u, Status: e.Response.Status, Header: header, Body: body})
		}
		op := Operation{Method: method, Path: u.Path, URLPath: u.Path, Query: u.Query()}
		if !op.unsafe() || login {
			continue
		}
		if pd := e.Request.PostData; pd != nil {
			op.ContentType, _, _ = strings.Cut(pd.MimeType, ";")
			op.ContentType = strings.TrimSpace(op.ContentType)
			op.Body = []byte(pd.Text)
			if pd.Text == "" && len(pd.Params) > 0 {
				v := url.Values{}
				for _, p := range pd.Params {
					v.Add(p.Name, p.Value)
				}
				op.Body = []byte(v.Encode())
				op.ContentType = "application/x-www-form-urlencoded"
			}
		}
		key := op.Method + " " + op.Path
		if seen[key] {
			continue
		}
		seen[key] = true
		h.Operations = append(h.Operations, op)
	}
	return h, nil
}

func isLoginPath(p string) bool {
	p = strings.ToLower(p)
	return strings.Contains(p, "login") || strings.Contains(p, "signin") || strings.Contains(p, "sign_in") || strings.Contains(p, "session")
}

// ParseCookie parses a --cookie value, NAME=VALUE.
func ParseCookie(s string) (*http.Cookie, error) {
	name, value, ok := strings.Cut(s, "=")
	name = strings.TrimSpace(name)
	if !ok || name == "" {
		return nil, fmt.Errorf("cookie %q: want NAME=VALUE", s)
	}
	c := &http.Cookie{Name: name, Value: value}
	if err := c.Valid(); err != nil {
		return nil, fmt.Errorf("cookie %q: %v", name, err)
	}
	return c, nil
}

// ParseHeader parses a --header value, "Name: value".
func ParseHeader(s string) (name, value string, err error) {
	name, value, ok := strings.Cut(s, ":")
	name = strings.TrimSpace(name)
	if !ok || name == "" {
		return "", "", fmt.Errorf("header %q: want \"Name: value\"", s)
	}
	for _, c := range name {
		if c <= ' ' || c >= 0x7f || strings.ContainsRune("()<>@,;:\\\"/[]?={}", c) {
			return "", "", fmt.Errorf("header %q: %q is not a valid header name", s, name)
		}
	}
	value = strings.TrimSpace(value)
	for _, c := range value {
		if c == '\r' || c == '\n' || c == 0 {
			return "", "", fmt.Errorf("header %q: the value holds a control character", name)
		}
	}
	switch http.CanonicalHeaderKey(name) {
	case "Host", "Content-Length", "Cookie":
		return "", "", fmt.Errorf("header %q: the scanner sets %s itself (use --cookie for cookies)", s, http.CanonicalHeaderKey(name))
	}
	return http.CanonicalHeaderKey(name), value, nil
}
