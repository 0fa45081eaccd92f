// Package identity finds out which roles the sender of a request holds,
// for the gateway's role check (route roles in docs/CONFIGURATION.md).
//
// Roles come from one of two sources:
//
//   - A JSON Web Token, sent as "Authorization: Bearer" or in a named
//     cookie, whose signature is verified with an HMAC secret or with the
//     public keys of a JSON Web Key Set (a file, or a URL fetched with
//     timeouts, cached and refreshed). The algorithm is pinned to a list
//     ("none" is never accepted, and a key set's keys are never used as
//     HMAC secrets), the issuer and audience must match, and the token
//     must carry an expiry that has not passed (with a small leeway). The
//     roles are read from a claim named by a [ClaimPath].
//   - A request header set by an authenticating proxy in front of the
//     gateway, believed only when the request comes from one of the
//     library's trusted proxies ([forgeproof.Protection.FromTrustedProxy]).
//
// A [Verifier] fails closed: a credential that is missing, malformed,
// expired or signed by an unknown key, and a key set that cannot be
// fetched, all give an error, never roles. No error, and no log line,
// carries the token.
//
// A Verifier remembers the tokens it verified (their SHA-256, never the
// token), so that a token sent again is not verified again: at most about
// ten thousand of them, each until its expiry or for five minutes,
// whichever comes first, and only while the key set that verified it is
// unchanged.
package identity

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/httpsyntax"
)

// Defaults of [JWT] fields left zero.
const (
	// DefaultRolesClaim is the claim that holds the roles.
	DefaultRolesClaim = "roles"
	// DefaultLeeway is the clock skew allowed on exp, nbf and iat.
	DefaultLeeway = 30 * time.Second
	// DefaultJWKSRefresh is how long a fetched key set is used before it
	// is fetched again.
	DefaultJWKSRefresh = 5 * time.Minute
	// MaxLeeway bounds the clock skew allowed.
	MaxLeeway = 5 * time.Minute
	// MinHMACSecretBytes is the least length of an HMAC secret: as long
	// as the output of SHA-256 (RFC 7518, section 3.2).
	MinHMACSecretBytes = 32
)

const (
	// maxTokenBytes bounds a token; a longer one is refused unparsed.
	maxTokenBytes = 16 << 10
	// maxJWKSBytes bounds a key set document.
	maxJWKSBytes = 1 << 20
	// jwksTimeout bounds one fetch of a key set.
	jwksTimeout = 5 * time.Second
	// jwksMinRefetch is the least time between two fetches of a key set,
	// so that tokens naming unknown keys cannot make the gateway hammer
	// the identity provider.
	jwksMinRefetch = 10 * time.Second
	// jwksMaxStale is how long past its refresh time a key set is still
	// used while it cannot be fetched again; after that, every token is
	// refused until a fetch succeeds.
	jwksMaxStale = time.Hour
)

// HMACAlgorithms and PublicKeyAlgorithms are the algorithms a [JWT] may
// pin: HMAC ones with an HMAC secret, public-key ones with a key set.
var (
	HMACAlgorithms      = []string{"HS256", "HS384", "HS512"}
	PublicKeyAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)

// Options choose the source of identities: exactly one of JWT and Header.
type Options struct {
	// JWT reads roles from a verified JSON Web Token.
	JWT *JWT
	// Header reads roles from a header set by an authenticating proxy.
	Header *Header
	// Logger receives failures to fetch a key set. If nil, slog.Default()
	// is used.
	Logger *slog.Logger
}

// JWT configures tokens. Exactly one of HMACSecret, JWKSFile and JWKSURL
// is required, and so are Issuer and Audience.
type JWT struct {
	// HMACSecret verifies HS256 (or another of Algorithms) signatures. It
	// must be at least MinHMACSecretBytes long.
	HMACSecret []byte
	// JWKSFile is a JSON Web Key Set file whose public keys verify
	// signatures. It is read once, by New.
	JWKSFile string
	// JWKSURL is a JSON Web Key Set URL (https, or http to a loopback
	// address), fetched when first needed, then again after JWKSRefresh,
	// and when a token names a key it does not hold (at most every ten
	// seconds).
	JWKSURL string
	// JWKSRefresh is how long a fetched key set is used. If zero, it is
	// DefaultJWKSRefresh. While the URL cannot be fetched, the last key
	// set is used for one more hour, then every token is refused.
	JWKSRefresh time.Duration
	// HTTPClient fetches JWKSURL. If nil, a client with a five-second
	// timeout is used.
	HTTPClient *http.Client
	// Issuer must equal the token's iss claim. Required.
	Issuer string
	// Audience must be one of the token's aud claim. Required.
	Audience string
	// Algorithms are the accepted values of the token's alg header. If
	// empty, they are HS256 with an HMAC secret, and RS256, PS256, ES256
	// and EdDSA with a key set. HMAC and public-key algorithms cannot be
	// mixed.
	Algorithms []string
	// Cookie, if set, is the cookie that carries the token when the
	// request has no Authorization header.
	Cookie string
	// RolesClaim is the [ClaimPath] of the roles. If empty, it is
	// DefaultRolesClaim.
	RolesClaim string
	// Leeway is the clock skew allowed on exp, nbf and iat. If zero, it
	// is DefaultLeeway; at most MaxLeeway.
	Leeway time.Duration
}

