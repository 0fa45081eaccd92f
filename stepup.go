package forgeproof

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/forgeproof/forgeproof/internal/problem"
)

// Step-up (user-intent verification).
//
// A route with [Route.ReauthMaxAge] set is sensitive: an unsafe request to
// it must carry, in the [Config.ReauthHeader] header, a proof minted by
// [Protection.GrantReauth] for the same session, method and path no longer
// than ReauthMaxAge ago. Each proof is accepted once. The application
// decides how the user re-proves their identity (password, TOTP, WebAuthn)
// and calls GrantReauth only when that check succeeded.
//
// A proof is 32 random bytes, base64url-encoded. The store holds, under a
// SHA-256 hash of the proof (never the proof itself), a record of
// recordLen bytes: the issue time, a hash of the session identifier and a
// hash of the operation. Using a proof takes the record out of the store
// in one atomic step, so that of several instances sharing a store exactly
// one accepts it, and leaves a tombstone so that a replay is recognized.

// DefaultReauthHeader is the request header that carries a
// re-authentication proof when [Config.ReauthHeader] is empty.
const DefaultReauthHeader = "X-Reauth-Proof"

// defaultReauthTTL is how long a proof is kept when no route sets a
// ReauthMaxAge.
const defaultReauthTTL = 5 * time.Minute

// ErrNoSession is returned by [Protection.GrantReauth] for a request that
// has no session: a proof must be bound to one.
var ErrNoSession = errors.New("forgeproof: GrantReauth needs a session; set Config.SessionCookie or Config.SessionID and call it after login")

const (
	proofBytes = 32
	recordLen  = 8 + sha256.Size + sha256.Size // issuedAt, session hash, operation hash

	proofKeyPrefix = "forgeproof:reauth:"
	usedKeyPrefix  = "forgeproof:reauth-used:"
)

// reauthState holds the step-up layer's configuration.
type reauthState struct {
	store  Store  // Config.Store, shared with the token layer
	header string // canonical header name
	ttl    time.Duration
	now    func() time.Time

	// bodies are the problem+json bodies of the 401 answers, which name
	// the header and the confirmation URL; nil unless a URL is set.
	bodies map[Reason][]byte
}

// init sets up the step-up layer from cfg, after the token layer has set
// cfg.Store (to an in-memory store if it was nil).
func (s *reauthState) init(cfg *Config) {
	s.store = cfg.Store
	s.header = http.CanonicalHeaderKey(cfg.ReauthHeader)
	if s.header == "" {
		s.header = DefaultReauthHeader
	}
	s.now = time.Now
	for _, rt := range cfg.Routes {
		s.ttl = max(s.ttl, rt.ReauthMaxAge)
	}
	if s.ttl == 0 {
		s.ttl = defaultReauthTTL
	}
	if cfg.ReauthURL != "" {
		s.bodies = make(map[Reason][]byte, 2)
		for _, r := range [...]Reason{ReasonReauthRequired, ReasonReauthReused} {
			s.bodies[r] = problem.Marshal(problem.Details{
				Type:   docsURL + r.String(),
				Title:  r.Title(),
				Status: r.Status(),
				Detail: "This action requires a fresh confirmation of your identity. Confirm it at " +
					cfg.ReauthURL + " for this method and path, then retry with the proof in the " +
					s.header + " header.",
			}, problem.Member{Name: "reason", Value: r.String()},
				problem.Member{Name: "reauth_url", Value: cfg.ReauthURL},
				problem.Member{Name: "reauth_header", Value: s.header})
		}
	}
}

// reauthBody returns the problem+json body for a rejection with reason, or
// nil when the default body applies.
func (p *Protection) reauthBody(reason Reason) []byte {
	return p.reauth.bodies[reason]
}

