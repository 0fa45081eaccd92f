package config

import (
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/forgeproof/forgeproof"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/gateway"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/httpsyntax"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/redact"
	"github.com/forgeproof/forgeproof/redisstore"
)

// MinKeyBytes is the least length of a signing key, after base64 decoding.
const MinKeyBytes = 32

// Validate resolves the secrets of c and checks every value. It returns
// nil or an [ErrorList] of every problem, in file order. Call
// [Config.SetDefaults] first.
func (c *Config) Validate() error {
	v := &validator{c: c}
	v.listen("addr", c.Addr)
	v.listen("admin.addr", c.Admin.Addr)
	if c.Addr == c.Admin.Addr && !strings.HasSuffix(c.Addr, ":0") {
		v.errorf("admin.addr", "the admin listener needs an address of its own, not %s", c.Addr)
	}
	for i, h := range c.Admin.Hosts {
		if h == "" || strings.ContainsAny(h, "/@:[]* ") {
			v.errorf(fmt.Sprintf("admin.hosts[%d]", i), "%q is not a host name; write the name alone, without port, such as admin.internal", h)
		}
	}
	v.tls()
	v.enums(reflect.ValueOf(c).Elem(), "")
	if !strings.HasPrefix(c.ReservedPrefix, "/") || !strings.HasSuffix(c.ReservedPrefix, "/") || c.ReservedPrefix == "/" {
		v.errorf("reserved_prefix", "must start and end with / and name a path, like %s", DefaultReservedPrefix)
	}
	v.store()
	v.protection()
	v.library()
	v.upstreams()
	v.routes()
	v.response("", c.Cookies, &c.Headers, c.CORS)
	v.monitor()
	v.identity()
	v.openapi()
	v.errs.Sort()
	return v.errs.err()
}

// At returns the position of the key at path, or of the nearest enclosing
// key that has one.
func (c *Config) At(path string) Pos {
	for p := path; p != ""; p = parent(p) {
		if pos, ok := c.pos[p]; ok {
			return pos
		}
	}
	return Pos{File: c.file}
}

// SetFlag records that the value at path was set by a command-line flag, so
// that a problem with it names the flag rather than a line of the file.
func (c *Config) SetFlag(path, flag string) {
	if c.pos == nil {
		c.pos = map[string]Pos{}
	}
	c.pos[path] = Pos{File: flag}
}

// parent returns the path of the key that holds path: "a.b[2]" → "a.b",
// "a.b" → "a".
func parent(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}

type validator struct {
	c    *Config
	errs ErrorList
}

func (v *validator) errorf(path, format string, args ...any) {
	for p := path; p != ""; p = parent(p) {
		if v.c.bad[p] {
			return
		}
	}
	v.errs = append(v.errs, &Error{Pos: v.c.At(path), Path: path, Msg: fmt.Sprintf(format, args...)})
}

// enums checks every string field with an enum tag below v.
func (v *validator) enums(val reflect.Value, path string) {
	switch val.Kind() {
	case reflect.Pointer:
		if !val.IsNil() {
			v.enums(val.Elem(), path)
		}
	case reflect.Slice:
		for i := range val.Len() {
			v.enums(val.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
	case reflect.Struct:
		t := val.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			name := yamlName(f)
			if name == "" {
				continue
			}
			fp := join(path, name)
			if enum := f.Tag.Get("enum"); enum != "" {
				s := val.Field(i).String()
				if allowed := strings.Split(enum, ","); s != "" && !slices.Contains(allowed, s) {
					v.errorf(fp, "%q is not one of %s", s, strings.Join(allowed, ", "))
				}
				continue
			}
			v.enums(val.Field(i), fp)
		}
	}
}

func (v *validator) listen(path, addr string) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || strings.ContainsAny(host, " /@") {
		v.errorf(path, "%q is not a host:port address, such as 127.0.0.1:8080", addr)
		return
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		v.errorf(path, "%q has no valid port number", addr)
	}
}

func (v *validator) tls() {
	t := v.c.TLS
	switch {
	case t.SelfSigned && (t.Cert != "" || t.Key != ""):
		v.errorf("tls.self_signed", "set either self_signed or cert and key, not both")
	case (t.Cert == "") != (t.Key == ""):
		v.errorf("tls", "cert and key go together: set both, or neither for plain HTTP")
	case t.Cert != "":
		if _, err := tls.LoadX509KeyPair(t.Cert, t.Key); err != nil {
			v.errorf("tls.cert", "cannot load the certificate and key: %v", err)
		}
	}
}

