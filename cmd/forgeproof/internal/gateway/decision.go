package gateway

import (
	"net/http"

	"github.com/forgeproof/forgeproof"
)

// One decision event per request.
//
// A request passes up to four layers that can refuse it: the role check
// and the unknown-path policy before the library, the library, and
// request validation after it. Protection.OnDecision (logs, metrics, the
// attack monitor, the dashboard) hears of each request once, with the
// final verdict: the first enforced denial, else the first report-only
// denial, else the library's allow. The layers note their verdicts in the
// request's exchange; the event is reported as soon as a layer answers
// the request (an enforced denial) or, for a request that goes on, once
// validation has passed and before the request is proxied. Requests
// under the reserved prefix have no exchange: the library's event is
// reported at once, as nothing follows it.

// verdict is the decision event of a request, held in its exchange until
// it is reported.
type verdict struct {
	ev   forgeproof.Event
	held bool // ev is to be reported
}

// rank orders verdicts: an allow, a report-only denial, an enforced one.
func rank(e *forgeproof.Event) int {
	switch {
	case e.Decision != forgeproof.Denied:
		return 0
	case e.ReportOnly:
		return 1
	}
	return 2
}

// note merges e into the request's verdict. The first verdict of the
// highest rank wins. The other fields come from the library's latest
// event (fromLib), which summarizes the request best: its route, method,
// origin and the rest.
func (v *verdict) note(e forgeproof.Event, fromLib bool) {
	if !v.held {
		v.ev, v.held = e, true
		return
	}
	old := v.ev
	if fromLib {
		v.ev = e
	}
	w := &old
	if rank(&e) > rank(&old) {
		w = &e
	}
	v.ev.Decision, v.ev.Reason, v.ev.ReportOnly = w.Decision, w.Reason, w.ReportOnly
}

// observed reports whether anybody listens to decision events.
func (g *Gateway) observed() bool {
	return g.onDecision != nil || g.onRequestDecision != nil
}

// report tells the caller's OnDecision and OnRequestDecision about e.
func (g *Gateway) report(r *http.Request, e forgeproof.Event) {
	if g.onDecision != nil {
		g.onDecision(e)
	}
	if g.onRequestDecision != nil {
		g.onRequestDecision(r, e)
	}
}

// decided is the library's OnRequestDecision: it notes the library's
// event for r, and reports it at once when r has no exchange or is
// answered now.
func (g *Gateway) decided(r *http.Request, e forgeproof.Event) {
	g.noteDecision(r, e, true)
}

// noteDecision notes e, a verdict on r, and reports the request's event
// if e is an enforced denial: r is answered, and no other layer runs.
func (g *Gateway) noteDecision(r *http.Request, e forgeproof.Event, fromLib bool) {
	ex := exchangeOf(r)
	if ex == nil {
		g.report(r, e)
		return
	}
	ex.verdict.note(e, fromLib)
	if rank(&e) == 2 {
		g.flushDecision(r)
	}
}

// flushDecision reports the event of r, unless it was reported already.
func (g *Gateway) flushDecision(r *http.Request) {
	if ex := exchangeOf(r); ex != nil && ex.verdict.held {
		ex.verdict.held = false
		g.report(r, ex.verdict.ev)
	}
}
