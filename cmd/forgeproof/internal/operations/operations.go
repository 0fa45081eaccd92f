// Package operations turns an API's OpenAPI description into the gateway's
// routes: every operation (a method and a path template) becomes a route
// pattern of the library with the rules of its x-forgeproof extension, or
// rules inferred from the description, and a validator that checks
// requests against the operation's parameters and request body with
// kin-openapi's openapi3filter.
//
// # The extension
//
// x-forgeproof, on an operation or on a path item (for all its
// operations, each key of the operation's own extension winning), is a
// mapping of the keys documented on [rule.Rule]: tokens, json_only,
// require_header, one_time_tokens, reauth_max_age, roles, report_only,
// unsafe and bypass. It is decoded strictly by [rule.Parse]: an
// unknown key or a value of the wrong type is a [Problem] that names its
// line in the description.
//
// # Inference
//
// A key that no extension sets may be inferred from the description: an
// operation whose request body is JSON only (every media type of its
// requestBody.content is application/json or application/*+json) gets
// json_only. Each inference is listed in [Operation.Inferred], so that it
// can be logged and shown.
//
// # Paths
//
// A path template maps onto a library route pattern segment by segment: a
// segment that is one parameter, "{id}", becomes a wildcard; "/items/"
// (a trailing slash) becomes "/items/{$}", the path with the slash only.
// A segment that mixes text and a parameter ("{id}.json") has no library
// equivalent and is a [Problem]. The path of the first server URL, when it
// has no variables, prefixes every path.
//
// See docs/OPENAPI.md.
package operations

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path"
	"slices"
	"strings"
	"unicode"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"

	"github.com/forgeproof/forgeproof"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/operations/rule"
)

// maxFileBytes bounds a description file.
const maxFileBytes = 16 << 20

// A Description is an OpenAPI description compiled into operations.
type Description struct {
	// File is the description's file name.
	File string
	// Operations are every operation, sorted by path and method.
	Operations []*Operation
}

// An Operation is one operation of the description with its rules.
type Operation struct {
	// Method is the operation's method, in upper case.
	Method string
	// Path is the path template as declared, with the server's path
	// prefix, such as "/api/items/{id}".
	Path string
	// ID is the operationId, or "".
	ID string
	// Pattern is the library route pattern for the operation, such as
	// "POST /api/items/{id}".
	Pattern string
	// Rule is the operation's rule: its extension's keys, then the path
	// item's, then the inferred ones.
	Rule rule.Rule
	// Declared are the keys set by an x-forgeproof extension.
	Declared []string
	// Inferred are the keys inferred from the description, with why.
	Inferred []Inference
	// Line and Col are where the operation is written in the
	// description, or 0.
	Line, Col int

	route     routers.Route
	segs      []string // the template's segments; a parameter is "{name}"
	hasParams bool
}

// An Inference is a key of an operation's rule inferred from the
// description.
type Inference struct {
	Key, Why string
}

// A Problem is an error in the description, with its position.
type Problem struct {
	File      string
	Line, Col int // 0 when unknown
	// Path locates the problem in the description, such as
	// "paths./items.post.x-forgeproof.tokens".
	Path string
	// Key is the x-forgeproof key at fault, or "".
	Key string
	Msg string
}

func (p *Problem) Error() string {
	pos := p.File
	if p.Line > 0 {
		pos = fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
	}
	return pos + ": " + p.Path + ": " + p.Msg
}

