// Package csrf is a drop-in replacement for github.com/gorilla/csrf
// (v1.7.3) backed by forgeproof: it has gorilla's API, so that migrating is
// a change of import path, and forgeproof's checks behind it.
//
//	import "github.com/forgeproof/forgeproof/csrf" // was "github.com/gorilla/csrf"
//
//	CSRF := csrf.Protect([]byte("32-byte-long-auth-key"), csrf.Secure(false))
//	http.ListenAndServe(":8000", CSRF(r))
//
// As with gorilla, every request through [Protect] gets a masked token in
// its context ([Token], [TemplateField]); every request whose method is not
// GET, HEAD, OPTIONS or TRACE must come from the request's own origin (or
// a trusted one) and carry the token in the X-CSRF-Token header or the
// "gorilla.csrf.Token" form field, or it is handed to the error handler,
// where [FailureReason] tells why.
//
// Requests are taken to have reached the server over HTTPS, as with
// gorilla, unless marked with [PlaintextHTTPRequest].
//
// The places where the package deliberately differs from gorilla (it reads
// Fetch Metadata, compares origins with their scheme and default port, sets
// the cookie with Path=/ by default, marks token-carrying responses
// no-store, refuses keys shorter than 32 bytes, and offers [PublicOrigins]
// and [TrustedProxies] for proxies that rewrite Host) are listed in
// docs/MIGRATING-FROM-GORILLA.md.
package csrf

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log"
	"net/http"
	"strings"
	"time"

	"github.com/forgeproof/forgeproof"
)

// The reasons handed to the error handler, as [FailureReason] returns
// them. Their messages are gorilla's.
var (
	// ErrNoReferer: an HTTPS request without Origin carried no Referer
	// (and no Sec-Fetch-Site).
	ErrNoReferer = errors.New("referer not supplied")
	// ErrBadOrigin: the Origin (or the browser's Sec-Fetch-Site) named an
	// origin that is neither the request's own nor trusted.
	ErrBadOrigin = errors.New("origin invalid")
	// ErrBadReferer: the Referer named a page of an untrusted origin, or a
	// plain-HTTP page on an HTTPS request.
	ErrBadReferer = errors.New("referer invalid")
	// ErrNoToken: the request carried no token.
	ErrNoToken = errors.New("CSRF token not found in request")
	// ErrBadToken: the token did not match the token cookie (or there was
	// no cookie), or it had expired.
	ErrBadToken = errors.New("CSRF token invalid")
)

// TemplateTag is the conventional name under which [TemplateField]'s
// result is passed to a template: {{ .csrfField }}.
var TemplateTag = "csrfField"

type contextKey string

// PlaintextHTTPContextKey is the context key that [PlaintextHTTPRequest]
// sets to true.
const PlaintextHTTPContextKey contextKey = "plaintext"

const (
	tokenKey contextKey = "gorilla.csrf.Token"
	formKey  contextKey = "gorilla.csrf.Form"
	errorKey contextKey = "gorilla.csrf.Error"
	skipKey  contextKey = "gorilla.csrf.Skip"
)

// Defaults, as in gorilla/csrf.
const (
	defaultCookieName = "_gorilla_csrf"
	defaultFieldName  = "gorilla.csrf.Token"
	defaultHeaderName = "X-CSRF-Token"
	defaultMaxAge     = 12 * 3600
)

// Protect returns middleware that checks every request with forgeproof.
// authKey signs the tokens: it must be at least 32 bytes of secret random
// data (such as "forgeproof keygen" prints), the same on every instance.
//
// A configuration that forgeproof refuses (a short key, a malformed trusted
// origin) fails closed: every request goes to the error handler, whose
// [FailureReason] says what to fix, and the problem is logged once.
func Protect(authKey []byte, opts ...Option) func(http.Handler) http.Handler {
	return func(h http.Handler) http.Handler {
		o := options{
			secure:     true,
			httpOnly:   true,
			sameSite:   SameSiteLaxMode,
			maxAge:     defaultMaxAge,
			cookieName: defaultCookieName,
			fieldName:  defaultFieldName,
			header:     defaultHeaderName,
		}
		for _, opt := range opts {
			opt(&o)
		}
		if o.errorHandler == nil {
			o.errorHandler = http.HandlerFunc(unauthorizedHandler)
		}
		if o.maxAge < 0 {
			o.maxAge = defaultMaxAge
		}
		cs := &csrf{next: h, opts: o}
		cs.secure, cs.plain, cs.err = newProtections(authKey, &o)
		if cs.err != nil {
			log.Printf("csrf: %v; every request is refused", cs.err)
		}
		return cs
	}
}

