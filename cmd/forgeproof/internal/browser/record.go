package browser

import (
	"sync"

	"github.com/chromedp/cdproto/network"
)

// A Request is one request a page sent, as the DevTools protocol reported
// it.
type Request struct {
	URL    string
	Method string
	Type   string // the resource type: Document, Fetch, Image, Script, Ping, …

	// Status is the HTTP status of the response, or 0 when there was none.
	Status int
	// Error is the network error when the request failed ("net::ERR_FAILED"),
	// or "".
	Error string
	// Blocked is why the browser blocked the request, or "": a CORS error
	// ("cors: PreflightInvalidStatus"), or another blocked reason.
	Blocked string
	// Done is true once the request finished or failed.
	Done bool
}

// recorder keeps the requests of one tab from its Network events.
type recorder struct {
	mu     sync.Mutex
	hops   []Request                 // in the order sent; a redirect adds a hop
	latest map[network.RequestID]int // index in hops of a request's last hop
}

func newRecorder() *recorder {
	return &recorder{latest: make(map[network.RequestID]int)}
}

// event is called on the tab's event loop; it only updates the record.
func (r *recorder) event(ev any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch ev := ev.(type) {
	case *network.EventRequestWillBeSent:
		if ev.Request == nil {
			return
		}
		if i, ok := r.latest[ev.RequestID]; ok && ev.RedirectResponse != nil {
			r.hops[i].Status = int(ev.RedirectResponse.Status)
			r.hops[i].Done = true
		}
		r.latest[ev.RequestID] = len(r.hops)
		r.hops = append(r.hops, Request{
			URL:    ev.Request.URL,
			Method: ev.Request.Method,
			Type:   string(ev.Type),
		})
	case *network.EventResponseReceived:
		if i, ok := r.latest[ev.RequestID]; ok && ev.Response != nil {
			r.hops[i].Status = int(ev.Response.Status)
		}
	case *network.EventLoadingFinished:
		if i, ok := r.latest[ev.RequestID]; ok {
			r.hops[i].Done = true
		}
	case *network.EventLoadingFailed:
		if i, ok := r.latest[ev.RequestID]; ok {
			q := &r.hops[i]
			q.Done = true
			q.Error = ev.ErrorText
			switch {
			case ev.CorsErrorStatus != nil:
				q.Blocked = "cors: " + string(ev.CorsErrorStatus.CorsError)
			case ev.BlockedReason != "":
				q.Blocked = string(ev.BlockedReason)
			}
		}
	}
}

func (r *recorder) requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Request(nil), r.hops...)
}
