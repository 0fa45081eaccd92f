package zoo

import (
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"

	"github.com/forgeproof/forgeproof"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/gateway"
)

// A Variant is one application of the zoo and what the scanner must find
// on it.
type Variant struct {
	// Name is a short, unique, stable name.
	Name string
	// Description says what is planted or what protects it.
	Description string
	// Expect lists the findings that must be reported, each as
	// "CHECK METHOD PATH" (METHOD "-" for findings without one, PATH as
	// declared); empty for a protected application. Any other finding is a
	// false positive.
	Expect []string
	// App is the bank underneath; its Transfers count every state change.
	App *App
	// Wrap, if set, puts a defense in front of App.
	Wrap func(h http.Handler) (http.Handler, error)
	// Args are extra scanner arguments the application needs, such as a
	// required header.
	Args []string
	// Input selects how the scanner learns the operations: "openapi"
	// (default), "endpoints" or "har".
	Input string
}

// Protected reports whether the variant has no planted weakness.
func (v *Variant) Protected() bool { return len(v.Expect) == 0 }

// Handler builds the variant's handler.
func (v *Variant) Handler() (http.Handler, error) {
	if v.Wrap == nil {
		return v.App, nil
	}
	return v.Wrap(v.App)
}

// Variants returns a fresh zoo: vulnerable applications first, then
// protected ones.
func Variants() []*Variant {
	vs := []*Variant{
		{Name: "form-no-defense", Description: "form transfer with no defense; JSON transfer is strict JSON",
			Expect: []string{"no-csrf-defense POST /transfer"}, App: (&App{})},
		{Name: "json-lax-no-defense", Description: "no defense and a JSON parser that ignores Content-Type",
			Expect: []string{"no-csrf-defense POST /transfer", "no-csrf-defense POST /api/transfer", "content-type-downgrade POST /api/transfer"}, App: (&App{LaxJSON: true}), Input: "endpoints"},
		{Name: "token-optional", Description: "token checked only when sent",
			Expect: []string{"token-optional POST /transfer"}, App: (&App{Tokens: OptionalTokens})},
		{Name: "token-empty", Description: "token field required but an empty value passes",
			Expect: []string{"token-empty-accepted POST /transfer"}, App: (&App{Tokens: EmptyTokens})},
		{Name: "token-global", Description: "any issued token passes in any session, the anonymous one included",
			Expect: []string{"token-not-session-bound POST /transfer"}, App: (&App{Tokens: GlobalTokens})},
		{Name: "double-submit-naive", Description: "the form token is compared with a readable cookie only",
			Expect: []string{"double-submit-naive POST /transfer"}, App: (&App{Tokens: NaiveDoubleSubmitTokens})},
		{Name: "origin-null", Description: "Origin required, but null is allowed",
			Expect: []string{"origin-null-accepted POST /transfer"}, App: (&App{Origin: AllowNullOrigin})},
		{Name: "origin-subdomains", Description: "every subdomain of the site is trusted, over either scheme",
			Expect: []string{"same-site-origin-accepted POST /transfer", "origin-scheme-ignored POST /transfer"}, App: (&App{Origin: SubdomainOrigin})},
		{Name: "referer-optional", Description: "Referer checked only when present; Origin ignored",
			Expect: []string{"referer-optional POST /transfer", "fetch-metadata-ignored POST /transfer", "origin-null-accepted POST /transfer"}, App: (&App{Origin: RefererOptional})},
		{Name: "origin-optional", Description: "Origin checked only when present; Sec-Fetch-Site ignored",
			Expect: []string{"fetch-metadata-ignored POST /transfer"}, App: (&App{Origin: OriginOptional})},
		{Name: "method-override", Description: "Fetch Metadata check on the real method, then _method override",
			Expect: []string{"method-override DELETE /api/payees/{id}"}, App: (&App{Origin: StrictOrigin, MethodOverride: true})},
		{Name: "get-action", Description: "transfers also happen on GET; the API declares a GET transfer",
			Expect: []string{"get-changes-state GET /transfer", "get-changes-state GET /legacy/transfer"}, App: (&App{Origin: StrictOrigin, GetAction: true})},
		{Name: "weak-session-cookie", Description: "session cookie SameSite=None without HttpOnly",
			Expect: []string{"session-cookie-attributes - /login"}, App: (&App{Tokens: SessionTokens, WeakCookie: true})},
		{Name: "cors-reflect", Description: "CORS reflects any origin with credentials",
			Expect: []string{"cors-misconfiguration OPTIONS /", "cors-misconfiguration OPTIONS /transfer", "cors-misconfiguration OPTIONS /api/transfer", "cors-misconfiguration OPTIONS /api/payees/7", "cors-misconfiguration OPTIONS /api/balance"}, App: (&App{Tokens: SessionTokens, CORS: ReflectCORS})},
		{Name: "cors-null", Description: "CORS allows Origin: null with credentials",
			Expect: []string{"cors-misconfiguration OPTIONS /", "cors-misconfiguration OPTIONS /transfer", "cors-misconfiguration OPTIONS /api/transfer", "cors-misconfiguration OPTIONS /api/payees/7", "cors-misconfiguration OPTIONS /api/balance"}, App: (&App{Tokens: SessionTokens, CORS: NullCORS})},
		{Name: "weak-headers", Description: "CSP with unsafe-inline, no frame-ancestors, no Referrer-Policy",
			Expect: []string{"security-headers GET /"}, App: (&App{Tokens: SessionTokens, WeakHeaders: true})},
		{Name: "third-party-script", Description: "script from a CDN without integrity",
			Expect: []string{"sri-missing GET /"}, App: (&App{Tokens: SessionTokens, ThirdPartyScript: true}), Input: "har"},
		{Name: "token-in-url", Description: "a link carries the token in its query string",
			Expect: []string{"token-in-url GET /api/balance"}, App: (&App{Tokens: SessionTokens, TokenInURL: true})},
		{Name: "token-not-rotated", Description: "the anonymous session and its token survive login",
			Expect: []string{"token-not-rotated POST /login"}, App: (&App{Tokens: SessionTokens, KeepSessionAtLogin: true})},
		{Name: "declared-not-enforced", Description: "the API description declares the JSON transfer json_only, but the app decodes any body",
			Expect: []string{"policy-not-enforced POST /api/transfer"},
			App:    (&App{Tokens: SessionTokens, LaxJSON: true, Declares: map[string]string{"/api/transfer": `{"json_only": true}`}})},

		{Name: "forgeproof-middleware", Description: "no defense of its own, wrapped in forgeproof.New(...).Handler",
			App: (&App{LaxJSON: true}), Wrap: middleware(forgeproof.Config{SessionCookie: "session", ErrorLog: quiet})},
		{Name: "forgeproof-synchronizer", Description: "forgeproof middleware with synchronizer tokens and DenyMissingOrigin",
			App: (&App{LaxJSON: true}), Wrap: middleware(forgeproof.Config{SessionCookie: "session", Tokens: forgeproof.SynchronizerTokens, DenyMissingOrigin: true, ErrorLog: quiet})},
		{Name: "forgeproof-gateway", Description: "the no-defense bank behind forgeproof's gateway",
			App: (&App{LaxJSON: true}), Wrap: gatewayed},
		{Name: "declared-and-enforced", Description: "the lax bank behind the gateway, whose routes enforce what the API description declares",
			App: (&App{LaxJSON: true, Declares: map[string]string{"/api/transfer": `{"json_only": true}`, "/transfer": `{"require_header": "X-Requested-With"}`}}),
			Wrap: gatewayWith(
				gateway.Route{Pattern: "POST /api/transfer", Protect: forgeproof.Route{JSONOnly: true}},
				gateway.Route{Pattern: "POST /transfer", Protect: forgeproof.Route{RequireHeader: "X-Requested-With"}})},
		{Name: "go-cross-origin-protection", Description: "no defense of its own, wrapped in net/http.CrossOriginProtection",
			App: (&App{LaxJSON: true}), Wrap: func(h http.Handler) (http.Handler, error) {
				return http.NewCrossOriginProtection().Handler(h), nil
			}},
		{Name: "synchronizer-token", Description: "hand-written session-bound token, required on every unsafe request",
			App: (&App{Tokens: SessionTokens, LaxJSON: true})},
		{Name: "cookie-to-header-token", Description: "Angular-style XSRF-TOKEN cookie echoed in X-XSRF-TOKEN",
			App: (&App{Tokens: CookieTokens, LaxJSON: true})},
		{Name: "custom-header", Description: "every unsafe request must carry X-Requested-With",
			App: (&App{RequireHeader: "X-Requested-With", LaxJSON: true}), Args: []string{"--header", "X-Requested-With: XMLHttpRequest"}},
		{Name: "strict-origin", Description: "hand-written Fetch Metadata and Origin check",
			App: (&App{Origin: StrictOrigin, LaxJSON: true}), Input: "endpoints"},
	}
	return vs
}

