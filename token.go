package forgeproof

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log"
	"net/http"
	"net/textproto"
	"strings"
	"sync"
	"time"
)

// Defaults of the token fields of [Config].
const (
	// The names differ from every framework's own (Django, Rails,
	// Laravel, Express, Spring, Angular), so that the application's own
	// CSRF defense keeps working behind the gateway.
	defaultHeaderName   = "X-Forgeproof-Token"
	defaultFieldName    = "forgeproof_token"
	defaultTokenMaxAge  = 12 * time.Hour
	defaultMaxFormBytes = 1 << 20

	// The token cookie's names: browsers accept a __Host- cookie only
	// from a secure origin, with Secure, Path=/ and no Domain, so that no
	// subdomain and no plain-HTTP page can plant one.
	secureCookieName = "__Host-forgeproof"
	plainCookieName  = "forgeproof"

	// maxClockSkew is how far in the future a token's issue time may lie,
	// for instances whose clocks differ a little.
	maxClockSkew = 60
)

// tokens holds the token layer's configuration and state.
type tokens struct {
	keys          *KeyRing
	store         Store
	sessionCookie string
	sessionFunc   func(*http.Request) string
	cookieName    string    // Config.CookieName; "" chooses by scheme
	readNames     [2]string // the token cookie is read under: Config.CookieName, or __Host-forgeproof and forgeproof
	headerKey     string    // the canonical form of headerName
	headerName    string
	fieldName     string
	maxAge        time.Duration
	maxAgeSecs    int64
	maxForm       int64
	sync          bool          // some route uses synchronizer tokens: pages get both kinds
	syncKeys      *syncKeyCache // when sync is set
	errorLog      *log.Logger
	warnOnce      sync.Once
	now           func() time.Time // time.Now, but tests set it
}

