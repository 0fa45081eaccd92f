package operations_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/forgeproof/forgeproof"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/config"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/gateway"
	"github.com/forgeproof/forgeproof/internal/testenv"
)

// startNotes installs the Express notes service with npm ci (when needed)
// and starts it on a free loopback port; it returns the backend's URL.
func startNotes(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("testdata/notes")
	if err != nil {
		t.Fatal(err)
	}
	return testenv.StartNode(t, dir, "server.js")
}

// described is a gateway in front of the notes service, configured with
// the backend's address, its framework and its OpenAPI description only.
type described struct {
	t       *testing.T
	url     string // the gateway
	backend string
	client  *http.Client
	token   string
	bearer  string // an identity token sent with every request, if set

	mu     sync.Mutex
	events []forgeproof.Event
}

// newDescribed starts a gateway from a configuration file written with
// extra appended (YAML at the top level).
func newDescribed(t *testing.T, backend, extra string) *described {
	t.Helper()
	spec, err := filepath.Abs("testdata/notes/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "forgeproof.yaml")
	t.Setenv("NOTES_JWT_SECRET", jwtSecret)
	conf := "upstreams:\n  - url: " + backend + "\npreset: express\n" +
		"identity:\n  jwt: {hmac_secret: {env: NOTES_JWT_SECRET}, issuer: https://idp.test, audience: notes}\n" +
		"reauth_verify: /api/reauth\nreauth_success: {status: 200, header: X-Reauth-Verified, value: \"true\"}\n" +
		"openapi:\n  file: " + spec + "\n  unknown_paths: deny\n  max_body_bytes: 4096\n" + extra
	if err := os.WriteFile(file, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	d := &described{t: t, backend: backend}
	lib, err := c.Library(nil)
	if err != nil {
		t.Fatal(err)
	}
	lib.OnDecision = func(e forgeproof.Event) {
		d.mu.Lock()
		d.events = append(d.events, e)
		d.mu.Unlock()
	}
	opts, err := c.Gateway(lib)
	if err != nil {
		t.Fatal(err)
	}
	g, err := gateway.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(g)
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	d.url = srv.URL
	d.client = &http.Client{Jar: jar, Timeout: 10 * time.Second}
	return d
}

// do sends a request through the gateway. site is "same-origin" (with
// the token, the way the client script sends it), "no-token" (same
// origin, without the token) or "cross-site" (from another site, without
// the token).
func (d *described) do(method, path, site, contentType, body string, header ...string) (int, map[string]any) {
	d.t.Helper()
	var rb io.Reader
	if body != "" {
		rb = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, d.url+path, rb)
	if err != nil {
		d.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	switch site {
	case "same-origin", "no-token":
		req.Header.Set("Origin", d.url)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		if site == "same-origin" && d.token != "" {
			req.Header.Set("X-Forgeproof-Token", d.token)
		}
	case "cross-site":
		req.Header.Set("Origin", "https://evil.example")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
	}
	if d.bearer != "" {
		req.Header.Set("Authorization", "Bearer "+d.bearer)
	}
	for i := 0; i+1 < len(header); i += 2 {
		if header[i+1] == "" {
			req.Header.Del(header[i])
			continue
		}
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := d.client.Do(req)
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	if tok := resp.Header.Get("X-Forgeproof-Token"); tok != "" {
		d.token = tok // rotated with the session
	}
	var m map[string]any
	b, _ := io.ReadAll(resp.Body)
	json.Unmarshal(b, &m)
	if m == nil {
		m = map[string]any{"raw": string(b)}
	}
	return resp.StatusCode, m
}

// backendLog returns the requests the backend received, read from it
// directly.
func (d *described) backendLog() []struct{ Method, Path, Body string } {
	d.t.Helper()
	resp, err := http.Get(d.backend + "/_log")
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	var log []struct{ Method, Path, Body string }
	if err := json.NewDecoder(resp.Body).Decode(&log); err != nil {
		d.t.Fatal(err)
	}
	return log
}

// jwtSecret signs the identity tokens of the tests.
const jwtSecret = "a-shared-secret-of-at-least-32-bytes-for-tests"

// identityToken returns a token of the identity provider that grants roles.
func identityToken(t *testing.T, roles ...string) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte(jwtSecret)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(s).Claims(map[string]any{
		"iss": "https://idp.test", "aud": "notes", "exp": time.Now().Add(time.Hour).Unix(), "roles": roles,
	}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// signIn fetches a token and signs in as user.
func (d *described) signIn(user string) {
	d.t.Helper()
	if code, m := d.do("GET", "/.forgeproof/token", "no-token", "", ""); code != 200 {
		d.t.Fatalf("token endpoint: %d %v", code, m)
	} else {
		d.token = m["token"].(string)
	}
	if code, m := d.do("POST", "/login", "same-origin", "application/json", `{"user":"`+user+`"}`); code != 200 {
		d.t.Fatalf("login: %d %v", code, m)
	}
}

// TestDescribedExpress protects the Express notes service from its OpenAPI
// description alone, and checks with plain HTTP requests that each
// operation behaves as the description declares, and that refused requests
// never reach the backend.
func TestDescribedExpress(t *testing.T) {
	backend := startNotes(t)
	d := newDescribed(t, backend, "")
	d.bearer = identityToken(t, "admin")
	d.signIn("alice")
	teller := identityToken(t, "teller")
	// A note to archive.
	if code, m := d.do("POST", "/api/notes", "same-origin", "application/json", `{"title":"first","priority":1}`); code != 201 {
		t.Fatalf("create: %d %v", code, m)
	}

	big := `{"title":"` + strings.Repeat("x", 5000) + `","priority":1}`
	refused := []struct {
		name                      string
		method, path, site, ctype string
		body                      string
		status                    int
		reason                    string
		pointer, parameter        string // expected members, "" for none
		header                    []string
	}{
		// The JSON-only operation (json_only inferred from its body).
		{"cross-site JSON", "POST", "/api/notes", "cross-site", "application/json", `{"title":"x","priority":1}`, 403, "sec-fetch-site-cross-site", "", "", nil},
		{"form body", "POST", "/api/notes", "same-origin", "application/x-www-form-urlencoded", "title=x&priority=1", 403, "content-type-not-allowed", "", "", nil},
		{"text/plain body", "POST", "/api/notes", "same-origin", "text/plain", `{"title":"x","priority":1}`, 403, "content-type-not-allowed", "", "", nil},
		{"malformed JSON", "POST", "/api/notes", "same-origin", "application/json", `{"title":"x",`, 400, "request-invalid", "=", "", nil},
		{"wrong type", "POST", "/api/notes", "same-origin", "application/json", `{"title":"x","priority":"high"}`, 400, "request-invalid", "/priority", "", nil},
		{"out of range", "POST", "/api/notes", "same-origin", "application/json", `{"title":"x","priority":9}`, 400, "request-invalid", "/priority", "", nil},
		{"missing field", "POST", "/api/notes", "same-origin", "application/json", `{"title":"x"}`, 400, "request-invalid", "/priority", "", nil},
		{"nested wrong type", "POST", "/api/notes", "same-origin", "application/json", `{"title":"x","priority":1,"tags":["a",7]}`, 400, "request-invalid", "/tags/1", "", nil},
		{"case variant Express dispatches", "POST", "/API/Notes", "same-origin", "application/json", `{"title":"x"}`, 400, "request-invalid", "/priority", "", nil},
		{"trailing slash Express dispatches", "POST", "/api/notes/", "same-origin", "application/json", `{"title":"x"}`, 400, "request-invalid", "/priority", "", nil},
		{"method override", "POST", "/api/notes?_method=PUT", "same-origin", "application/json", `{"title":"x"}`, 400, "request-invalid", "/priority", "", nil},
		{"missing body", "POST", "/api/notes", "same-origin", "application/json", "", 400, "request-invalid", "=", "", nil},
		{"JSON of another media type", "POST", "/api/notes", "same-origin", "application/vnd.api+json", `{"title":"x","priority":1}`, 415, "media-type-unsupported", "=", "", nil},
		{"oversize body", "POST", "/api/notes", "same-origin", "application/json", big, 413, "request-too-large", "=", "", nil},
		// The state-changing GET, marked unsafe.
		{"cross-site unsafe GET", "GET", "/api/notes/1/archive", "cross-site", "", "", 403, "sec-fetch-site-cross-site", "", "", nil},
		{"unsafe GET without token", "GET", "/api/notes/1/archive", "no-token", "", "", 403, "token-missing", "", "", nil},
		{"unsafe GET, bad path parameter", "GET", "/api/notes/abc/archive", "same-origin", "", "", 400, "request-invalid", "", "id", nil},
		// The sensitive operation: step-up required.
		{"sensitive without proof", "POST", "/api/account/delete", "same-origin", "", "", 401, "reauth-required", "", "", nil},
		{"sensitive, cross-site", "POST", "/api/account/delete", "cross-site", "", "", 403, "sec-fetch-site-cross-site", "", "", nil},
		// The sensitive operation's role, from the description.
		{"sensitive without identity", "POST", "/api/account/delete", "same-origin", "", "", 401, "unauthenticated", "", "", []string{"Authorization", ""}},
		{"sensitive without the role", "POST", "/api/account/delete", "same-origin", "", "", 403, "role-forbidden", "", "", []string{"Authorization", "Bearer " + teller}},
		// The webhook is bypassed but still validated.
		{"webhook, bad event", "POST", "/hooks/payment", "cross-site", "application/json", `{"event":"stolen"}`, 400, "request-invalid", "/event", "", nil},
		// Not in the description.
		{"unknown path", "GET", "/_log", "same-origin", "", "", 404, "operation-unknown", "", "", nil},
		{"unknown method", "DELETE", "/api/notes", "same-origin", "", "", 404, "operation-unknown", "", "", nil},
	}
	before := len(d.backendLog())
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			code, m := d.do(tc.method, tc.path, tc.site, tc.ctype, tc.body, tc.header...)
			if code != tc.status || m["reason"] != tc.reason {
				t.Fatalf("%d %v, want %d %s", code, m, tc.status, tc.reason)
			}
			switch {
			case tc.pointer == "=":
				if m["pointer"] != "" {
					t.Errorf("pointer %v, want \"\" (the whole body)", m["pointer"])
				}
			case tc.pointer != "":
				if m["pointer"] != tc.pointer {
					t.Errorf("pointer %v, want %s", m["pointer"], tc.pointer)
				}
			}
			if tc.parameter != "" && m["parameter"] != tc.parameter {
				t.Errorf("parameter %v, want %s", m["parameter"], tc.parameter)
			}
			if ct := m["detail"]; tc.reason == "request-invalid" && (ct == nil || strings.Contains(ct.(string), "stolen") || strings.Contains(ct.(string), "high")) {
				t.Errorf("detail %v must say what is wrong without quoting the request", ct)
			}
		})
	}
	if log := d.backendLog(); len(log) != before {
		t.Fatalf("the backend received %d refused requests: %v", len(log)-before, log[before:])
	}
	d.mu.Lock()
	counted := map[string]int{}
	for _, e := range d.events {
		if e.Decision == forgeproof.Denied && !e.ReportOnly {
			counted[e.Reason.String()]++
		}
	}
	d.mu.Unlock()
	for _, r := range []string{"request-invalid", "media-type-unsupported", "request-too-large", "operation-unknown"} {
		if counted[r] == 0 {
			t.Errorf("no %s decision reported to OnDecision (for logs and metrics): %v", r, counted)
		}
	}

	// Allowed requests reach the backend with the exact bytes sent.
	exact := "{ \"priority\" : 2,\n  \"title\":\"second\" }"
	if code, m := d.do("POST", "/api/notes", "same-origin", "application/json; charset=utf-8", exact); code != 201 {
		t.Fatalf("valid note: %d %v", code, m)
	}
	log := d.backendLog()
	if last := log[len(log)-1]; last.Path != "/api/notes" || last.Body != exact {
		t.Fatalf("the backend received %q at %s, want the exact body %q", last.Body, last.Path, exact)
	}
	if code, m := d.do("GET", "/api/notes/1/archive", "same-origin", "", ""); code != 200 || m["archived"] != true {
		t.Fatalf("archive with the token: %d %v", code, m)
	}
	if code, m := d.do("GET", "/api/notes", "cross-site", "", ""); code != 200 {
		t.Fatalf("a safe GET is not checked: %d %v", code, m)
	}
	if code, m := d.do("POST", "/hooks/payment", "cross-site", "application/json", `{"event":"paid"}`); code != 200 || m["received"] != "paid" {
		t.Fatalf("webhook from another site: %d %v", code, m)
	}

	// Step-up: a proof for the operation, from the gateway's reauth
	// endpoint after the backend confirmed the password.
	code, m := d.do("POST", "/.forgeproof/reauth", "same-origin", "application/json",
		`{"method":"POST","path":"/api/account/delete","password":"correct horse"}`)
	if code != 200 || m["proof"] == nil {
		t.Fatalf("reauth: %d %v", code, m)
	}
	if code, m := d.do("POST", "/api/account/delete", "same-origin", "", "", "X-Reauth-Proof", m["proof"].(string)); code != 200 || m["deleted"] != "alice" {
		t.Fatalf("sensitive with a proof: %d %v", code, m)
	}
}

// TestDescribedReportOnly lets invalid requests through in report-only
// mode, and reports them.
func TestDescribedReportOnly(t *testing.T) {
	backend := startNotes(t)
	d := newDescribed(t, backend, "protection:\n  report_only: true\n")
	d.signIn("bob")
	before := len(d.backendLog())
	if code, m := d.do("POST", "/api/notes", "same-origin", "application/json", `{"title":"x"}`); code != 201 {
		t.Fatalf("report-only, missing field: %d %v, want the backend's 201", code, m)
	}
	if code, m := d.do("POST", "/api/notes", "same-origin", "application/json", `{"title":"`+strings.Repeat("y", 5000)+`","priority":1}`); code != 201 {
		t.Fatalf("report-only, oversize: %d %v, want the backend's 201", code, m)
	}
	log := d.backendLog()
	if len(log) != before+2 || len(log[len(log)-1].Body) < 5000 {
		t.Fatalf("the backend got %d requests, the last body %d bytes; want both, whole", len(log)-before, len(log[len(log)-1].Body))
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	var reported []string
	for _, e := range d.events {
		if e.Decision == forgeproof.Denied && e.ReportOnly {
			reported = append(reported, e.Reason.String())
		}
	}
	if !strings.Contains(strings.Join(reported, " "), "request-invalid") || !strings.Contains(strings.Join(reported, " "), "request-too-large") {
		t.Fatalf("reported %v, want request-invalid and request-too-large", reported)
	}
}