// GrantReauth mints a re-authentication proof for the session of r and the
// operation method and path (the request that the user is about to make,
// such as "POST" and "/api/transfer"), and returns it, base64url-encoded.
//
// Call it only after the application has verified the user's credential
// again (password, TOTP code, WebAuthn assertion): the proof is what
// tells the sensitive route that the user meant the action. The client
// sends the proof in the [Config.ReauthHeader] header of that one request;
// it is accepted once, for that session, method and path, as long as the
// route's [Route.ReauthMaxAge] has not passed since GrantReauth returned.
//
// GrantReauth sets Cache-Control: no-store on w, since the response carries
// the proof. It returns [ErrNoSession] when r has no session, and an error
// wrapping the store's when the proof cannot be stored; no proof is
// returned then.
func (p *Protection) GrantReauth(w http.ResponseWriter, r *http.Request, method, path string) (string, error) {
	sid := p.sessionID(r)
	if sid == "" {
		return "", ErrNoSession
	}
	if method == "" || !strings.HasPrefix(path, "/") {
		return "", errors.New(`forgeproof: GrantReauth needs the method and the absolute URL path of the operation, such as "POST" and "/api/transfer"`)
	}
	var raw [proofBytes]byte
	rand.Read(raw[:])
	proof := base64.RawURLEncoding.EncodeToString(raw[:])

	rec := make([]byte, recordLen)
	binary.BigEndian.PutUint64(rec, uint64(p.reauth.now().UnixNano()))
	sh := sessionHash(sid)
	oh := operationHash(method, path)
	copy(rec[8:], sh[:])
	copy(rec[8+sha256.Size:], oh[:])

	if err := p.reauth.store.Put(r.Context(), proofKeyPrefix+proofKey(raw[:]), rec, p.reauth.ttl); err != nil {
		return "", errors.Join(errors.New("forgeproof: GrantReauth could not store the proof; check the store and retry"), err)
	}
	if w != nil {
		w.Header().Set("Cache-Control", "no-store")
	}
	return proof, nil
}

// checkReauth applies the step-up layer to r: its proof must be fresh
// (issued at most maxAge ago), of r's session, and minted for the request's
// path and the method of every active candidate of cs whose route is
// sensitive. A request that might be dispatched as two sensitive
// operations therefore passes with no proof: the user confirmed one.
func (p *Protection) checkReauth(r *http.Request, maxAge time.Duration, cs *candidateSet) Reason {
	vs := r.Header[p.reauth.header]
	if len(vs) != 1 {
		return ReasonReauthRequired
	}
	raw, err := base64.RawURLEncoding.DecodeString(vs[0])
	if err != nil || len(raw) != proofBytes {
		return ReasonReauthRequired
	}
	key := proofKey(raw)
	ctx := r.Context()
	rec, err := p.reauth.store.Take(ctx, proofKeyPrefix+key)
	switch {
	case errors.Is(err, ErrNotFound):
		// Never issued, expired from the store, or already used: the
		// tombstone tells the last apart.
		_, err := p.reauth.store.Get(ctx, usedKeyPrefix+key)
		switch {
		case err == nil:
			return ReasonReauthReused
		case errors.Is(err, ErrNotFound):
			return ReasonReauthRequired
		}
		return ReasonStoreUnavailable
	case err != nil:
		return ReasonStoreUnavailable
	}
	if err := p.reauth.store.Put(ctx, usedKeyPrefix+key, []byte{1}, p.reauth.ttl); err != nil {
		// The proof is consumed already, so it cannot be replayed; only
		// the name of the reason for a replay would be lost.
		p.errorLog.Printf("forgeproof: recording a used re-authentication proof failed: %v", err)
	}
	if len(rec) != recordLen {
		return ReasonReauthRequired
	}
	issued := time.Unix(0, int64(binary.BigEndian.Uint64(rec)))
	if age := p.reauth.now().Sub(issued); age < 0 || age > maxAge {
		return ReasonReauthRequired
	}
	sh := sessionHash(p.sessionID(r))
	ok := subtle.ConstantTimeCompare(rec[8:8+sha256.Size], sh[:])
	for i := 0; i < cs.len(); i++ {
		c := cs.at(i)
		if !c.active || c.rt == nil || c.rt.ReauthMaxAge == 0 {
			continue
		}
		oh := operationHash(c.method, r.URL.Path)
		ok &= subtle.ConstantTimeCompare(rec[8+sha256.Size:], oh[:])
	}
	if ok != 1 {
		return ReasonReauthRequired
	}
	return ReasonNone
}

// proofKey returns the store key of a proof: a hash, so that the store
// (and whoever reads it) never holds a usable proof.
func proofKey(raw []byte) string {
	h := sha256.Sum256(raw)
	return hex.EncodeToString(h[:])
}

// sessionHash hashes a session identifier for a proof record.
func sessionHash(sid string) [sha256.Size]byte {
	return sha256.Sum256([]byte("forgeproof reauth session\x00" + sid))
}

// operationHash hashes the method and path a proof is bound to.
func operationHash(method, path string) [sha256.Size]byte {
	return sha256.Sum256([]byte("forgeproof reauth operation\x00" + strings.ToUpper(method) + " " + path))
}