// Header configures roles set by an authenticating proxy.
type Header struct {
	// Name is the request header that holds the roles, separated by
	// commas or white space. Required.
	Name string
}

// Errors that [Verifier.Roles] wraps.
var (
	// ErrNoCredential means the request carried no credential at all.
	ErrNoCredential = errors.New("identity: no credential")
	// ErrInvalid means the request carried a credential that did not
	// verify.
	ErrInvalid = errors.New("identity: credential not valid")
	// ErrKeysUnavailable means the key set could not be fetched.
	ErrKeysUnavailable = errors.New("identity: key set unavailable")
)

// A Verifier finds the roles of a request's sender. It is safe for
// concurrent use.
type Verifier struct {
	// JWT
	algs     []jose.SignatureAlgorithm
	hmac     []byte
	fileKeys *jose.JSONWebKeySet
	remote   *remoteKeys
	issuer   string
	audience string
	cookie   string
	claim    ClaimPath
	leeway   time.Duration
	cache    *tokenCache

	// Header
	header  string
	trusted func(*http.Request) bool

	now func() time.Time
}

// New returns a Verifier for opts. fromTrustedProxy reports whether a
// request comes from a trusted proxy; it is required with Options.Header
// (pass the library's [forgeproof.Protection.FromTrustedProxy]).
func New(opts Options, fromTrustedProxy func(*http.Request) bool) (*Verifier, error) {
	v := &Verifier{now: time.Now}
	switch {
	case (opts.JWT == nil) == (opts.Header == nil):
		return nil, errors.New("identity: set exactly one source of identities, jwt or header")
	case opts.Header != nil:
		if !httpsyntax.IsToken(opts.Header.Name) {
			return nil, fmt.Errorf("identity: header name %q is not a valid header name", opts.Header.Name)
		}
		if fromTrustedProxy == nil {
			return nil, errors.New("identity: a roles header needs the trusted-proxy check")
		}
		v.header, v.trusted = http.CanonicalHeaderKey(opts.Header.Name), fromTrustedProxy
		return v, nil
	}
	j := opts.JWT
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf("identity: "+format, args...)) }
	sources := 0
	for _, set := range []bool{len(j.HMACSecret) > 0, j.JWKSFile != "", j.JWKSURL != ""} {
		if set {
			sources++
		}
	}
	if sources != 1 {
		bad("set exactly one of hmac_secret, jwks_file and jwks_url to verify token signatures")
	}
	hmac := len(j.HMACSecret) > 0
	algs := j.Algorithms
	if len(algs) == 0 {
		algs = []string{"RS256", "PS256", "ES256", "EdDSA"}
		if hmac {
			algs = []string{"HS256"}
		}
	}
	allowed := PublicKeyAlgorithms
	if hmac {
		allowed = HMACAlgorithms
	}
	for _, a := range algs {
		if !slices.Contains(allowed, a) {
			bad("algorithm %q cannot be used here: with %s, choose among %s", a, map[bool]string{true: "an HMAC secret", false: "a key set"}[hmac], strings.Join(allowed, ", "))
			continue
		}
		v.algs = append(v.algs, jose.SignatureAlgorithm(a))
	}
	if hmac && len(j.HMACSecret) < MinHMACSecretBytes {
		bad("the HMAC secret is %d bytes, it needs at least %d", len(j.HMACSecret), MinHMACSecretBytes)
	}
	v.hmac = j.HMACSecret
	if j.Issuer == "" {
		bad("issuer is required: the iss claim of the identity provider's tokens")
	}
	if j.Audience == "" {
		bad("audience is required: the aud claim that tokens meant for this API carry")
	}
	v.issuer, v.audience = j.Issuer, j.Audience
	if j.Cookie != "" && !httpsyntax.IsToken(j.Cookie) {
		bad("cookie %q is not a valid cookie name", j.Cookie)
	}
	v.cookie = j.Cookie
	claim := j.RolesClaim
	if claim == "" {
		claim = DefaultRolesClaim
	}
	var err error
	if v.claim, err = ParseClaimPath(claim); err != nil {
		bad("roles_claim: %v", err)
	}
	v.cache = new(tokenCache)
	v.leeway = j.Leeway
	if v.leeway == 0 {
		v.leeway = DefaultLeeway
	}
	if v.leeway < 0 || v.leeway > MaxLeeway {
		bad("leeway %s is out of range: allow between 0 and %s of clock skew", j.Leeway, MaxLeeway)
	}
	switch {
	case j.JWKSFile != "":
		b, err := os.ReadFile(j.JWKSFile)
		if err != nil {
			bad("read the key set: %v", err)
			break
		}
		if v.fileKeys, err = parseKeySet(b); err != nil {
			bad("key set %s: %v", j.JWKSFile, err)
		}
	case j.JWKSURL != "":
		if err := CheckJWKSURL(j.JWKSURL); err != nil {
			bad("%v", err)
		}
		refresh := j.JWKSRefresh
		if refresh == 0 {
			refresh = DefaultJWKSRefresh
		}
		if refresh < time.Second {
			bad("jwks_refresh %s is too short: refresh at most every second", j.JWKSRefresh)
		}
		client := j.HTTPClient
		if client == nil {
			client = &http.Client{Timeout: jwksTimeout}
		}
		log := opts.Logger
		if log == nil {
			log = slog.Default()
		}
		v.remote = &remoteKeys{url: j.JWKSURL, client: client, refresh: refresh, minRefetch: jwksMinRefetch, log: log, now: time.Now}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return v, nil
}