// quiet discards the library's warnings about token cookies on plain
// HTTP: the zoo runs on loopback without TLS on purpose.
var quiet = log.New(io.Discard, "", 0)

func middleware(cfg forgeproof.Config) func(http.Handler) (http.Handler, error) {
	return func(h http.Handler) (http.Handler, error) {
		p, err := forgeproof.New(cfg)
		if err != nil {
			return nil, err
		}
		mux := http.NewServeMux()
		mux.Handle("/.forgeproof/token", p.TokenHandler())
		mux.Handle("/", h)
		return p.Handler(mux), nil
	}
}

// gatewayed returns forgeproof's gateway in front of h. The gateway
// reaches h through an in-memory transport, as if over the network.
func gatewayed(h http.Handler) (http.Handler, error) { return gatewayWith()(h) }

// gatewayWith is gatewayed with routes.
func gatewayWith(routes ...gateway.Route) func(http.Handler) (http.Handler, error) {
	return func(h http.Handler) (http.Handler, error) {
		u, _ := url.Parse("http://zoo-backend.internal")
		return gateway.New(gateway.Options{
			Upstreams:  []gateway.Upstream{{URL: u, Transport: handlerTransport{h}}},
			Protection: forgeproof.Config{SessionCookie: "session", ErrorLog: quiet},
			Routes:     routes,
		})
	}
}

// handlerTransport serves requests with a handler instead of a network.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}

// Checks returns the sorted set of check ids the zoo expects somewhere.
func Checks(vs []*Variant) []string {
	set := map[string]bool{}
	for _, v := range vs {
		for _, e := range v.Expect {
			id, _, _ := strings.Cut(e, " ")
			set[id] = true
		}
	}
	out := make([]string, 0, len(set))
	for id := range set {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}
