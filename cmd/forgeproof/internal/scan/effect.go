package scan

import (
	"bytes"
	"context"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/scan/checks"
)

// maxObservers bounds the read-back operations that judge GETs by effect.
const maxObservers = 4

// getEffects judges every GET operation by its effect: it picks observers
// (GET operations whose answer is the same when fetched twice, such as a
// read-back of the account's state), then sends each other GET as a
// cross-site navigation would, and records the GETs after which an
// observer's answer changed. It runs alone, before the POST probes, so
// that no other request changes the state meanwhile. Names are no
// evidence here; checks use them only as a low-confidence hint.
func (sc *scanner) getEffects(ctx context.Context) error {
	var gets []*Operation
	for i := range sc.opts.Operations {
		if sc.opts.Operations[i].Method == "GET" {
			gets = append(gets, &sc.opts.Operations[i])
		}
	}
	if len(gets) == 0 {
		return nil
	}
	// Read-like operations make the best observers: no path parameter
	// (a collection or the account), no action word in the name, JSON.
	cands := append([]*Operation(nil), gets...)
	rank := func(op *Operation) int {
		r := 0
		if strings.Contains(op.Path, "{") {
			r += 4
		}
		if checks.StateVerb(op.Path + " " + op.OperationID + " " + op.Summary) {
			r += 8
		}
		if !strings.Contains(op.Path, "api") {
			r++
		}
		return r
	}
	sort.SliceStable(cands, func(i, j int) bool { return rank(cands[i]) < rank(cands[j]) })
	var observers []*Operation
	var json []bool
	isObserver := map[*Operation]bool{}
	for _, op := range cands {
		if len(observers) == maxObservers || rank(op) >= 4 {
			break
		}
		a, err := sc.fetch(ctx, op)
		if err != nil {
			return err
		}
		b, err := sc.fetch(ctx, op)
		if err != nil {
			return err
		}
		if a.Status/100 == 2 && a.Status == b.Status && bytes.Equal(normalize(a.Body), normalize(b.Body)) {
			observers = append(observers, op)
			isObserver[op] = true
			json = append(json, isJSONType(mediaType(a.Header.Get("Content-Type"))))
		}
	}
	// A JSON read-back is a better judge than a page, which may show the
	// time or a fresh token: when there is one, pages do not judge.
	if slices.Contains(json, true) {
		var keep []*Operation
		for i, o := range observers {
			if json[i] {
				keep = append(keep, o)
			} else {
				delete(isObserver, o)
			}
		}
		observers = keep
	}
	sc.pass.Observers = len(observers)
	sc.observers = observers
	if len(observers) == 0 {
		// Nothing to judge effects by; the pages still hand out the
		// tokens of the forms that precede operations.
		for _, op := range gets {
			if !isObserver[op] {
				if _, err := sc.fetch(ctx, op); err != nil {
					return err
				}
			}
		}
		return nil
	}
	for _, op := range gets {
		if isObserver[op] {
			continue // fetched twice with the same answer
		}
		before, err := sc.snapshot(ctx, observers)
		if err != nil {
			return err
		}
		h := sc.attackHeader("", AttackerOrigin+"/", "cross-site", "navigate")
		ex, err := sc.client.do(ctx, checks.ProbeGetEffect, &checks.Request{Method: "GET", URL: sc.urlOf(sc.pathOf(op.URLPath), op.Query), Header: h})
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			continue
		}
		sc.noteForms(ex)
		after, err := sc.snapshot(ctx, observers)
		if err != nil {
			return err
		}
		for i, o := range observers {
			if before[i].Status != after[i].Status || !bytes.Equal(normalize(before[i].Body), normalize(after[i].Body)) {
				ex.Body = ex.Body[:min(len(ex.Body), keptBody)]
				sc.pass.GetEffects = append(sc.pass.GetEffects, checks.GetEffect{Path: op.Path, Exchange: ex, Observer: "GET " + o.Path})
				break
			}
		}
	}
	return nil
}

// tokenLikeRE matches long runs of token characters: masked anti-CSRF
// tokens, nonces and signed values that differ on every page.
var tokenLikeRE = regexp.MustCompile(`[A-Za-z0-9_\-.+/=:%]{20,}`)

// normalize blanks what differs between two identical answers: tokens and
// nonces.
func normalize(b []byte) []byte { return tokenLikeRE.ReplaceAll(b, []byte("*")) }

// snapshot fetches every observer.
func (sc *scanner) snapshot(ctx context.Context, observers []*Operation) ([]*checks.Exchange, error) {
	out := make([]*checks.Exchange, len(observers))
	for i, o := range observers {
		ex, err := sc.fetch(ctx, o)
		if err != nil {
			return nil, err
		}
		out[i] = ex
	}
	return out, nil
}

// fetch sends a GET operation as the application's own pages would.
func (sc *scanner) fetch(ctx context.Context, op *Operation) (*checks.Exchange, error) {
	h := sc.userHeader()
	h.Set("Sec-Fetch-Site", "same-origin")
	if c := sc.s1.header(); c != "" {
		h.Set("Cookie", c)
	}
	declaredHeader(op, h)
	ex, err := sc.client.do(ctx, "read-back", &checks.Request{Method: http.MethodGet, URL: sc.urlOf(sc.pathOf(op.URLPath), op.Query), Header: h})
	if err != nil && ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err != nil {
		return &checks.Exchange{Header: http.Header{}}, nil
	}
	sc.noteForms(ex)
	return ex, nil
}

// noteForms records the form tokens of a page fetched with the first
// session's cookies.
func (sc *scanner) noteForms(ex *checks.Exchange) {
	if ex.Status != http.StatusOK || !strings.HasPrefix(strings.ToLower(ex.Header.Get("Content-Type")), "text/html") {
		return
	}
	sc.mu.Lock()
	defer sc.mu.Unlock()
	for path, t := range formTokens(ex.Request.URL, ex.Body) {
		if t.Value != sc.s1.tok.Value {
			sc.formToks[path] = t
		}
	}
}

// tokenFor returns the token for a request to path: the one the form of
// a preceding page carries for it, else the session's.
func (sc *scanner) tokenFor(path string) token {
	sc.mu.Lock()
	defer sc.mu.Unlock()
	if t, ok := sc.formToks[path]; ok {
		return t
	}
	return sc.s1.tok
}