// init validates the token fields of cfg, fills in their defaults, and
// sets up t. Its error names every field that is wrong.
func (t *tokens) init(cfg *Config) error {
	var errs []error
	fail := func(field, hint, format string, args ...any) {
		errs = append(errs, &FieldError{Field: field, Msg: fmt.Sprintf(format, args...), Hint: hint})
	}
	if cfg.Keys == nil {
		kr, err := NewKeyRing(GenerateKey())
		if err != nil {
			return err
		}
		cfg.Keys = kr
	} else if len(cfg.Keys.keys) == 0 {
		fail("Keys", "create the ring with NewKeyRing", "Keys holds no key")
	}
	if cfg.Store == nil {
		cfg.Store = NewMemoryStore(defaultStoreEntries)
	}
	if cfg.HeaderName == "" {
		cfg.HeaderName = defaultHeaderName
	} else if !validToken(cfg.HeaderName) {
		fail("HeaderName", fmt.Sprintf("use a name such as %q", defaultHeaderName), "%q is not a header name", cfg.HeaderName)
	}
	if cfg.FieldName == "" {
		cfg.FieldName = defaultFieldName
	} else if strings.ContainsFunc(cfg.FieldName, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		fail("FieldName", fmt.Sprintf("use a name such as %q", defaultFieldName), "%q holds a control character", cfg.FieldName)
	}
	if cfg.CookieName != "" && !validToken(cfg.CookieName) {
		fail("CookieName", fmt.Sprintf("leave it empty for %q (HTTPS) or %q (plain HTTP)", secureCookieName, plainCookieName), "%q is not a cookie name", cfg.CookieName)
	}
	if cfg.SessionCookie != "" && !validToken(cfg.SessionCookie) {
		fail("SessionCookie", "set it to the name of the application's session cookie", "%q is not a cookie name", cfg.SessionCookie)
	}
	if cfg.SessionCookie != "" && cfg.SessionID == nil &&
		(cfg.SessionCookie == cfg.CookieName || cfg.SessionCookie == secureCookieName || cfg.SessionCookie == plainCookieName) {
		fail("SessionCookie", "set it to the application's session cookie", "%q is the token cookie's name", cfg.SessionCookie)
	}
	switch {
	case cfg.TokenMaxAge == 0:
		cfg.TokenMaxAge = defaultTokenMaxAge
	case cfg.TokenMaxAge < time.Second:
		fail("TokenMaxAge", fmt.Sprintf("set it to at least one second, or to 0 for %v", defaultTokenMaxAge), "TokenMaxAge is %v", cfg.TokenMaxAge)
	}
	switch {
	case cfg.MaxFormBytes == 0:
		cfg.MaxFormBytes = defaultMaxFormBytes
	case cfg.MaxFormBytes < 0:
		fail("MaxFormBytes", "set it to a positive number of bytes, or to 0 for 1 MiB", "MaxFormBytes is %d", cfg.MaxFormBytes)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	*t = tokens{
		keys:          cfg.Keys,
		store:         cfg.Store,
		sessionCookie: cfg.SessionCookie,
		sessionFunc:   cfg.SessionID,
		cookieName:    cfg.CookieName,
		headerKey:     textproto.CanonicalMIMEHeaderKey(cfg.HeaderName),
		headerName:    cfg.HeaderName,
		fieldName:     cfg.FieldName,
		maxAge:        cfg.TokenMaxAge,
		maxAgeSecs:    int64(cfg.TokenMaxAge / time.Second),
		maxForm:       cfg.MaxFormBytes,
		sync:          cfg.Tokens == SynchronizerTokens,
		errorLog:      cfg.ErrorLog,
		now:           clock.now,
	}
	t.readNames = [2]string{secureCookieName, plainCookieName}
	if t.cookieName != "" {
		t.readNames = [2]string{t.cookieName, ""}
	}
	for _, rt := range cfg.Routes {
		t.sync = t.sync || rt.Tokens == SynchronizerTokens
	}
	if t.sync {
		t.syncKeys = newSyncKeyCache()
	}
	if t.errorLog == nil {
		t.errorLog = log.Default()
	}
	return nil
}

// sessionID returns the session identifier of r: from Config.SessionID,
// else the value of Config.SessionCookie, else "".
func (p *Protection) sessionID(r *http.Request) string {
	if f := p.tok.sessionFunc; f != nil {
		return f(r)
	}
	if p.tok.sessionCookie != "" {
		v, _ := cookieValue(r.Header, p.tok.sessionCookie)
		return v
	}
	return ""
}

// session returns the session identifier of r, whose cookies rc holds:
// like sessionID, without reading the cookies again.
func (p *Protection) session(r *http.Request, rc *requestCookies) string {
	if f := p.tok.sessionFunc; f != nil {
		return f(r)
	}
	return rc.session
}

// The pre-session identifier is the prefix followed by the nonce of the
// token cookie. Its first byte, NUL, keeps it apart from session
// identifiers.
const (
	preSessionPrefix = "\x00pre-session\x00"
	preSessionLen    = len(preSessionPrefix) + nonceLen
)

// preSessionID returns the identifier that synchronizer and one-time
// tokens are bound to before login: one derived from the nonce of the
// token cookie.
func preSessionID(cookie *signedToken) string {
	var id [preSessionLen]byte
	return string(appendPreSessionID(id[:0], cookie))
}

// appendPreSessionID appends the pre-session identifier of cookie to dst.
func appendPreSessionID(dst []byte, cookie *signedToken) []byte {
	return append(append(dst, preSessionPrefix...), cookie.nonce()...)
}

// binding returns what the synchronizer and one-time tokens of r are bound
// to: the session identifier or, before login, the pre-session identifier
// of the token cookie.
func (p *Protection) binding(r *http.Request) (string, Reason) {
	if sid := p.sessionID(r); sid != "" {
		return sid, ReasonNone
	}
	cookie, reason := p.requestCookie(r, "")
	if reason != ReasonNone {
		return "", reason
	}
	return preSessionID(&cookie), ReasonNone
}

// cookieName returns the name of the token cookie for r, and whether the
// cookie is to be marked Secure.
func (p *Protection) cookieName(r *http.Request) (name string, secure bool) {
	secure = p.isHTTPS(r)
	switch {
	case p.tok.cookieName != "":
		return p.tok.cookieName, secure
	case secure:
		return secureCookieName, true
	}
	return plainCookieName, false
}

// tokenCookieName returns the name of the cookie that carries r's token.
// A __Host- cookie is taken whatever the request's scheme: browsers accept
// one only from a secure origin, so no plain-HTTP page nor subdomain can
// have planted it. This spares the verification of a token the work of
// finding out the request's scheme.
func (p *Protection) tokenCookieName(r *http.Request) string {
	switch {
	case p.tok.cookieName != "":
		return p.tok.cookieName
	case hasCookie(r.Header, secureCookieName) || p.isHTTPS(r):
		return secureCookieName
	}
	return plainCookieName
}

// tokenCookie returns the value of r's token cookie, from the cookies rc
// read from r, and whether r has one. The name is chosen as in
// tokenCookieName.
func (p *Protection) tokenCookie(r *http.Request, rc *requestCookies) (string, bool) {
	if rc.seen[0] || p.tok.cookieName != "" || p.isHTTPS(r) {
		return rc.token[0], rc.seen[0]
	}
	return rc.token[1], rc.seen[1]
}

// requestCookie returns the first token cookie of r that is genuine,
// unexpired and bound to session, or the reason why there is none.
func (p *Protection) requestCookie(r *http.Request, session string) (signedToken, Reason) {
	name := p.tokenCookieName(r)
	sc := newCookieScanner(r.Header)
	reason := ReasonCookieMissing
	now := p.tok.now().Unix()
	for {
		v, ok := sc.next(name)
		if !ok {
			return signedToken{}, reason
		}
		var c signedToken
		if c, reason = p.tok.cookieToken(v, session, now); reason == ReasonNone {
			return c, ReasonNone
		}
	}
}

// cookieToken decodes the token cookie value v and checks that it is
// genuine, unexpired at now (Unix seconds) and bound to session.
func (t *tokens) cookieToken(v, session string, now int64) (signedToken, Reason) {
	var c signedToken
	if !decodeBase64(c[:], v) || c[0] != versionSigned {
		return c, ReasonTokenInvalid
	}
	return c, t.check(&c, session, now)
}

// preSessionCookie returns r's token cookie, read into rc, if it is
// genuine, unexpired at now and bound to no session: the cookie that a
// pre-session identifier is derived from.
func (p *Protection) preSessionCookie(r *http.Request, rc *requestCookies, now int64) (signedToken, Reason) {
	v, ok := p.tokenCookie(r, rc)
	if !ok {
		return signedToken{}, ReasonCookieMissing
	}
	return p.tok.cookieToken(v, "", now)
}

// mint returns a new signed token of the given version bound to session,
// with the given nonce, or a random one if nonce is nil.
func (t *tokens) mint(version byte, session string, nonce []byte) signedToken {
	k := t.keys.signer()
	var tok signedToken
	var sum [sha256.Size]byte
	tok[0] = version
	binary.BigEndian.PutUint32(tok[offKeyID:], k.id)
	binary.BigEndian.PutUint64(tok[offIssued:], uint64(t.now().Unix()))
	k.sessionTag(&sum, session)
	copy(tok[offTag:offTag+tagLen], sum[:])
	if nonce == nil {
		rand.Read(tok.nonce())
	} else {
		copy(tok.nonce(), nonce)
	}
	k.tokenMAC(&sum, tok.body(), session)
	copy(tok[offMAC:], sum[:])
	return tok
}

// check verifies a signed token's MAC for session and its age at now
// (Unix seconds).
func (t *tokens) check(tok *signedToken, session string, now int64) Reason {
	k := t.keys.lookup(tok.keyID())
	if k == nil {
		return ReasonTokenInvalid
	}
	var sum [sha256.Size]byte
	k.tokenMAC(&sum, tok.body(), session)
	if !equal(sum[:], tok.mac()) {
		// Either forged, or signed for another session: the session tag
		// tells which, without revealing the other session.
		k.sessionTag(&sum, session)
		if !equal(sum[:tagLen], tok.tag()) {
			return ReasonTokenSessionMismatch
		}
		return ReasonTokenInvalid
	}
	issued := tok.issued()
	switch {
	case issued > now+maxClockSkew:
		return ReasonTokenInvalid
	case now-issued >= t.maxAgeSecs:
		return ReasonTokenExpired
	}
	return ReasonNone
}

// verifyToken applies the token layer in mode (TokensDefault means
// Config.Tokens) to r and returns ReasonNone or the reason for rejection.
// A synchronizer token passes the signed double-submit check too, so mode
// SynchronizerTokens asks for both. With oneTime, the request must carry a
// token minted by OneTimeToken, which is then used up.
//
// A request that carries two session cookies, or two token cookies, with
// different values is refused first: a sibling subdomain can plant a
// cookie of the same name beside the genuine one, and which of them a
// framework reads is not knowable here.
func (p *Protection) verifyToken(r *http.Request, mode TokenMode, oneTime bool) Reason {
	t := &p.tok
	if mode == TokensDefault {
		mode = p.mode
	}
	if mode == TokensOff {
		return ReasonNone
	}
	rc := t.readCookies(r.Header)
	if rc.conflict {
		return ReasonCookieConflict
	}
	s := ""
	if vs := r.Header[t.headerKey]; len(vs) > 0 && vs[0] != "" {
		s = vs[0]
	} else {
		var reason Reason
		if s, reason = formToken(r, t.fieldName, t.maxForm); reason != ReasonNone {
			return reason
		}
	}
	switch {
	case oneTime:
		return p.verifyOneTime(r, s, &rc)
	case mode == SynchronizerTokens:
		return p.verifySync(r, s, &rc)
	}
	return p.verifySigned(r, s, &rc)
}

// verifySigned checks a masked double-submit token s against the token
// cookie of r, read into rc. It does not allocate.
//
// The token must carry the nonce of the cookie: the nonce is what the
// browser holds and a forger cannot read. The token itself must be genuine
// for the request's session and unexpired. Comparing nonces rather than
// whole tokens lets a page rendered before the cookie was renewed (which
// keeps the nonce; see ensureCookie) be submitted after it.
func (p *Protection) verifySigned(r *http.Request, s string, rc *requestCookies) Reason {
	var raw [signedLen + syncLen]byte
	var n int
	switch len(s) {
	case maskedSignedLen:
		n = signedLen
	case maskedBothLen:
		n = signedLen + syncLen
	default:
		return ReasonTokenInvalid
	}
	if !unmask(raw[:n], s) || raw[0] != versionSigned {
		return ReasonTokenInvalid
	}
	tok := (*signedToken)(raw[:signedLen])
	v, ok := p.tokenCookie(r, rc)
	if !ok {
		return ReasonCookieMissing
	}
	if !hasNonce(v, tok) {
		return ReasonTokenInvalid
	}
	return p.tok.check(tok, p.session(r, rc), p.tok.now().Unix())
}

// verifySync checks a masked token s of two parts: the second must be the
// synchronizer token stored for r's session, and the first must carry the
// nonce of r's token cookie, which must itself be genuine, unexpired and
// bound to the session. So the token is bound to both halves of what the
// browser holds, the session cookie and the token cookie: a sibling
// subdomain that plants its own session cookie gains nothing without the
// token cookie that goes with it. The first part's own age does not count:
// the stored token's lifetime governs, so that open pages stay valid while
// the session is in use. rc holds r's cookies. With a MemoryStore,
// verifySync does not allocate.
func (p *Protection) verifySync(r *http.Request, s string, rc *requestCookies) Reason {
	var raw [signedLen + syncLen]byte
	if len(s) != maskedBothLen || !unmask(raw[:], s) || raw[0] != versionSigned || raw[signedLen] != versionSync {
		return ReasonTokenInvalid
	}
	// The store key, of the session or else of the pre-session identifier
	// (whose cookie is then checked already), built without allocating.
	sid := p.session(r, rc)
	now := p.tok.now()
	var key [syncKeyMaxLen]byte
	var k []byte
	var cookie signedToken
	if sid != "" {
		k = p.tok.syncKeys.appendKey(key[:0], sid)
	} else {
		var reason Reason
		if cookie, reason = p.preSessionCookie(r, rc, now.Unix()); reason != ReasonNone {
			return reason
		}
		var id [preSessionLen]byte
		k = appendSyncKey(key[:0], appendPreSessionID(id[:0], &cookie))
	}
	var stored [syncStoredLen]byte
	n, err := getInto(r.Context(), p.tok.store, k, stored[:], now)
	switch {
	case errors.Is(err, ErrNotFound):
		return ReasonTokenInvalid
	case err != nil:
		return ReasonStoreUnavailable
	case n != syncStoredLen || !equal(stored[:syncLen], raw[signedLen:]):
		return ReasonTokenInvalid
	}
	if sid != "" {
		v, ok := p.tokenCookie(r, rc)
		if !ok {
			return ReasonCookieMissing
		}
		var reason Reason
		if cookie, reason = p.tok.cookieToken(v, sid, now.Unix()); reason != ReasonNone {
			return reason
		}
	}
	if !equal(cookie.nonce(), (*signedToken)(raw[:signedLen]).nonce()) {
		return ReasonTokenInvalid
	}
	return ReasonNone
}

// verifyOneTime checks a masked one-time token s and uses it up. rc holds
// r's cookies.
func (p *Protection) verifyOneTime(r *http.Request, s string, rc *requestCookies) Reason {
	var tok signedToken
	if len(s) != maskedSignedLen || !unmask(tok[:], s) || tok[0] != versionOneTime {
		return ReasonTokenInvalid
	}
	binding := p.session(r, rc)
	now := p.tok.now().Unix()
	if binding == "" {
		cookie, reason := p.preSessionCookie(r, rc, now)
		if reason != ReasonNone {
			return reason
		}
		binding = preSessionID(&cookie)
	}
	if reason := p.tok.check(&tok, binding, now); reason != ReasonNone {
		return reason
	}
	_, err := p.tok.store.Take(r.Context(), onceKey(binding, tok.nonce()))
	switch {
	case errors.Is(err, ErrNotFound):
		return ReasonTokenReused
	case err != nil:
		return ReasonStoreUnavailable
	}
	return ReasonNone
}

// ensureCookie returns the token cookie in effect for the response to r:
// one already set on w, or r's own if it is genuine, bound to r's session
// and less than half its maximum age old, or else a new one, which it sets
// on w.
func (p *Protection) ensureCookie(w http.ResponseWriter, r *http.Request) signedToken {
	name, secure := p.cookieName(r)
	if v, ok := setCookieValue(w.Header(), name); ok {
		var c signedToken
		if decodeBase64(c[:], v) && c[0] == versionSigned {
			return c
		}
	}
	sid := p.sessionID(r)
	c, reason := p.requestCookie(r, sid)
	switch {
	case reason != ReasonNone:
		c = p.tok.mint(versionSigned, sid, nil)
	case p.tok.now().Unix()-c.issued() < p.tok.maxAgeSecs/2:
		return c
	default:
		// Renewed for the same session, the cookie keeps its nonce, so
		// that the pre-session identifier derived from it stays the same.
		c = p.tok.mint(versionSigned, sid, c.nonce())
	}
	p.setCookie(w, name, secure, &c)
	return c
}

// setCookie sets the token cookie on w.
func (p *Protection) setCookie(w http.ResponseWriter, name string, secure bool, c *signedToken) {
	if !secure {
		p.tok.warnOnce.Do(func() {
			p.tok.errorLog.Printf("forgeproof: warning: the token cookie %q is served over plain HTTP, without Secure and without the __Host- prefix; serve the application over HTTPS (behind a proxy, set TrustedProxies or PublicOrigins)", name)
		})
	}
	http.SetCookie(w, &http.Cookie{
		Name:     name,
		Value:    base64.RawURLEncoding.EncodeToString(c[:]),
		Path:     "/",
		MaxAge:   int(p.tok.maxAgeSecs),
		Secure:   secure,
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	})
}

// syncToken returns the synchronizer token stored for binding, creating it
// if there is none, or replacing it if fresh is set. The store holds the
// token followed by the Unix time at which it was last put; a token used
// past half of TokenMaxAge is put again for a full TokenMaxAge, so that
// a session in use keeps its token and its open pages stay valid.
func (t *tokens) syncToken(ctx context.Context, binding string, fresh bool) ([]byte, error) {
	key := syncKey(binding)
	now := t.now().Unix()
	var st []byte
	if !fresh {
		stored, err := t.store.Get(ctx, key)
		switch {
		case err == nil && len(stored) == syncStoredLen && stored[0] == versionSync:
			if now-int64(binary.BigEndian.Uint64(stored[syncLen:])) < t.maxAgeSecs/2 {
				return stored[:syncLen], nil
			}
			st = stored
		case err != nil && !errors.Is(err, ErrNotFound):
			return nil, fmt.Errorf("forgeproof: token store: %w", err)
		}
	}
	if st == nil {
		st = make([]byte, syncStoredLen)
		st[0] = versionSync
		rand.Read(st[1:syncLen])
	}
	binary.BigEndian.PutUint64(st[syncLen:], uint64(now))
	if err := t.store.Put(ctx, key, st, t.maxAge); err != nil {
		return nil, fmt.Errorf("forgeproof: token store: %w", err)
	}
	return st[:syncLen], nil
}

// pageToken returns the masked token for a page: the token cookie and,
// when synchronizer tokens are in use, the synchronizer token of binding.
func (p *Protection) pageToken(ctx context.Context, cookie *signedToken, binding string, fresh bool) (string, error) {
	if !p.tok.sync {
		return mask(cookie[:]), nil
	}
	if binding == "" {
		binding = preSessionID(cookie)
	}
	st, err := p.tok.syncToken(ctx, binding, fresh)
	if err != nil {
		return "", err
	}
	var raw [signedLen + syncLen]byte
	copy(raw[:], cookie[:])
	copy(raw[signedLen:], st)
	return mask(raw[:]), nil
}

// noStore marks a response that carries a token as not cacheable, and as
// varying with the cookie that the token is tied to and with the headers
// that the decision on the request reads.
func noStore(h http.Header) {
	h.Set("Cache-Control", "no-store")
	for _, name := range [...]string{"Cookie", "Origin", "Sec-Fetch-Site"} {
		if !varies(h, name) {
			h.Add("Vary", name)
		}
	}
}

// varies reports whether the Vary header of h names the header name.
func varies(h http.Header, name string) bool {
	for _, v := range h["Vary"] {
		for _, f := range strings.Split(v, ",") {
			if f = trimSpace(f); f == "*" || strings.EqualFold(f, name) {
				return true
			}
		}
	}
	return false
}

// Token returns the anti-CSRF token for the response to r, for a page to
// send back in the X-Forgeproof-Token header (see [Config.HeaderName]) or the
// forgeproof_token form field (see [Config.FieldName]). The token is masked afresh on
// every call, so that no two responses carry the same bytes (which defeats
// compression attacks such as BREACH); every masked form of it is valid.
//
// Token sets the token cookie on w when r has no genuine cookie for its
// session (or one past half its maximum age), and marks the response
// Cache-Control: no-store and Vary: Cookie, Origin, Sec-Fetch-Site; call it
// before writing the response's header. Calling it several times for one
// response sets the cookie once. After [Protection.Rotate], use the token
// that Rotate returned for the rest of that response. The error is non-nil only when synchronizer tokens are in
// use and the [Store] fails; it holds no token.
func (p *Protection) Token(w http.ResponseWriter, r *http.Request) (string, error) {
	cookie := p.ensureCookie(w, r)
	noStore(w.Header())
	return p.pageToken(r.Context(), &cookie, p.sessionID(r), false)
}

// TemplateField returns a hidden form input that carries the token, for an
// html/template page:
//
//	<form method="post">{{.CSRFField}} ...</form>
//
// It behaves like [Protection.Token].
func (p *Protection) TemplateField(w http.ResponseWriter, r *http.Request) (template.HTML, error) {
	tok, err := p.Token(w, r)
	if err != nil {
		return "", err
	}
	return template.HTML(`<input type="hidden" name="` + template.HTMLEscapeString(p.tok.fieldName) +
		`" value="` + tok + `">`), nil
}

// TokenHandler returns a handler for single-page applications. It answers
// GET and HEAD with the token, and the names of the header and the form
// field to send it in, as JSON:
//
//	{"token":"…","header":"X-Forgeproof-Token","field":"forgeproof_token"}
//
// It sets the token cookie like [Protection.Token] and answers other
// methods with 405 Method Not Allowed, and store failures with 503 and the
// reason store-unavailable (answered as every rejection is).
func (p *Protection) TokenHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed; use GET", http.StatusMethodNotAllowed)
			return
		}
		tok, err := p.Token(w, r)
		if err != nil {
			p.tok.errorLog.Printf("forgeproof: token handler: %v", err)
			p.reject(w, r, ReasonStoreUnavailable)
			return
		}
		body, _ := json.Marshal(struct {
			Token  string `json:"token"`
			Header string `json:"header"`
			Field  string `json:"field"`
		}{tok, p.tok.headerName, p.tok.fieldName})
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.Write(append(body, '\n'))
	})
}

