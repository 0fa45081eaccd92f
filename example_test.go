package forgeproof_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"

	"github.com/forgeproof/forgeproof"
)

// problemReason returns the reason member of a problem+json response.
func problemReason(resp *http.Response) string {
	var pd struct{ Reason string }
	json.NewDecoder(resp.Body).Decode(&pd)
	return pd.Reason
}

// Protect a standard library ServeMux. With tokens off, forgeproof checks
// where each unsafe request comes from (Sec-Fetch-Site, Origin, Referer),
// like net/http.CrossOriginProtection but aware of the scheme.
func Example() {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /transfer", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "transferred")
	})
	p, err := forgeproof.New(forgeproof.Config{Tokens: forgeproof.TokensOff})
	if err != nil {
		log.Fatal(err)
	}
	handler := p.Handler(mux) // serve it with http.ListenAndServe

	send := func(origin string) {
		r := httptest.NewRequest("POST", "https://bank.example/transfer", nil)
		r.Header.Set("Origin", origin)
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, r)
		resp := w.Result()
		if resp.StatusCode == http.StatusOK {
			fmt.Println(origin, "→", resp.StatusCode)
			return
		}
		fmt.Println(origin, "→", resp.StatusCode, problemReason(resp))
	}
	send("https://bank.example")
	send("https://evil.example")
	send("http://bank.example") // a plain-HTTP page is another origin
	send("null")
	// Output:
	// https://bank.example → 200
	// https://evil.example → 403 origin-mismatch
	// http://bank.example → 403 origin-mismatch
	// null → 403 origin-null
}

// A server-rendered form with html/template: the page embeds the token with
// TemplateField, and the browser posts it back in the forgeproof_token field along
// with the token cookie.
func Example_form() {
	p, err := forgeproof.New(forgeproof.Config{}) // signed double-submit tokens
	if err != nil {
		log.Fatal(err)
	}
	page := template.Must(template.New("page").Parse(
		`<form method="post" action="/transfer">{{.}}<input name="amount"></form>`))

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		field, err := p.TemplateField(w, r) // sets the cookie; call before writing
		if err != nil {
			http.Error(w, "try again later", http.StatusServiceUnavailable)
			return
		}
		page.Execute(w, field)
	})
	mux.HandleFunc("POST /transfer", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "transferred %s", r.FormValue("amount"))
	})
	handler := p.Handler(mux)

	// The browser loads the page...
	w := httptest.NewRecorder()
	handler.ServeHTTP(w, httptest.NewRequest("GET", "https://bank.example/", nil))
	cookies := w.Result().Cookies()
	token := regexp.MustCompile(`name="forgeproof_token" value="([^"]+)"`).FindStringSubmatch(w.Body.String())[1]
	fmt.Println("cookie:", cookies[0].Name, "no-store:", w.Header().Get("Cache-Control") == "no-store")

	// ...and submits the form, from the same origin.
	submit := func(form url.Values) *http.Response {
		r := httptest.NewRequest("POST", "https://bank.example/transfer", strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("Sec-Fetch-Site", "same-origin")
		r.AddCookie(cookies[0])
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, r)
		return w.Result()
	}
	resp := submit(url.Values{"forgeproof_token": {token}, "amount": {"10"}})
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(body))

	resp = submit(url.Values{"amount": {"10"}})
	fmt.Println(resp.StatusCode, problemReason(resp))
	// Output:
	// cookie: __Host-forgeproof no-store: true
	// 200 transferred 10
	// 403 token-missing
}

