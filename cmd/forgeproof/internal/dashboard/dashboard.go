// Package dashboard serves forgeproof's built-in dashboard: the last hour
// of allowed and rejected requests by reason, the origins with the most
// rejections and the recent alerts, as charts that refresh on their own.
//
// The page is self-contained: its HTML, script and style are embedded in
// the binary, the charts are inline SVG drawn by the script, and it loads
// nothing from elsewhere. Every response carries a Content-Security-Policy
// that allows only the page's own script, style and data endpoint, and
// every string that comes from a request (origins) is inserted as text,
// never as markup.
//
// Mount it on the admin listener, never on the public one:
//
//	mux.Handle("/dashboard/", http.StripPrefix("/dashboard", dashboard.Handler(mon)))
package dashboard

import (
	"embed"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/monitor"
)

// A Source supplies the dashboard's data; a [*monitor.Monitor] is one.
type Source interface {
	Snapshot(top int) monitor.Snapshot
}

// TopOrigins is how many origins the dashboard lists.
const TopOrigins = 10

// CSP is the Content-Security-Policy of every dashboard response.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

//go:embed static
var static embed.FS

// Handler returns the dashboard, which answers GET and HEAD requests for
// "/" (the page), "/app.js", "/app.css" and "/data.json" (the data, a
// [monitor.Snapshot] as JSON). Requests are matched against the path after
// any prefix was stripped, and the page refers to the others relatively,
// so it works under any mount point that ends in a slash.
func Handler(src Source) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", CSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cache-Control", "no-store")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		switch r.URL.Path {
		case "", "/":
			serveFile(w, "static/index.html", "text/html; charset=utf-8")
		case "/app.js":
			serveFile(w, "static/app.js", "text/javascript; charset=utf-8")
		case "/app.css":
			serveFile(w, "static/app.css", "text/css; charset=utf-8")
		case "/data.json":
			b, err := json.Marshal(src.Snapshot(TopOrigins))
			if err != nil {
				http.Error(w, "dashboard data could not be encoded", http.StatusInternalServerError)
				return
			}
			h.Set("Content-Type", "application/json")
			h.Set("Content-Length", strconv.Itoa(len(b)))
			w.Write(b)
		default:
			http.NotFound(w, r)
		}
	})
}

func serveFile(w http.ResponseWriter, name, contentType string) {
	b, err := static.ReadFile(name)
	if err != nil { // the files are embedded: only a broken build gets here
		http.Error(w, "dashboard asset missing", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.Write(b)
}