func (v *validator) store() {
	s := &v.c.Store
	if err := s.Resolve(); err != nil {
		v.errorf("store", "%v", err)
		return
	}
	val := s.Value()
	if val == "memory" {
		return
	}
	// The URL may hold a password: do not repeat it (nor does
	// redisstore.CheckURL).
	if scheme, _, _ := strings.Cut(val, "://"); !slices.Contains(redisSchemes, scheme) {
		v.errorf("store", `must be "memory", a redis://host:port/db (or rediss://) URL, a redis+sentinel://host:port/db?master_name=NAME URL, or a redis+cluster://host:port?addr=host:port URL`)
		return
	}
	// The rest is checked by the store that will open it.
	if err := redisstore.CheckURL(val); err != nil {
		v.errorf("store", "%v", err)
		return
	}
	if u, err := url.Parse(val); err != nil || u.Host == "" {
		v.errorf("store", "the Redis URL names no host: write it as redis://host:port/db")
	}
}

// redisSchemes are the schemes of the store URLs that redisstore.Open
// accepts.
var redisSchemes = []string{"redis", "rediss", "redis+sentinel", "rediss+sentinel", "redis+cluster", "rediss+cluster"}

func (v *validator) protection() {
	// Origins, proxies, token names and route patterns are the
	// library's to check (see library).
	p := &v.c.Protection
	if h := v.c.TokenResponseHeader; h != "" && !httpsyntax.IsToken(h) {
		v.errorf("token_response_header", "%q is not a valid header name", h)
	}
	seen := map[string]int{}
	for i := range p.Keys {
		path := fmt.Sprintf("protection.keys[%d]", i)
		k := &p.Keys[i]
		if err := k.Resolve(); err != nil {
			v.errorf(path, "%v", err)
			continue
		}
		key, err := DecodeKey(k.Value())
		if err != nil {
			v.errorf(path, "%v", err)
			continue
		}
		if j, dup := seen[string(key)]; dup {
			v.errorf(path, "the same key as protection.keys[%d]: remove one", j)
		}
		seen[string(key)] = i
	}
}

// DecodeKey decodes a base64 signing key, as printed by "forgeproof keygen".
func DecodeKey(s string) ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("key is not base64: generate one with \"forgeproof keygen\"")
	}
	if len(b) < MinKeyBytes {
		return nil, fmt.Errorf("key is %d bytes, it needs at least %d: generate one with \"forgeproof keygen\"", len(b), MinKeyBytes)
	}
	return b, nil
}

func (v *validator) upstreams() {
	if len(v.c.Upstreams) == 0 {
		v.errorf("upstreams", "no upstream: add one with a url, or run with --upstream URL")
		return
	}
	names := map[string]int{}
	type match struct{ host, prefix string }
	matches := map[match]int{}
	for i, u := range v.c.Upstreams {
		path := fmt.Sprintf("upstreams[%d]", i)
		if u.Name != "" {
			if j, dup := names[u.Name]; dup {
				v.errorf(path+".name", "name %q is also used by upstreams[%d]", u.Name, j)
			}
			names[u.Name] = i
		}
		pu, err := url.Parse(u.URL)
		switch {
		case u.URL == "":
			v.errorf(path+".url", "missing: set the backend's URL, such as http://127.0.0.1:3000")
		case err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "":
			shown := u.URL
			if strings.Contains(shown, "@") {
				// It may hold a password before the host.
				shown = redact.URL(shown)
			}
			v.errorf(path+".url", "%q is not an http:// or https:// URL with a host", shown)
		case pu.User != nil:
			v.errorf(path+".url", "credentials in the URL are not supported")
		case pu.RawQuery != "" || pu.Fragment != "":
			v.errorf(path+".url", "%q: a query or fragment has no meaning here", u.URL)
		}
		if !strings.HasPrefix(u.PathPrefix, "/") {
			v.errorf(path+".path_prefix", "%q must start with /", u.PathPrefix)
		}
		hosts := u.Hosts
		if len(hosts) == 0 {
			hosts = []string{""}
		}
		for j, h := range hosts {
			if h != "" && !gateway.ValidHost(h) {
				v.errorf(fmt.Sprintf("%s.hosts[%d]", path, j), "%q is not a host name: write app.example.com or *.example.com, without a port", h)
			}
			m := match{strings.ToLower(h), u.PathPrefix}
			if k, dup := matches[m]; dup {
				v.errorf(path, "routes the same host and path prefix as upstreams[%d], so it would never be chosen", k)
			}
			matches[m] = i
		}
	}
}