// csrf is the middleware that Protect returns.
type csrf struct {
	next          http.Handler
	opts          options
	err           error                  // the configuration's error: fail closed
	secure, plain *forgeproof.Protection // for HTTPS and plain-HTTP requests
}

// newProtections builds the two protections behind the middleware: one for
// requests taken to be HTTPS (where a request without Origin needs a
// Referer, as with gorilla) and one for requests marked plaintext (where
// it does not, and http:// forms of trusted hosts are trusted too).
func newProtections(authKey []byte, o *options) (secure, plain *forgeproof.Protection, err error) {
	keys, err := forgeproof.NewKeyRing(authKey)
	if err != nil {
		return nil, nil, fmt.Errorf("auth key: %w", err)
	}
	var httpsTrusted, httpTrusted []string
	for _, s := range o.trusted {
		if strings.Contains(s, "://") {
			httpsTrusted = append(httpsTrusted, s)
			httpTrusted = append(httpTrusted, s)
			continue
		}
		// gorilla lists hosts ("ui.example.com"); forgeproof compares
		// origins, with their scheme.
		httpsTrusted = append(httpsTrusted, "https://"+s)
		httpTrusted = append(httpTrusted, "https://"+s, "http://"+s)
	}
	maxAge := o.maxAge
	if maxAge == 0 {
		maxAge = defaultMaxAge
	}
	cfg := forgeproof.Config{
		PublicOrigins:  o.publicOrigins,
		TrustedOrigins: httpsTrusted,
		TrustedProxies: o.trustedProxies,
		Keys:           keys,
		CookieName:     o.cookieName,
		HeaderName:     o.header,
		FieldName:      o.fieldName,
		TokenMaxAge:    secondsDuration(maxAge),
		// gorilla refuses an HTTPS request that has neither Origin nor
		// Referer.
		DenyMissingOrigin: true,
		// Cookie attributes are gorilla's options, not forgeproof's
		// warning about plain HTTP.
		ErrorLog: log.New(io.Discard, "", 0),
	}
	if secure, err = forgeproof.New(cfg); err != nil {
		return nil, nil, err
	}
	cfg.TrustedOrigins, cfg.DenyMissingOrigin = httpTrusted, false
	if plain, err = forgeproof.New(cfg); err != nil {
		return nil, nil, err
	}
	return secure, plain, nil
}

// ServeHTTP checks r and hands it to the protected handler, or to the
// error handler.
func (cs *csrf) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if skip, _ := r.Context().Value(skipKey).(bool); skip {
		cs.next.ServeHTTP(w, r)
		return
	}
	if cs.err != nil {
		cs.opts.errorHandler.ServeHTTP(w, withValue(r, errorKey, cs.err))
		return
	}
	// forgeproof reads the request's scheme from its connection; gorilla
	// takes every request for HTTPS unless it is marked plaintext. The
	// view that forgeproof checks says so.
	p, view := cs.secure, *r
	if plaintext, _ := r.Context().Value(PlaintextHTTPContextKey).(bool); plaintext {
		p, view.TLS = cs.plain, nil
	} else if view.TLS == nil {
		view.TLS = &tls.ConnectionState{}
	}
	token, err := p.Token(w, &view)
	if err != nil {
		cs.opts.errorHandler.ServeHTTP(w, withValue(r, errorKey, err))
		return
	}
	cs.setCookieOptions(w.Header())
	ctx := context.WithValue(r.Context(), tokenKey, token)
	ctx = context.WithValue(ctx, formKey, cs.opts.fieldName)
	if err := p.Check(&view); err != nil {
		// Check may have read ahead in a form body and restored it on
		// the view; the handler must read it whole.
		r = r.WithContext(context.WithValue(ctx, errorKey, failure(err)))
		r.Body = view.Body
		cs.opts.errorHandler.ServeHTTP(w, r)
		return
	}
	r = r.WithContext(ctx)
	r.Body = view.Body
	cs.next.ServeHTTP(w, r)
}