// CheckJWKSURL reports whether u can serve a key set: an https URL, or
// an http URL to a loopback address.
func CheckJWKSURL(u string) error {
	pu, err := url.Parse(u)
	if err != nil || pu.Host == "" || pu.User != nil {
		return fmt.Errorf("jwks_url %q is not an absolute URL", u)
	}
	switch pu.Scheme {
	case "https":
		return nil
	case "http":
		h := pu.Hostname()
		if h == "localhost" || h == "127.0.0.1" || h == "::1" {
			return nil
		}
	}
	return fmt.Errorf("jwks_url %q must be https (plain http is accepted for loopback addresses only), so that nobody on the network can replace the keys", u)
}

// FromToken reports whether identities come from tokens, whose refusals
// are answered with a WWW-Authenticate: Bearer challenge.
func (v *Verifier) FromToken() bool { return v.header == "" }

// HeaderName returns the canonical name of the roles header, or "" when
// identities come from tokens. A gateway removes this header from the
// requests of peers that are not trusted proxies before passing them on.
func (v *Verifier) HeaderName() string { return v.header }

// Roles returns the roles of r's sender, or an error that wraps
// [ErrNoCredential], [ErrInvalid] or [ErrKeysUnavailable]. A verified
// identity may hold no role: the result is then empty and the error nil.
// The result may be shared with other calls: the caller must not modify
// its elements.
func (v *Verifier) Roles(r *http.Request) ([]string, error) {
	if v.header != "" {
		vs := r.Header.Values(v.header)
		if len(vs) == 0 {
			return nil, ErrNoCredential
		}
		if !v.trusted(r) {
			return nil, fmt.Errorf("%w: the roles header came from a peer that is not a trusted proxy", ErrInvalid)
		}
		var roles []string
		for _, s := range vs {
			roles = append(roles, strings.FieldsFunc(s, func(c rune) bool { return c == ',' || c == ' ' || c == '\t' })...)
		}
		return roles, nil
	}
	raw, err := v.token(r)
	if err != nil {
		return nil, err
	}
	return v.verify(raw)
}

// token returns the raw token of r.
func (v *Verifier) token(r *http.Request) (string, error) {
	switch auth := r.Header.Values("Authorization"); len(auth) {
	case 0:
	case 1:
		scheme, tok, _ := strings.Cut(strings.TrimSpace(auth[0]), " ")
		if !strings.EqualFold(scheme, "Bearer") {
			return "", fmt.Errorf("%w: the Authorization header is not a Bearer token", ErrNoCredential)
		}
		return strings.TrimSpace(tok), nil
	default:
		return "", fmt.Errorf("%w: more than one Authorization header", ErrInvalid)
	}
	if v.cookie != "" {
		var found []string
		for _, c := range r.CookiesNamed(v.cookie) {
			found = append(found, c.Value)
		}
		switch {
		case len(found) == 1:
			return found[0], nil
		case len(found) > 1:
			return "", fmt.Errorf("%w: more than one %s cookie", ErrInvalid, v.cookie)
		}
	}
	return "", ErrNoCredential
}