// Rotate replaces the token of r's session with a new one bound to
// sessionID, and returns it masked like [Protection.Token]. Call it when
// the session identifier changes: at login, with the new session's
// identifier, and at logout, with "". Tokens of the old session stop being
// accepted, which defeats login CSRF and session fixation. The synchronizer
// token of the old session is deleted from the [Store]; the error reports a
// store failure and holds no token.
func (p *Protection) Rotate(w http.ResponseWriter, r *http.Request, sessionID string) (string, error) {
	t := &p.tok
	name, secure := p.cookieName(r)
	if t.sync {
		if old, reason := p.binding(r); reason == ReasonNone {
			if err := t.store.Delete(r.Context(), syncKey(old)); err != nil {
				return "", fmt.Errorf("forgeproof: token store: %w", err)
			}
		}
	}
	removeSetCookie(w.Header(), name)
	c := t.mint(versionSigned, sessionID, nil)
	p.setCookie(w, name, secure, &c)
	noStore(w.Header())
	return p.pageToken(r.Context(), &c, sessionID, true)
}

// OneTimeToken returns a masked token that is accepted once, by a route
// with [Route.OneTimeTokens] set, within [Config.TokenMaxAge]; a second use
// is refused as token-reused. The token is bound to r's session (before
// login, to the token cookie, which OneTimeToken sets if needed) and
// recorded in the [Store]; the error reports a store failure and holds no
// token.
func (p *Protection) OneTimeToken(w http.ResponseWriter, r *http.Request) (string, error) {
	cookie := p.ensureCookie(w, r)
	binding := p.sessionID(r)
	if binding == "" {
		binding = preSessionID(&cookie)
	}
	tok := p.tok.mint(versionOneTime, binding, nil)
	if err := p.tok.store.Put(r.Context(), onceKey(binding, tok.nonce()), []byte{1}, p.tok.maxAge); err != nil {
		return "", fmt.Errorf("forgeproof: token store: %w", err)
	}
	noStore(w.Header())
	return mask(tok[:]), nil
}
