package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/forgeproof/forgeproof"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/httpsyntax"
)

// Step-up through the gateway.
//
// With Options.ReauthVerify set, the gateway answers POST PREFIX+"reauth",
// whose JSON body names the operation to confirm ({"method": "POST",
// "path": "/api/transfer/large"}) beside the user's credential (such as
// {"password": …}). The gateway sends that request, body and cookies
// included, as a POST of JSON to ReauthVerify on the upstream, which
// checks the credential as it sees fit. Headers that could make the
// upstream dispatch it to another handler (method overrides, rewritten
// URLs) are removed, and a body that names a _method is refused. Only when
// the upstream answers with the explicit signal of Options.ReauthSuccess
// (its status and header value) does the gateway mint a proof with
// [forgeproof.Protection.GrantReauth] for the session and that operation,
// and answer {"proof": …, "header": …}; a 2xx without it is refused with
// 403. Any other answer of the upstream (such as 401 for a wrong password)
// is passed to the client. The library's 401 answers for reauth-required
// name PREFIX+"reauth" as their reauth_url.

// maxReauthBody bounds the body of a confirmation request.
const maxReauthBody = 64 << 10

// reauthGate is the state of the gateway's step-up endpoint.
type reauthGate struct {
	path   string // PREFIX+"reauth"; "" when step-up through the gateway is off
	verify string // the upstream path that checks the credential
	header string // the request header that carries proofs
	ok     ReauthSuccess
	h      http.Handler
}

// dispatchHeaders are request headers that common frameworks and proxies
// read to pick another method or path than the request's own (method
// override middleware, IIS/Symfony URL rewriting, forwarded prefixes);
// none may reach the confirmation endpoint.
var dispatchHeaders = [...]string{
	"X-Http-Method-Override",
	"X-Http-Method",
	"X-Method-Override",
	"X-Original-Method",
	"X-Forwarded-Method",
	"X-Original-Url",
	"X-Rewrite-Url",
	"X-Original-Uri",
	"X-Forwarded-Uri",
	"X-Forwarded-Path",
	"X-Forwarded-Prefix",
}

// initReauth prepares the step-up endpoint before the Protection is built:
// it adds the endpoint's library route (an unsafe request checked for its
// origin, needing no anti-CSRF token, like the token endpoint) and names
// the endpoint in the library's 401 answers.
func (g *Gateway) initReauth(opts *Options, cfg *forgeproof.Config) error {
	if opts.ReauthVerify == "" {
		return nil
	}
	if !strings.HasPrefix(opts.ReauthVerify, "/") || strings.HasPrefix(opts.ReauthVerify, g.prefix) {
		return errors.New("gateway: ReauthVerify must be an absolute path on the upstream, such as /api/reauth, outside " + g.prefix)
	}
	ok := opts.ReauthSuccess
	if ok.Status == 0 {
		ok.Status = http.StatusOK
	}
	if ok.Header == "" || ok.Value == "" || !httpsyntax.IsToken(ok.Header) || ok.Status < 200 || ok.Status > 299 {
		return errors.New("gateway: ReauthSuccess needs a 2xx Status and a Header with its Value, the explicit answer by which ReauthVerify confirms the credential, such as X-Reauth-Verified: true; any other answer mints no proof")
	}
	g.reauth.ok = ok
	g.reauth.path = g.prefix + "reauth"
	g.reauth.verify = opts.ReauthVerify
	g.reauth.header = cfg.ReauthHeader
	if g.reauth.header == "" {
		g.reauth.header = forgeproof.DefaultReauthHeader
	}
	if cfg.ReauthURL == "" {
		cfg.ReauthURL = g.reauth.path
	}
	cfg.Routes = append(cfg.Routes, forgeproof.Route{
		Pattern: "POST " + g.reauth.path,
		Tokens:  forgeproof.TokensOff,
	})
	return nil
}

// finishReauth puts the library in front of the endpoint once the
// Protection is built.
func (g *Gateway) finishReauth() {
	if g.reauth.path != "" {
		g.reauth.h = g.prot.Handler(http.HandlerFunc(g.serveReauth))
	}
}