// failure maps a forgeproof rejection to gorilla's error for it.
func failure(err error) error {
	var e *forgeproof.Error
	if !errors.As(err, &e) {
		return err
	}
	switch e.Reason {
	case forgeproof.ReasonRefererMissing, forgeproof.ReasonOriginMissing:
		return ErrNoReferer
	case forgeproof.ReasonRefererMismatch, forgeproof.ReasonRefererMalformed, forgeproof.ReasonRefererInsecure:
		return ErrBadReferer
	case forgeproof.ReasonOriginMismatch, forgeproof.ReasonOriginNull, forgeproof.ReasonOriginMalformed,
		forgeproof.ReasonSecFetchSiteCrossSite, forgeproof.ReasonSecFetchSiteSameSite, forgeproof.ReasonSecFetchSiteInvalid:
		return ErrBadOrigin
	case forgeproof.ReasonTokenMissing:
		return ErrNoToken
	}
	return ErrBadToken
}

// setCookieOptions gives the token cookie set on the response, if any, the
// attributes of the options: forgeproof sets Path=/, HttpOnly, SameSite=Lax
// and Secure on HTTPS; gorilla's options decide here.
func (cs *csrf) setCookieOptions(h http.Header) {
	for i, v := range h["Set-Cookie"] {
		c, err := http.ParseSetCookie(v)
		if err != nil || c.Name != cs.opts.cookieName {
			continue
		}
		c.Path = cs.opts.path
		if c.Path == "" {
			c.Path = "/"
		}
		c.Domain = cs.opts.domain
		c.Secure = cs.opts.secure
		c.HttpOnly = cs.opts.httpOnly
		c.SameSite = http.SameSite(cs.opts.sameSite)
		c.MaxAge = cs.opts.maxAge // 0: a session cookie
		c.Expires = time.Time{}
		if c.MaxAge > 0 {
			c.Expires = time.Now().Add(secondsDuration(c.MaxAge))
		}
		h["Set-Cookie"][i] = c.String()
	}
}

// withValue returns r with key set to val in its context.
func withValue(r *http.Request, key contextKey, val any) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), key, val))
}

// Token returns the masked token for the request, for a page to send back
// in the X-CSRF-Token header or the form field. It returns "" when the
// request did not go through [Protect]'s middleware.
func Token(r *http.Request) string {
	tok, _ := r.Context().Value(tokenKey).(string)
	return tok
}

// TemplateField returns a hidden input that carries the token, for an
// html/template page: pass it as {{ .csrfField }} (see [TemplateTag]). It
// returns "" when the request did not go through the middleware.
func TemplateField(r *http.Request) template.HTML {
	name, ok := r.Context().Value(formKey).(string)
	if !ok {
		return ""
	}
	return template.HTML(`<input type="hidden" name="` + template.HTMLEscapeString(name) +
		`" value="` + template.HTMLEscapeString(Token(r)) + `">`)
}

// FailureReason returns why the request was refused, in the error handler:
// one of ErrNoReferer, ErrBadOrigin, ErrBadReferer, ErrNoToken and
// ErrBadToken, or a configuration error. It returns nil elsewhere.
func FailureReason(r *http.Request) error {
	err, _ := r.Context().Value(errorKey).(error)
	return err
}

// UnsafeSkipCheck returns r marked so that the middleware lets it through
// unchecked, and without a token. Use it, in a middleware before
// [Protect]'s, only for requests that need no protection, such as
// authenticated API calls that carry no cookie.
func UnsafeSkipCheck(r *http.Request) *http.Request {
	return withValue(r, skipKey, true)
}

// PlaintextHTTPRequest returns r marked as received over plain HTTP: the
// request's own origin is then http://HOST, and a request without Origin
// needs no Referer. Mark requests in a middleware before [Protect]'s, in
// development or behind a proxy that talks plain HTTP to browsers.
func PlaintextHTTPRequest(r *http.Request) *http.Request {
	return withValue(r, PlaintextHTTPContextKey, true)
}

// unauthorizedHandler is the default error handler: 403 with gorilla's
// text.
func unauthorizedHandler(w http.ResponseWriter, r *http.Request) {
	http.Error(w, fmt.Sprintf("%s - %s", http.StatusText(http.StatusForbidden), FailureReason(r)),
		http.StatusForbidden)
}