// verify checks raw and returns the roles it grants, remembering them
// when raw may be believed again without a new verification.
func (v *Verifier) verify(raw string) ([]string, error) {
	if raw == "" || len(raw) > maxTokenBytes {
		return nil, fmt.Errorf("%w: empty or oversized token", ErrInvalid)
	}
	k := keyOf(raw)
	if e, ok := v.cache.get(&k); ok && v.believe(e) {
		return e.roles, nil
	}
	e, cacheable, err := v.check(raw)
	if err != nil {
		return nil, err
	}
	if cacheable {
		v.cache.put(&k, e)
	}
	return e.roles, nil
}

// believe reports whether the cached verification e still holds: its
// time has not passed, and the key set that verified it is still the
// current one and not due for refresh.
func (v *Verifier) believe(e cacheEntry) bool {
	if !v.now().Before(e.notAfter) {
		return false
	}
	return v.remote == nil || v.remote.holds(e.keyGen)
}

// check verifies raw. It returns what raw grants, and whether it may be
// cached: only a token valid without the leeway, whose exp is ahead and
// whose nbf and iat are not in the future, is.
func (v *Verifier) check(raw string) (e cacheEntry, cacheable bool, err error) {
	tok, err := jwt.ParseSigned(raw, v.algs)
	if err != nil {
		// The library's message names the algorithm, never the token.
		return e, false, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if len(tok.Headers) != 1 {
		return e, false, fmt.Errorf("%w: a token has one signature", ErrInvalid)
	}
	h := tok.Headers[0]
	var std jwt.Claims
	var all map[string]any
	switch {
	case v.hmac != nil:
		err = tok.Claims(v.hmac, &std, &all)
	default:
		var keys *jose.JSONWebKeySet
		if keys, e.keyGen, err = v.keySet(h.KeyID); err != nil {
			return e, false, err
		}
		err = errNoKey
		for _, k := range candidateKeys(keys, h.KeyID, h.Algorithm) {
			if err = tok.Claims(k.Key, &std, &all); err == nil {
				break
			}
		}
	}
	if err != nil {
		return e, false, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if std.Expiry == nil {
		return e, false, fmt.Errorf("%w: the token has no exp claim", ErrInvalid)
	}
	now := v.now()
	exp := jwt.Expected{Issuer: v.issuer, AnyAudience: jwt.Audience{v.audience}, Time: now}
	if err := std.ValidateWithLeeway(exp, v.leeway); err != nil {
		return e, false, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	e.roles = slices.Clip(v.claim.Roles(all))
	e.notAfter = std.Expiry.Time()
	if limit := now.Add(cacheTTL); limit.Before(e.notAfter) {
		e.notAfter = limit
	}
	cacheable = now.Before(e.notAfter) &&
		(std.NotBefore == nil || !std.NotBefore.Time().After(now)) &&
		(std.IssuedAt == nil || !std.IssuedAt.Time().After(now))
	return e, cacheable, nil
}

var errNoKey = errors.New("no key of the key set matches the token's kid and alg")

// keySet returns the keys to verify a token that names kid, and their
// generation.
func (v *Verifier) keySet(kid string) (*jose.JSONWebKeySet, uint64, error) {
	if v.fileKeys != nil {
		return v.fileKeys, 0, nil
	}
	return v.remote.get(kid)
}

// candidateKeys returns the public signing keys of set that may verify a
// token with the kid and alg headers: keys with that kid (or every key
// when the token names none), whose own alg, if any, is alg.
func candidateKeys(set *jose.JSONWebKeySet, kid, alg string) []jose.JSONWebKey {
	var out []jose.JSONWebKey
	for _, k := range set.Keys {
		if (kid != "" && k.KeyID != kid) || (k.Algorithm != "" && k.Algorithm != alg) {
			continue
		}
		out = append(out, k)
	}
	return out
}

// parseKeySet decodes a key set and keeps its public signing keys. A
// symmetric key is refused: a key set publishes public keys, and a secret
// in it would let anyone sign.
func parseKeySet(b []byte) (*jose.JSONWebKeySet, error) {
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(b, &set); err != nil {
		return nil, fmt.Errorf("not a JSON Web Key Set: %v", err)
	}
	out := &jose.JSONWebKeySet{}
	for i, k := range set.Keys {
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		if _, secret := k.Key.([]byte); secret {
			return nil, fmt.Errorf("keys[%d] is a symmetric key: a key set must hold public keys only", i)
		}
		pub := k.Public()
		if !pub.Valid() || !pub.IsPublic() {
			return nil, fmt.Errorf("keys[%d] is not a usable public key", i)
		}
		out.Keys = append(out.Keys, pub)
	}
	if len(out.Keys) == 0 {
		return nil, errors.New("it holds no signing key")
	}
	return out, nil
}

// remoteKeys is a key set fetched from a URL, cached and refreshed.
type remoteKeys struct {
	url        string
	client     *http.Client
	refresh    time.Duration
	minRefetch time.Duration
	log        *slog.Logger
	now        func() time.Time

	fetchMu sync.Mutex // held while fetching, and while storing keys

	keys atomic.Pointer[fetchedKeys] // nil until a fetch succeeds

	mu    sync.Mutex
	tried time.Time // the last fetch attempt
}

// fetchedKeys is a key set as fetched.
type fetchedKeys struct {
	set     *jose.JSONWebKeySet
	doc     []byte    // the document, to tell a changed set from the same one fetched again
	fetched time.Time // when set was fetched
	gen     uint64    // counts the changes of the document
}

// get returns the key set to verify a token naming kid, and its
// generation, fetching it when it is missing, due for refresh, or lacks
// kid.
func (k *remoteKeys) get(kid string) (*jose.JSONWebKeySet, uint64, error) {
	if f, ok := k.current(kid); ok {
		return f.set, f.gen, nil
	}
	k.fetchMu.Lock()
	defer k.fetchMu.Unlock()
	if f, ok := k.current(kid); ok {
		return f.set, f.gen, nil // fetched while this request waited
	}
	k.mu.Lock()
	mayFetch := k.tried.IsZero() || k.now().Sub(k.tried) >= k.minRefetch
	if mayFetch {
		k.tried = k.now()
	}
	k.mu.Unlock()
	if mayFetch {
		set, doc, err := k.fetch()
		if err != nil {
			k.log.Warn("the identity provider's key set could not be fetched", "jwks_url", k.url, "error", err.Error())
		} else {
			next := &fetchedKeys{set: set, doc: doc, fetched: k.now()}
			if prev := k.keys.Load(); prev != nil {
				next.gen = prev.gen
				if !bytes.Equal(prev.doc, doc) {
					next.gen++ // what the old set verified is not believed
				}
			}
			k.keys.Store(next)
		}
	}
	f := k.keys.Load()
	if f == nil || k.now().Sub(f.fetched) >= k.refresh+jwksMaxStale {
		return nil, 0, ErrKeysUnavailable
	}
	return f.set, f.gen, nil
}

// current returns the cached set when no fetch is due for kid.
func (k *remoteKeys) current(kid string) (*fetchedKeys, bool) {
	f := k.keys.Load()
	if f == nil || k.now().Sub(f.fetched) >= k.refresh {
		return nil, false
	}
	if kid != "" && len(f.set.Key(kid)) == 0 {
		k.mu.Lock()
		tried := k.tried
		k.mu.Unlock()
		if k.now().Sub(tried) >= k.minRefetch {
			return nil, false // a new key may have been published
		}
	}
	return f, true
}

// holds reports whether the set of generation gen is the current one and
// not due for refresh, so that what it verified may still be believed.
func (k *remoteKeys) holds(gen uint64) bool {
	f := k.keys.Load()
	return f != nil && f.gen == gen && k.now().Sub(f.fetched) < k.refresh
}

// fetch downloads and decodes the key set, and returns it with its
// document.
func (k *remoteKeys) fetch() (*jose.JSONWebKeySet, []byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), jwksTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Accept", "application/json, application/jwk-set+json")
	resp, err := k.client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSBytes+1))
	if err != nil {
		return nil, nil, err
	}
	if len(b) > maxJWKSBytes {
		return nil, nil, fmt.Errorf("the key set is larger than %d bytes", maxJWKSBytes)
	}
	set, err := parseKeySet(b)
	return set, b, err
}

// ReadKeySetFile reports whether the file at path holds a usable JSON Web
// Key Set, as [New] would read it.
func ReadKeySetFile(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read the key set: %v", err)
	}
	if _, err := parseKeySet(b); err != nil {
		return fmt.Errorf("key set %s: %v", path, err)
	}
	return nil
}