func (v *validator) routes() {
	for i := range v.c.Routes {
		r := &v.c.Routes[i]
		path := fmt.Sprintf("routes[%d]", i)
		// The library checks the pattern and the protection rules.
		if _, p, err := forgeproof.SplitPattern(r.Pattern); err == nil && strings.HasPrefix(p, v.c.ReservedPrefix) {
			v.errorf(path+".pattern", "%q is under the reserved prefix %s, which the gateway answers itself: choose another path or change reserved_prefix", r.Pattern, v.c.ReservedPrefix)
		}
		if r.InsecureBypass && (r.OneTimeTokens || r.JSONOnly || r.RequireHeader != "" ||
			r.CheckSafeMethods || r.ReportOnly || r.ReauthMaxAge != 0 || r.Tokens != "") {
			v.errorf(path+".insecure_bypass", "insecure_bypass turns every check off, so the route's other protection rules would never apply: remove them or the bypass")
		}
		v.response(path, r.Cookies, r.Headers, r.CORS)
	}
}

// response checks the response rules of a route (path "routes[i]") or the
// defaults (path "").
func (v *validator) response(path string, cookies []Cookie, h *Headers, cors *CORS) {
	names := map[string]int{}
	for j, ck := range cookies {
		cp := join(path, fmt.Sprintf("cookies[%d]", j))
		if ck.Name != "*" && !httpsyntax.IsToken(ck.Name) {
			v.errorf(cp+".name", "%q is not a cookie name (or * for every other cookie)", ck.Name)
		}
		if k, dup := names[ck.Name]; dup {
			v.errorf(cp+".name", "cookie %q already has a rule (cookies[%d])", ck.Name, k)
		}
		names[ck.Name] = j
		if ck.SameSite == "none" && ck.Secure == "keep" {
			v.errorf(cp+".secure", "browsers drop SameSite=None cookies without Secure: remove secure: keep")
		}
	}
	if h != nil {
		if strings.ContainsAny(h.FrameAncestors, ";,") {
			v.errorf(join(path, "headers.frame_ancestors"), "%q: give only the source list, such as 'self'", h.FrameAncestors)
		}
		for key, val := range map[string]string{
			"content_security_policy": h.ContentSecurityPolicy,
			"frame_ancestors":         h.FrameAncestors,
			"referrer_policy":         h.ReferrerPolicy,
		} {
			if strings.ContainsAny(val, "\r\n") {
				v.errorf(join(path, "headers."+key), "a header value must be one line")
			}
		}
	}
	if cors == nil {
		return
	}
	cp := join(path, "cors")
	if len(cors.AllowOrigins) == 0 {
		v.errorf(cp, "allow_origins is empty: list the origins allowed to read responses, such as https://app.example.com, or remove cors")
	}
	for j, o := range cors.AllowOrigins {
		op := fmt.Sprintf("%s.allow_origins[%d]", cp, j)
		switch {
		case o == "*" && cors.AllowCredentials:
			v.errorf(op, `"*" cannot be combined with allow_credentials: list the exact origins`)
		case o != "*":
			v.canonicalOrigin(op, o)
		}
	}
	for j, m := range cors.AllowMethods {
		if !httpsyntax.IsToken(m) || strings.ToUpper(m) != m {
			v.errorf(fmt.Sprintf("%s.allow_methods[%d]", cp, j), "%q is not an upper-case HTTP method", m)
		}
	}
	for j, h := range cors.AllowHeaders {
		if !httpsyntax.IsToken(h) {
			v.errorf(fmt.Sprintf("%s.allow_headers[%d]", cp, j), "%q is not a header name", h)
		}
	}
	for j, h := range cors.ExposeHeaders {
		if !httpsyntax.IsToken(h) {
			v.errorf(fmt.Sprintf("%s.expose_headers[%d]", cp, j), "%q is not a header name", h)
		}
	}
}
