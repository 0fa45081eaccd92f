package gateway

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"time"

	"github.com/forgeproof/forgeproof"
	"github.com/forgeproof/forgeproof/internal/problem"
)

//go:embed csrf.js
var scriptSource []byte

// buildScript returns the client script configured for this gateway, and
// its ETag.
func buildScript(endpoint, oneTime, header, field, rotated string) ([]byte, string) {
	conf, err := json.Marshal(map[string]string{
		"endpoint": endpoint, "oneTime": oneTime, "header": header, "field": field, "rotated": rotated,
	})
	if err != nil { // a map of strings always marshals
		panic(err)
	}
	start := bytes.Index(scriptSource, []byte("/*CONFIG*/"))
	end := bytes.Index(scriptSource, []byte("/*END*/"))
	var b []byte
	b = append(b, scriptSource[:start]...)
	b = append(b, conf...)
	b = append(b, scriptSource[end+len("/*END*/"):]...)
	sum := sha256.Sum256(b)
	return b, `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`
}

// serveReserved answers the requests under the reserved prefix.
func (g *Gateway) serveReserved(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	switch r.URL.Path {
	case g.tokenPath:
		// The library checks the request as state-changing: only the
		// application's own pages obtain a token.
		if g.onlyGet(w, r, "the token endpoint answers GET only") {
			g.tokenH.ServeHTTP(w, r)
		}
	case g.oneTimePath:
		if g.onlyGet(w, r, "the one-time token endpoint answers GET only") {
			g.oneTimeH.ServeHTTP(w, r)
		}
	case g.scriptPath:
		if g.onlyGet(w, r, "the script is served with GET only") {
			h.Set("Content-Type", "text/javascript; charset=utf-8")
			h.Set("Cache-Control", "no-cache")
			h.Set("ETag", g.scriptETag)
			http.ServeContent(w, r, "csrf.js", time.Time{}, bytes.NewReader(g.script))
		}
	case g.reauth.path: // never "": every path here starts with the prefix
		if r.Method != http.MethodPost {
			h.Set("Allow", "POST")
			g.fail(w, http.StatusMethodNotAllowed, "method-not-allowed", "Method Not Allowed", "the confirmation endpoint answers POST only")
			return
		}
		g.reauth.h.ServeHTTP(w, r)
	default:
		g.fail(w, http.StatusNotFound, "reserved-not-found", "Not Found",
			"paths under "+g.prefix+" are answered by the forgeproof gateway, which serves only "+g.tokenPath+", "+g.oneTimePath+" and "+g.scriptPath)
	}
}

// onlyGet reports whether r is a GET or HEAD request, and otherwise
// answers 405 with detail.
func (g *Gateway) onlyGet(w http.ResponseWriter, r *http.Request, detail string) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	g.fail(w, http.StatusMethodNotAllowed, "method-not-allowed", "Method Not Allowed", detail)
	return false
}

// serveToken answers {"token","header","field"} with a fresh masked token
// for the page, or (oneTime) with a token accepted once, by routes with
// OneTimeTokens. A store failure is answered with 503 and reason
// store-unavailable.
func (g *Gateway) serveToken(w http.ResponseWriter, r *http.Request, oneTime bool) {
	var tok string
	var err error
	kind := TokenEndpoint
	if oneTime {
		tok, err = g.prot.OneTimeToken(w, r)
		kind = TokenOneTime
	} else {
		tok, err = g.prot.Token(w, r)
	}
	if err != nil {
		g.log.Error("token not issued", "kind", kind, "error", err.Error())
		reason := forgeproof.ReasonStoreUnavailable
		problem.Write(w, problem.Details{
			Type:   "https://github.com/forgeproof/forgeproof/blob/main/docs/REASONS.md#" + reason.String(),
			Title:  reason.Title(),
			Status: reason.Status(),
			Detail: "the token store is unavailable; retry later",
		}, problem.Member{Name: "reason", Value: reason.String()})
		return
	}
	g.issued(kind)
	body, _ := json.Marshal(struct {
		Token  string `json:"token"`
		Header string `json:"header"`
		Field  string `json:"field"`
	}{tok, g.tokenHeader, g.tokenField})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(append(body, '\n'))
}

// issued reports one token handed out to Options.OnTokenIssued.
func (g *Gateway) issued(kind string) {
	if g.onIssued != nil {
		g.onIssued(kind)
	}
}