// serveReauth confirms an operation with the upstream and mints its proof.
func (g *Gateway) serveReauth(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxReauthBody+1))
	if err != nil || len(body) > maxReauthBody {
		g.fail(w, http.StatusBadRequest, "reauth-bad-request", "Bad Request",
			"send a JSON body of at most 64 KiB naming the operation to confirm and your credential")
		return
	}
	var op struct {
		Method string `json:"method"`
		Path   string `json:"path"`
	}
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) == nil && hasMethodField(fields) {
		g.fail(w, http.StatusBadRequest, "reauth-bad-request", "Bad Request",
			"the confirmation body must not name a _method: the operation goes in \"method\"")
		return
	}
	if json.Unmarshal(body, &op) != nil || op.Method == "" || !strings.HasPrefix(op.Path, "/") {
		g.fail(w, http.StatusBadRequest, "reauth-bad-request", "Bad Request",
			`send {"method": "POST", "path": "/the/operation", …your credential} as JSON`)
		return
	}

	// Ask the upstream whether the credential is right.
	out := r.Clone(r.Context())
	out.URL.Path, out.URL.RawPath, out.URL.RawQuery = g.reauth.verify, "", ""
	out.RequestURI = ""
	out.Body = io.NopCloser(bytes.NewReader(body))
	out.ContentLength = int64(len(body))
	out.Header.Del("Content-Length")
	out.Header.Set("Content-Type", "application/json")
	for _, k := range dispatchHeaders {
		out.Header.Del(k)
	}
	out.Header.Del(g.reauth.ok.Header)
	ex := &exchange{in: out, route: g.match(out.Method, out.URL.Path)}
	out = out.WithContext(context.WithValue(out.Context(), exchangeKey{}, ex))
	ex.in = out
	ans := &captured{header: http.Header{}}
	g.proxy(ans, out)
	if ans.status < 200 || ans.status > 299 {
		// Pass the upstream's refusal on (such as 401, wrong password).
		for _, k := range []string{"Content-Type", "Www-Authenticate", "Retry-After"} {
			if v := ans.header.Values(k); len(v) > 0 {
				w.Header()[k] = v
			}
		}
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(ans.status)
		w.Write(ans.body.Bytes())
		return
	}

	if ans.status != g.reauth.ok.Status || !hasValue(ans.header, g.reauth.ok.Header, g.reauth.ok.Value) {
		g.log.Warn("the confirmation endpoint answered without the configured success signal; no proof minted",
			"status", ans.status, "verify", g.reauth.verify, "success_header", g.reauth.ok.Header)
		g.fail(w, http.StatusForbidden, "reauth-not-confirmed", "Forbidden",
			"the credential was not confirmed; no proof was issued")
		return
	}

	proof, err := g.prot.GrantReauth(w, r, op.Method, op.Path)
	switch {
	case errors.Is(err, forgeproof.ErrNoSession):
		g.fail(w, http.StatusUnauthorized, "reauth-no-session", "Unauthorized", "sign in first: a confirmation is bound to a session")
		return
	case err != nil:
		g.log.Error("minting a re-authentication proof failed", "error", err.Error())
		g.fail(w, http.StatusServiceUnavailable, "store-unavailable", "Service Unavailable",
			"the confirmation could not be recorded because the token store is unavailable; retry later")
		return
	}
	b, _ := json.Marshal(map[string]string{"proof": proof, "header": g.reauth.header})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(b)
}

// hasMethodField reports whether a JSON object names a method override
// field, which frameworks such as Laravel read from JSON bodies too.
func hasMethodField(fields map[string]json.RawMessage) bool {
	for k := range fields {
		if strings.EqualFold(k, "_method") {
			return true
		}
	}
	return false
}

// hasValue reports whether h carries exactly one name header whose value
// is want.
func hasValue(h http.Header, name, want string) bool {
	vs := h.Values(name)
	return len(vs) == 1 && strings.TrimSpace(vs[0]) == want
}

// captured is a ResponseWriter that keeps the status, the header and the
// first 64 KiB of the body of a response.
type captured struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (c *captured) Header() http.Header { return c.header }

func (c *captured) WriteHeader(status int) {
	if c.status == 0 {
		c.status = status
	}
}

func (c *captured) Write(p []byte) (int, error) {
	c.WriteHeader(http.StatusOK)
	if room := maxReauthBody - c.body.Len(); room > 0 {
		c.body.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}
