package config

import (
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/forgeproof/forgeproof"
	"golang.org/x/net/publicsuffix"
)

// The library decides which origins, route patterns, proxy addresses and
// token names are valid: the configuration hands it the values of the file
// and maps each of its errors back to the key and line they came from, so
// that "forgeproof validate" accepts exactly what the gateway will.

// trustedOriginsKey is the key that rejection bodies tell a developer to
// list an origin under.
const trustedOriginsKey = "protection.trusted_origins"

// libraryConfig returns the library configuration of c without keys or
// store: the protection section and the library rules of every route.
func (c *Config) libraryConfig() forgeproof.Config {
	p := c.Protection
	return forgeproof.Config{
		PublicOrigins:      p.PublicOrigins,
		TrustedOrigins:     p.TrustedOrigins,
		TrustedProxies:     p.TrustedProxies,
		DenyMissingOrigin:  p.DenyMissingOrigin,
		Tokens:             tokenMode(p.Tokens),
		SessionCookie:      p.SessionCookie,
		CookieName:         p.CookieName,
		HeaderName:         p.HeaderName,
		FieldName:          p.FieldName,
		TokenMaxAge:        p.TokenMaxAge,
		MaxFormBytes:       p.MaxFormBytes,
		ReportOnly:         p.ReportOnly,
		PublicSuffixList:   publicsuffix.List,
		TrustedOriginsName: trustedOriginsKey,
	}
}

// libraryRoute returns the library rules of r.
func libraryRoute(r *Route) forgeproof.Route {
	return forgeproof.Route{
		Pattern:          r.Pattern,
		Tokens:           tokenMode(r.Tokens),
		OneTimeTokens:    r.OneTimeTokens,
		RequireHeader:    r.RequireHeader,
		JSONOnly:         r.JSONOnly,
		CheckSafeMethods: r.CheckSafeMethods,
		ReportOnly:       r.ReportOnly,
		ReauthMaxAge:     r.ReauthMaxAge,
		InsecureBypass:   r.InsecureBypass,
	}
}

// library checks the library's part of the configuration with
// forgeproof.New, and reports each of its field errors at its key.
func (v *validator) library() {
	cfg := v.c.libraryConfig()
	for i := range v.c.Routes {
		cfg.Routes = append(cfg.Routes, libraryRoute(&v.c.Routes[i]))
	}
	_, err := forgeproof.New(cfg)
	if err == nil {
		return
	}
	var ce *forgeproof.ConfigError
	if !errors.As(err, &ce) {
		v.errorf("protection", "%s", userWords(strings.TrimPrefix(err.Error(), "forgeproof: ")))
		return
	}
	for _, fe := range ce.Errors {
		msg := fe.Msg
		if fe.Hint != "" {
			msg += "; " + fe.Hint
		}
		v.errorf(keyPath(fe.Field), "%s", userWords(msg))
	}
}

// keyPath returns the key path of a library field path:
// "TrustedOrigins[2]" → "protection.trusted_origins[2]",
// "Routes[1].Pattern" → "routes[1].pattern". A library field that the
// file has no key for is reported against the protection section.
func keyPath(field string) string {
	var out []string
	var t reflect.Type
	for i, seg := range strings.Split(field, ".") {
		name, index, hasIndex := strings.Cut(seg, "[")
		var f reflect.StructField
		ok := false
		switch {
		case i == 0:
			if f, ok = reflect.TypeFor[Protection]().FieldByName(name); ok {
				out = append(out, "protection")
			} else {
				f, ok = reflect.TypeFor[Config]().FieldByName(name)
			}
		case t != nil:
			f, ok = t.FieldByName(name)
		}
		if !ok || yamlName(f) == "" {
			break
		}
		key := yamlName(f)
		if hasIndex {
			key += "[" + index
		}
		out = append(out, key)
		for t = f.Type; t.Kind() == reflect.Slice || t.Kind() == reflect.Pointer; {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			t = nil
		}
	}
	if len(out) == 0 {
		return "protection"
	}
	return strings.Join(out, ".")
}

// words maps the library's names, as its messages use them, to the keys
// and values of the file.
var words = func() map[string]string {
	m := map[string]string{
		"Routes":             "routes",
		"SignedTokens":       "signed",
		"SynchronizerTokens": "synchronizer",
		"TokensOff":          "off",
	}
	for _, t := range []reflect.Type{reflect.TypeFor[Protection](), reflect.TypeFor[Route]()} {
		for i := range t.NumField() {
			if name := yamlName(t.Field(i)); name != "" {
				m[t.Field(i).Name] = name
			}
		}
	}
	m["TrustedOrigins"] = trustedOriginsKey
	return m
}()

// userWords replaces the library's names in msg, outside quoted values, by
// the keys of the file: "set Tokens to SignedTokens" → "set tokens to
// signed".
func userWords(msg string) string {
	var b strings.Builder
	for i := 0; i < len(msg); {
		c := msg[i]
		switch {
		case c == '"':
			j := i + 1
			for j < len(msg) && msg[j] != '"' {
				if msg[j] == '\\' {
					j++
				}
				j++
			}
			j = min(j+1, len(msg))
			b.WriteString(msg[i:j])
			i = j
		case isLetter(c):
			j := i
			for j < len(msg) && isLetter(msg[j]) {
				j++
			}
			w := msg[i:j]
			if k, ok := words[w]; ok {
				w = k
			}
			b.WriteString(w)
			i = j
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String()
}

func isLetter(c byte) bool { return 'a' <= c|0x20 && c|0x20 <= 'z' }

// canonicalOrigin checks an origin of a CORS allowlist at path.
func (v *validator) canonicalOrigin(path, o string) {
	if _, err := forgeproof.CanonicalOrigin(o); err != nil {
		fe := err.(*forgeproof.FieldError)
		v.errorf(path, "%s", userWords(fmt.Sprintf("%s; %s", fe.Msg, fe.Hint)))
	}
}
