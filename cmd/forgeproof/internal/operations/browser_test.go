package operations_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/browser"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/browser/browsertest"
	"github.com/forgeproof/forgeproof/internal/testenv"
)

// evilPage forges requests to the notes service from another site: a
// text/plain form that carries JSON to the JSON-only operation, then a
// navigation to the state-changing GET.
const evilPage = `<!DOCTYPE html><html><body>
<form id=f method=post action="http://notes.test/api/notes" enctype="text/plain">
<input name='{"title":"forged","priority":1,"x":"' value='"}'>
</form>
<script>document.getElementById("f").submit()</script>
</body></html>`

// TestDescribedInChromium drives the notes service through the gateway,
// configured from its OpenAPI description, in Chromium: the page's own
// calls (with the client script's token) pass, an invalid body is refused
// with its pointer, the state-changing GET needs the token, and forged
// cross-site requests from another site never reach the backend.
func TestDescribedInChromium(t *testing.T) {
	testenv.Chromium(t)
	backend := startNotes(t)
	d := newDescribed(t, backend, "")
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		if r.URL.Path == "/nav" {
			io.WriteString(w, `<script>location.href = "http://notes.test/api/notes/1/archive"</script>`)
			return
		}
		io.WriteString(w, evilPage)
	}))
	defer evil.Close()

	tab := browsertest.Tab(t, browser.Options{Hosts: map[string]string{
		"notes.test": strings.TrimPrefix(d.url, "http://"),
		"evil.test":  strings.TrimPrefix(evil.URL, "http://"),
	}})
	if code, err := tab.Navigate("http://notes.test/", 10*time.Second); err != nil || code != 200 {
		t.Fatalf("page: %d %v", code, err)
	}
	if err := tab.WaitFor("window.forgeproof && window.call", 5*time.Second); err != nil {
		t.Fatal("the page has no client script")
	}
	type result struct {
		Status int
		Body   string
	}
	call := func(js string) result {
		t.Helper()
		var r result
		if err := tab.Eval(js, &r, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		return r
	}
	steps := []struct {
		name   string
		js     string
		status int
		has    string
	}{
		{"sign in", `call("POST", "/login", {user: "carol"})`, 200, `"carol"`},
		{"JSON-only operation", `call("POST", "/api/notes", {title: "from chromium", priority: 2})`, 201, `"from chromium"`},
		{"missing field", `call("POST", "/api/notes", {title: "no priority"})`, 400, `"pointer":"/priority"`},
		{"unsafe GET without the token", `call("GET", "/api/notes/1/archive")`, 403, `"token-missing"`},
		{"unsafe GET with the token", `forgeproof.token().then(t => fetch("/api/notes/1/archive", {headers: {"X-Forgeproof-Token": t}})).then(async r => ({status: r.status, body: await r.text()}))`, 200, `"archived":true`},
	}
	for _, s := range steps {
		r := call(s.js)
		if r.Status != s.status || !strings.Contains(r.Body, s.has) {
			t.Fatalf("%s: %d %s, want %d with %s", s.name, r.Status, r.Body, s.status, s.has)
		}
	}

	// Another site forges a form post, then a navigation to the
	// state-changing GET.
	if code, err := tab.Navigate("http://evil.test/", 10*time.Second); err != nil {
		t.Fatal(err)
	} else if code != 200 {
		t.Fatalf("evil page: %d", code)
	}
	landed := func(what, url string) {
		t.Helper()
		if err := browser.Until(10*time.Second, func() (bool, error) {
			u, err := tab.URL()
			return err == nil && u == url, nil
		}); err != nil {
			t.Fatalf("%s: the browser did not go to %s", what, url)
		}
		var text string
		if err := browser.Until(5*time.Second, func() (bool, error) {
			err := tab.Eval(`document.body ? document.body.innerText : ""`, &text, time.Second)
			return err == nil && text != "", nil
		}); err != nil || !strings.Contains(text, `"status":403`) {
			t.Fatalf("%s: %q, want a refusal", what, text)
		}
		// Over plain HTTP Chromium sends no Sec-Fetch-Site: the Origin
		// header (POST) or the Referer (GET navigation) gives the site away.
		if !strings.Contains(text, "mismatch") && !strings.Contains(text, "cross-site") {
			t.Fatalf("%s: %q, want a cross-site reason", what, text)
		}
	}
	landed("forged form", "http://notes.test/api/notes")
	if _, err := tab.Navigate("http://evil.test/nav", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	landed("cross-site navigation to the state-changing GET", "http://notes.test/api/notes/1/archive")
	archives := 0
	for _, e := range d.backendLog() {
		if strings.Contains(e.Body, "forged") {
			t.Errorf("the backend received the forged note: %+v", e)
		}
		if strings.HasSuffix(e.Path, "/archive") {
			archives++
		}
		if e.Path == "/api/notes" && strings.Contains(e.Body, "no priority") {
			t.Errorf("the backend received the invalid note")
		}
	}
	if archives != 1 {
		t.Errorf("the backend archived %d times, want once (the page's own call)", archives)
	}
}