// A JSON single-page application: the app fetches its token from
// TokenHandler and sends it in the X-Forgeproof-Token header. The API routes
// also accept JSON only and require X-Requested-With, which no cross-site
// form can send.
func Example_spa() {
	p, err := forgeproof.New(forgeproof.Config{
		Routes: []forgeproof.Route{
			{Pattern: "/api/", JSONOnly: true, RequireHeader: "X-Requested-With"},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /csrf-token", p.TokenHandler())
	mux.HandleFunc("POST /api/transfer", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"ok":true}`)
	})
	handler := p.Handler(mux)

	w := httptest.NewRecorder()
	handler.ServeHTTP(w, httptest.NewRequest("GET", "https://bank.example/csrf-token", nil))
	var tok struct{ Token, Header, Field string }
	json.NewDecoder(w.Body).Decode(&tok)
	cookies := w.Result().Cookies()
	fmt.Println("header:", tok.Header)

	post := func(contentType string, withHeader bool) *http.Response {
		r := httptest.NewRequest("POST", "https://bank.example/api/transfer", strings.NewReader(`{"amount":10}`))
		r.Header.Set("Content-Type", contentType)
		r.Header.Set("Sec-Fetch-Site", "same-origin")
		r.Header.Set(tok.Header, tok.Token)
		if withHeader {
			r.Header.Set("X-Requested-With", "fetch")
		}
		r.AddCookie(cookies[0])
		w := httptest.NewRecorder()
		handler.ServeHTTP(w, r)
		return w.Result()
	}
	resp := post("application/json", true)
	fmt.Println(resp.StatusCode)
	resp = post("application/json", false)
	fmt.Println(resp.StatusCode, problemReason(resp))
	resp = post("text/plain", true)
	fmt.Println(resp.StatusCode, problemReason(resp))
	// Output:
	// header: X-Forgeproof-Token
	// 200
	// 403 header-missing
	// 403 content-type-not-allowed
}

// Check gives the decision without writing a response, for frameworks
// whose handlers are not http.Handlers.
func ExampleProtection_Check() {
	p, err := forgeproof.New(forgeproof.Config{Tokens: forgeproof.TokensOff})
	if err != nil {
		log.Fatal(err)
	}
	r := httptest.NewRequest("POST", "https://bank.example/transfer", nil)
	r.Header.Set("Sec-Fetch-Site", "cross-site")
	if err := p.Check(r); err != nil {
		var fe *forgeproof.Error
		if errors.As(err, &fe) {
			fmt.Println(fe.Reason, fe.Reason.Status())
		}
	}
	// Output:
	// sec-fetch-site-cross-site 403
}

// OnDecision receives every verdict. With ReportOnly, denials are reported
// but not enforced: deploy first, enforce later.
func ExampleConfig_reportOnly() {
	p, err := forgeproof.New(forgeproof.Config{
		Tokens:     forgeproof.TokensOff,
		ReportOnly: true,
		OnDecision: func(e forgeproof.Event) {
			if e.Decision == forgeproof.Denied {
				fmt.Println("would deny", e.Method, e.Path, e.Reason, "report-only:", e.ReportOnly)
			}
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	handler := p.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Println("handled", r.URL.Path)
	}))
	r := httptest.NewRequest("POST", "https://bank.example/transfer", nil)
	r.Header.Set("Origin", "https://evil.example")
	handler.ServeHTTP(httptest.NewRecorder(), r)
	// Output:
	// would deny POST /transfer origin-mismatch report-only: true
	// handled /transfer
}

// Behind a TLS-terminating reverse proxy the application sees plain HTTP and
// perhaps an internal Host. List the proxy in TrustedProxies so that its
// Forwarded or X-Forwarded-* headers say what the browser saw, or set
// PublicOrigins.
func ExampleConfig_behindProxy() {
	p, err := forgeproof.New(forgeproof.Config{
		Tokens:         forgeproof.TokensOff,
		TrustedProxies: []string{"10.0.0.0/8"},
	})
	if err != nil {
		log.Fatal(err)
	}
	check := func(peer string) {
		r := httptest.NewRequest("POST", "http://app.internal:8080/transfer", nil)
		r.RemoteAddr = peer
		r.Header.Set("X-Forwarded-Proto", "https")
		r.Header.Set("X-Forwarded-Host", "bank.example")
		r.Header.Set("Origin", "https://bank.example")
		fmt.Println(peer, "→", p.Check(r))
	}
	check("10.1.2.3:41000")    // the proxy: its headers are believed
	check("203.0.113.9:41000") // anyone else: they are ignored
	// Output:
	// 10.1.2.3:41000 → <nil>
	// 203.0.113.9:41000 → forgeproof: Origin header names an untrusted origin (origin-mismatch)
}

// A WebSocket handshake carries no token: CheckOrigin judges it by the
// origin layer alone, as an unsafe request. With gorilla/websocket, set
// Upgrader.CheckOrigin to a function that returns p.CheckOrigin(r) == nil.
func ExampleProtection_CheckOrigin() {
	p, err := forgeproof.New(forgeproof.Config{})
	if err != nil {
		log.Fatal(err)
	}
	for _, origin := range []string{"https://bank.example", "https://evil.example"} {
		r := httptest.NewRequest("GET", "https://bank.example/ws", nil)
		r.Header.Set("Connection", "Upgrade")
		r.Header.Set("Upgrade", "websocket")
		r.Header.Set("Origin", origin)
		fmt.Println(origin, p.CheckOrigin(r))
	}
	// Output:
	// https://bank.example <nil>
	// https://evil.example forgeproof: Origin header names an untrusted origin (origin-mismatch)
}

// New reports every bad field at once; a tool that reads its own
// configuration file maps each field path to the line it came from.
func ExampleConfigError() {
	_, err := forgeproof.New(forgeproof.Config{
		TrustedOrigins: []string{"https://app.example", "https://*.co.uk"},
		Routes:         []forgeproof.Route{{Pattern: "/a/../b"}},
	})
	var ce *forgeproof.ConfigError
	if errors.As(err, &ce) {
		for _, fe := range ce.Errors {
			fmt.Println(fe.Field)
		}
	}
	// Output:
	// TrustedOrigins[1]
	// Routes[0].Pattern
}