// Load reads the OpenAPI 3.0 or 3.1 description in file, resolves its
// references (local files only; nothing is fetched from the network),
// validates it and compiles its operations. A description that cannot be
// read or is not valid OpenAPI is an error; problems with the extensions
// or the paths are all returned, as *Problem values joined with
// errors.Join, with the Description of the operations that compiled.
func Load(ctx context.Context, file string) (*Description, error) {
	doc, src, err := ReadDescription(ctx, file)
	if err != nil {
		return nil, err
	}
	d := &Description{File: file}
	lines := newLocator(src)
	var problems []error
	report := func(key string, at []string, format string, args ...any) {
		line, col := lines.find(at)
		problems = append(problems, &Problem{File: file, Line: line, Col: col, Path: strings.Join(at, "."), Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	prefix := BasePath(doc)
	paths := doc.Paths.Map()
	for _, p := range slices.Sorted(maps.Keys(paths)) {
		item := paths[p]
		at := []string{"paths", p}
		var base rule.Rule
		baseSet := map[string]bool{}
		if ext, ok := item.Extensions[rule.Extension]; ok {
			var errs []*rule.KeyError
			base, baseSet, errs = rule.Parse(ext)
			for _, e := range errs {
				report(e.Key, append(slices.Clone(at), rule.Extension, e.Key), "%s", e.Msg)
			}
		}
		segs, pattern, err := pathPattern(prefix + p)
		if err != nil {
			report("", at, "%v", err)
			continue
		}
		for _, method := range methods {
			op := item.GetOperation(method)
			if op == nil {
				continue
			}
			opAt := append(slices.Clone(at), strings.ToLower(method))
			o := &Operation{
				Method:  method,
				Path:    prefix + p,
				ID:      op.OperationID,
				Pattern: method + " " + pattern,
				Rule:    base,
				segs:    segs,
				route:   routers.Route{Spec: doc, Path: p, PathItem: item, Method: method, Operation: op},
			}
			o.Line, o.Col = lines.find(opAt)
			o.hasParams = slices.ContainsFunc(segs, func(s string) bool { return strings.HasPrefix(s, "{") })
			declared := maps.Clone(baseSet)
			if ext, ok := op.Extensions[rule.Extension]; ok {
				r, set, errs := rule.Parse(ext)
				for _, e := range errs {
					report(e.Key, append(slices.Clone(opAt), rule.Extension, e.Key), "%s", e.Msg)
				}
				o.Rule = o.Rule.Merge(r, set)
				for k := range set {
					declared[k] = true
				}
			}
			o.Declared = rule.SortedKeys(declared)
			if o.Rule.Bypass {
				if e := rule.BypassConflict(o.Rule, o.Declared); e != nil {
					report(e.Key, append(slices.Clone(opAt), rule.Extension, e.Key), "%s", e.Msg)
				}
			} else {
				o.infer(declared)
			}
			if o.Rule.Unsafe && !safe(method) {
				report("unsafe", append(slices.Clone(opAt), rule.Extension, "unsafe"),
					"unsafe marks a GET (or HEAD, OPTIONS) that changes state; %s is checked anyway: remove the key", method)
			}
			if _, _, err := forgeproof.SplitPattern(o.Pattern); err != nil {
				report("", opAt, "the path does not map onto a route pattern: %v", err)
				continue
			}
			d.Operations = append(d.Operations, o)
		}
	}
	return d, errors.Join(problems...)
}

// ReadDescription reads the OpenAPI 3.0 or 3.1 description in file as
// [Load] does, for a tool that reads the operations on its own (the
// scanner): at most 16 MiB, its references resolved (local files only;
// nothing is fetched from the network) and validated. It returns the
// document and the file's content.
func ReadDescription(ctx context.Context, file string) (*openapi3.T, []byte, error) {
	st, err := os.Stat(file)
	if err != nil {
		return nil, nil, fmt.Errorf("openapi: %w", err)
	}
	if st.Size() > maxFileBytes {
		return nil, nil, fmt.Errorf("openapi: %s is larger than %d bytes", file, maxFileBytes)
	}
	src, err := os.ReadFile(file)
	if err != nil {
		return nil, nil, fmt.Errorf("openapi: %w", err)
	}
	loader := openapi3.NewLoader()
	loader.Context = ctx
	loader.IsExternalRefsAllowed = true
	// Read local files afresh, never fetch a URL.
	loader.ReadFromURIFunc = func(l *openapi3.Loader, u *url.URL) ([]byte, error) {
		if u.Scheme != "" && u.Scheme != "file" || u.Host != "" {
			return nil, fmt.Errorf("%s: only references to local files are followed", u.Redacted())
		}
		return openapi3.ReadFromFile(l, u)
	}
	doc, err := loader.LoadFromFile(file)
	if err != nil {
		return nil, nil, fmt.Errorf("openapi: %s: %w", file, err)
	}
	if err := doc.Validate(ctx, openapi3.DisableExamplesValidation()); err != nil {
		return nil, nil, fmt.Errorf("openapi: %s is not a valid OpenAPI description: %w", file, err)
	}
	return doc, src, nil
}

// BasePath returns the path of the description's first server, without
// its trailing slash, which prefixes the paths of its operations; "" when
// there is no server or its path has variables.
func BasePath(doc *openapi3.T) string {
	if len(doc.Servers) > 0 {
		if u, err := url.Parse(doc.Servers[0].URL); err == nil && !strings.Contains(u.Path, "{") {
			return strings.TrimSuffix(u.Path, "/")
		}
	}
	return ""
}

// methods are the operation methods of a path item, in table order.
var methods = []string{
	http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
	http.MethodPatch, http.MethodDelete, http.MethodOptions, http.MethodTrace,
}

func safe(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	return false
}

// infer sets the keys that no extension declared and that the description
// implies.
func (o *Operation) infer(declared map[string]bool) {
	op := o.route.Operation
	if !declared["json_only"] && op.RequestBody != nil && op.RequestBody.Value != nil {
		content := op.RequestBody.Value.Content
		json := len(content) > 0
		for mt := range content {
			json = json && isJSON(mt)
		}
		if json {
			o.Rule.JSONOnly = true
			o.Inferred = append(o.Inferred, Inference{Key: "json_only", Why: "the request body is JSON only"})
		}
	}
}

// isJSON reports whether a media type (range) of a requestBody's content
// is application/json or application/*+json.
func isJSON(mt string) bool {
	mt, _, _ = strings.Cut(mt, ";")
	typ, sub, ok := strings.Cut(strings.ToLower(strings.TrimSpace(mt)), "/")
	return ok && typ == "application" && (sub == "json" || strings.HasSuffix(sub, "+json") && len(sub) > len("+json"))
}

// pathPattern maps a path template onto the path of a library route
// pattern and returns the template's segments.
func pathPattern(tmpl string) (segs []string, pattern string, err error) {
	if !strings.HasPrefix(tmpl, "/") {
		return nil, "", fmt.Errorf("the path %q must start with /", tmpl)
	}
	var b strings.Builder
	names := map[string]bool{}
	rest := tmpl[1:]
	if rest == "" {
		return nil, "/{$}", nil
	}
	for {
		seg, tail, more := strings.Cut(rest, "/")
		segs = append(segs, seg)
		b.WriteByte('/')
		switch {
		case !strings.ContainsAny(seg, "{}"):
			b.WriteString(seg)
		case len(seg) > 2 && seg[0] == '{' && seg[len(seg)-1] == '}' && !strings.ContainsAny(seg[1:len(seg)-1], "{}"):
			name := ident(seg[1:len(seg)-1], names)
			b.WriteString("{" + name + "}")
		default:
			return nil, "", fmt.Errorf("segment %q mixes text and a parameter; forgeproof routes match whole segments: make the parameter a segment of its own", seg)
		}
		if !more {
			break
		}
		if tail == "" {
			b.WriteString("/{$}")
			break
		}
		rest = tail
	}
	return segs, b.String(), nil
}

// ident returns a wildcard name for a template parameter: the name itself
// when it is a Go identifier, as the library requires, or one made from it.
func ident(name string, used map[string]bool) string {
	var b strings.Builder
	for i, c := range name {
		switch {
		case unicode.IsLetter(c) || c == '_' || (i > 0 && unicode.IsDigit(c)):
			b.WriteRune(c)
		default:
			b.WriteByte('_')
		}
	}
	s := b.String()
	for n := 2; used[s]; n++ {
		s = fmt.Sprintf("%s_%d", b.String(), n)
	}
	used[s] = true
	return s
}

// pathParams returns the values of the template's parameters in the URL
// path p, which the library matched to the operation's pattern.
func (o *Operation) pathParams(p string) map[string]string {
	if !o.hasParams {
		return nil
	}
	params := map[string]string{}
	clean := path.Clean("/" + p)
	rest := strings.TrimPrefix(clean, "/")
	for _, seg := range o.segs {
		v, tail, _ := strings.Cut(rest, "/")
		rest = tail
		if len(seg) > 2 && seg[0] == '{' {
			params[seg[1:len(seg)-1]] = v
		}
	}
	return params
}

// validationOptions are the options of every validation: no
// authentication (the backend authenticates; roles are checked apart), and
// no defaults written into the body, so that the backend receives the
// bytes the client sent.
var validationOptions = &openapi3filter.Options{
	AuthenticationFunc:  openapi3filter.NoopAuthenticationFunc,
	SkipSettingDefaults: true,
}
