package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/browser"
	"github.com/forgeproof/forgeproof/internal/testenv"
)

// A framework is one of the real applications under testdata/frameworks,
// each with its own CSRF protection, driven through the gateway.
type framework struct {
	name          string
	sessionCookie string // the --session-cookie of the quick start, or ""
	preset        string // the --preset of the quick start, or ""
	slash         string // "/" when the framework's paths end in a slash
	start         func(t *testing.T, port int)
}

var frameworks = []framework{
	{name: "django", sessionCookie: "sessionid", slash: "/", start: startPython("django")},
	{name: "flask", sessionCookie: "session", start: startPython("flask")},
	{name: "express", sessionCookie: "connect.sid", start: startExpressApp},
	// Rails's cookie store encrypts the session anew on every response that
	// reads it: the preset binds tokens to no session cookie.
	{name: "rails", preset: "rails", start: startRails},
}

// quickStart returns the quick start's flag that names the framework.
func (fw framework) quickStart() []string {
	if fw.preset != "" {
		return []string{"--preset", fw.preset}
	}
	return []string{"--session-cookie", fw.sessionCookie}
}

// python returns Debian's python3, which has python3-django, python3-flask
// and python3-flaskext.wtf, in preference to another one on PATH.
func python(t *testing.T) string {
	if _, err := os.Stat("/usr/bin/python3"); err == nil {
		return "/usr/bin/python3"
	}
	return testenv.Require(t, "python3", "install it with: apt-get install -y python3-django python3-flask python3-flaskext.wtf")
}

// startPython starts testdata/frameworks/NAME/app.py on port.
func startPython(name string) func(t *testing.T, port int) {
	return func(t *testing.T, port int) {
		py := python(t)
		mod := map[string]string{"django": "django", "flask": "flask_wtf"}[name]
		if err := exec.Command(py, "-c", "import "+mod).Run(); err != nil {
			msg := fmt.Sprintf("%s cannot import %s; install it with: apt-get install -y python3-django python3-flask python3-flaskext.wtf", py, mod)
			if os.Getenv("CI") != "" || os.Getenv("FORGEPROOF_REQUIRE_ALL") != "" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
		testenv.Command(t, filepath.Join("testdata", "frameworks", name), py, "app.py", strconv.Itoa(port))
	}
}

// startExpressApp installs the Express application with npm ci (when its
// node_modules is missing or older than its lock file) and starts it.
func startExpressApp(t *testing.T, port int) {
	node := testenv.Require(t, "node", "install it with: apt-get install -y nodejs")
	dir, err := filepath.Abs(filepath.Join("testdata", "frameworks", "express"))
	if err != nil {
		t.Fatal(err)
	}
	testenv.NpmCI(t, dir)
	testenv.Command(t, dir, node, "server.js", strconv.Itoa(port))
}

// startRails starts the Rails application of testdata/frameworks/rails
// with Debian's rackup.
func startRails(t *testing.T, port int) {
	rackup := testenv.Rackup(t)
	testenv.Command(t, filepath.Join("testdata", "frameworks", "rails"), rackup,
		"-E", "production", "-o", "127.0.0.1", "-p", strconv.Itoa(port), "config.ru")
}

// appState is what each application's GET /state answers.
type appState struct {
	Notes  []map[string]string `json:"notes"`
	Likes  int                 `json:"likes"`
	Hooks  int                 `json:"hooks"`
	Resets int                 `json:"resets"`
	Logins int                 `json:"logins"`
}

// TestFrameworks puts each real framework application, unchanged, behind
// the gateway started with the README's quick-start command, and drives
// the user's flows in Chromium: sign in, post a form, call the JSON
// action, use the admin page, two tabs, sign out and in again. Each flow
// is checked in the application's own state. Forged requests from another
// site (a form, text/plain JSON, the application's CSRF-exempt webhook)
// are refused by the gateway and leave the state unchanged.
func TestFrameworks(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real framework applications and Chromium")
	}
	testenv.Chromium(t)
	evil := httptest.NewServer(http.HandlerFunc(attackPage))
	defer evil.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	b, err := browser.Launch(ctx, browser.Options{
		Hosts: map[string]string{"evil.test": strings.TrimPrefix(evil.URL, "http://")},
		// The quick start's certificate is a throwaway self-signed one.
		Flags: map[string]any{"ignore-certificate-errors": true},
	})
	cancel()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	for _, fw := range frameworks {
		t.Run(fw.name, func(t *testing.T) { testFramework(t, b, fw) })
	}
}

func testFramework(t *testing.T, b *browser.Browser, fw framework) {
	port := testenv.FreePort(t)
	fw.start(t, port)
	backend := "http://127.0.0.1:" + strconv.Itoa(port)
	if err := testenv.WaitTCP("127.0.0.1:"+strconv.Itoa(port), 30*time.Second); err != nil {
		t.Fatal(err)
	}
	state := func() appState {
		t.Helper()
		resp, err := http.Get(backend + "/state")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var s appState
		if err := json.NewDecoder(resp.Body).Decode(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}

	// The README's quick start, on free ports.
	addr := "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
	admin := "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	done := make(chan int, 1)
	args := append([]string{"serve", "--upstream", backend}, fw.quickStart()...)
	args = append(args, "--tls-self-signed", "--addr", addr, "--admin-addr", admin)
	go func() { done <- run(ctx, args, stdout, stderr) }()
	defer func() {
		cancel()
		<-done
		if t.Failed() {
			t.Logf("gateway log:\n%s", stderr)
		}
	}()
	if err := testenv.WaitTCP(admin, 15*time.Second); err != nil {
		t.Fatalf("%v\n%s", err, stderr)
	}
	gw := "https://localhost:" + strings.TrimPrefix(addr, "127.0.0.1:")
	p := func(path string) string { return path + fw.slash }

	prof, err := b.NewProfile()
	if err != nil {
		t.Fatal(err)
	}
	defer prof.Close()
	tab := prof.Tab()
	const wait = 15 * time.Second
	// step clicks an element and waits until the condition holds in the
	// page (a new page, when the click submits a form) and check holds in
	// the application's state.
	step := func(name string, tab *browser.Tab, click, until string, check func(appState) bool) {
		t.Helper()
		navigates := click != "like"
		// As a user would, act once the page's own requests (its
		// favicon, say) have their answers: one answered after a sign-in,
		// still carrying the old session, could replace the new session's
		// cookie (express-session does so for a session it just replaced).
		tab.Settle(200*time.Millisecond, 3*time.Second)
		if err := tab.Eval(`window.__step = true; document.getElementById(`+strconv.Quote(click)+`).click()`, nil, wait); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if navigates {
			until = `!window.__step && document.readyState === "complete" && ` + until
		}
		if until != "" {
			if err := tab.WaitFor(until, wait); err != nil {
				var html string
				tab.Eval(`document.documentElement.outerHTML`, &html, wait)
				t.Fatalf("%s: %q never held: %v\npage: %s", name, until, err, html)
			}
		}
		if check != nil {
			if err := browser.Until(wait, func() (bool, error) { return check(state()), nil }); err != nil {
				t.Fatalf("%s: application state %+v", name, state())
			}
		}
		t.Logf("%s: ok", name)
	}
	user := func(name string) string {
		return `document.getElementById("user") && document.getElementById("user").textContent === "` + name + `"`
	}
	navigate := func(tab *browser.Tab, url string) {
		t.Helper()
		if code, err := tab.Navigate(url, wait); err != nil || code != 200 {
			t.Fatalf("navigate to %s: %d %v", url, code, err)
		}
	}

	// The legitimate flows.
	navigate(tab, gw+"/")
	step("sign in", tab, "signin", user("alice"), func(s appState) bool { return s.Logins == 1 })
	step("post a form", tab, "post", user("alice"), func(s appState) bool { return len(s.Notes) == 1 })
	step("JSON fetch", tab, "like", `document.getElementById("likes").textContent.startsWith("200")`, func(s appState) bool { return s.Likes == 1 })
	navigate(tab, gw+p("/admin"))
	step("admin page", tab, "reset", user("alice"), func(s appState) bool { return s.Resets == 1 && s.Likes == 0 })
	tab2, err := prof.NewTab()
	if err != nil {
		t.Fatal(err)
	}
	navigate(tab2, gw+"/")
	step("second tab: post a form", tab2, "post", user("alice"), func(s appState) bool { return len(s.Notes) == 2 })
	step("first tab: JSON fetch", tab, "like", `document.getElementById("likes").textContent.startsWith("200")`, func(s appState) bool { return s.Likes == 1 })
	step("sign out", tab, "signout", user("signed out"), nil)
	step("sign in again", tab, "signin", user("alice"), func(s appState) bool { return s.Logins == 2 })
	step("after login: post a form", tab, "post", user("alice"), func(s appState) bool { return len(s.Notes) == 3 })
	step("after login: JSON fetch", tab, "like", `document.getElementById("likes").textContent.startsWith("200")`, func(s appState) bool { return s.Likes == 2 })
	navigate(tab2, gw+"/")
	step("second tab after login: JSON fetch", tab2, "like", `document.getElementById("likes").textContent.startsWith("200")`, func(s appState) bool { return s.Likes == 3 })

	// Forged requests from another site, in the signed-in profile.
	before := state()
	evilTab, err := prof.NewTab()
	if err != nil {
		t.Fatal(err)
	}
	for _, atk := range []struct{ name, kind, path string }{
		{"cross-site form", "form", p("/notes")},
		{"cross-site text/plain JSON", "plain", p("/api/like")},
		{"cross-site form to the exempt webhook", "form", p("/hook")},
		{"cross-site form to the admin action", "form", p("/admin/reset")},
	} {
		target := gw + atk.path
		navigate(evilTab, "http://evil.test/?kind="+atk.kind+"&target="+target)
		var status int
		err := browser.Until(wait, func() (bool, error) {
			for _, r := range evilTab.Requests() {
				if r.URL == target && (r.Done || r.Status != 0) {
					status = r.Status
					return true, nil
				}
			}
			return false, nil
		})
		if err != nil {
			t.Fatalf("%s: the forged request was not sent: %+v", atk.name, evilTab.Requests())
		}
		if status != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403 from the gateway", atk.name, status)
		}
		t.Logf("%s: refused", atk.name)
	}
	after := state()
	if len(after.Notes) != len(before.Notes) || after.Likes != before.Likes || after.Hooks != before.Hooks || after.Resets != before.Resets {
		t.Errorf("forged requests changed the application's state: %+v, then %+v", before, after)
	}
	if !strings.Contains(stderr.String(), `"reason":"sec-fetch-site-cross-site"`) {
		t.Errorf("the gateway logged no cross-site refusal:\n%s", stderr)
	}

	// A state-changing GET, declared unsafe in a configuration file beside
	// the same flags, with origin checks only: the site's own link works,
	// another site's navigation is refused. (Cookies ignore ports: the
	// profile is signed in on this gateway too.)
	file := filepath.Join(t.TempDir(), "forgeproof.yaml")
	cfg := "routes:\n  - pattern: \"GET /notes/\"\n    check_safe_methods: true\n    tokens: \"off\"\n"
	if err := os.WriteFile(file, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	addr2 := "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
	admin2 := "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
	ctx2, cancel2 := context.WithCancel(context.Background())
	stderr2 := &syncBuffer{}
	done2 := make(chan int, 1)
	args2 := append([]string{"serve", "--config", file, "--upstream", backend}, fw.quickStart()...)
	args2 = append(args2, "--tls-self-signed", "--addr", addr2, "--admin-addr", admin2)
	go func() { done2 <- run(ctx2, args2, &syncBuffer{}, stderr2) }()
	defer func() {
		cancel2()
		<-done2
		if t.Failed() {
			t.Logf("second gateway log:\n%s", stderr2)
		}
	}()
	if err := testenv.WaitTCP(admin2, 15*time.Second); err != nil {
		t.Fatalf("%v\n%s", err, stderr2)
	}
	gw2 := "https://localhost:" + strings.TrimPrefix(addr2, "127.0.0.1:")
	deletePath := "/notes/0/delete" + fw.slash
	n := len(state().Notes)
	evilTab.Navigate("http://evil.test/?kind=navigate&target="+gw2+deletePath, wait)
	if err := browser.Until(wait, func() (bool, error) { return strings.Contains(stderr2.String(), `"path":"`+deletePath+`"`), nil }); err != nil {
		t.Fatalf("cross-site navigation to the unsafe GET was not refused:\n%s", stderr2)
	}
	if got := len(state().Notes); got != n {
		t.Errorf("cross-site navigation to the declared-unsafe GET deleted a note: %d, then %d", n, got)
	}
	t.Logf("cross-site navigation to a declared-unsafe GET: refused")
	navigate(tab, gw2+"/")
	if err := tab.Eval(`window.__step = true; location.href = `+strconv.Quote(deletePath), nil, wait); err != nil {
		t.Fatal(err)
	}
	link := "same-origin link to a declared-unsafe GET"
	if err := browser.Until(wait, func() (bool, error) { return len(state().Notes) == n-1, nil }); err != nil {
		t.Fatalf("%s: notes %d, want %d\n%s", link, len(state().Notes), n-1, stderr2)
	}
	t.Logf("%s: ok", link)
}

// attackPage serves evil.test's forging page: kind "form" submits a
// cross-site form to target, "plain" posts JSON as text/plain with fetch.
func attackPage(w http.ResponseWriter, r *http.Request) {
	target := r.URL.Query().Get("target")
	q := strconv.Quote(target)
	w.Header().Set("Content-Type", "text/html")
	switch r.URL.Query().Get("kind") {
	case "form":
		fmt.Fprintf(w, `<!DOCTYPE html><form method="post" target="sink"><input name="text" value="forged"><input name="user" value="mallory"></form>
<iframe name="sink"></iframe><script>var f = document.forms[0]; f.action = %s; f.submit();</script>`, q)
	case "navigate":
		fmt.Fprintf(w, `<!DOCTYPE html><script>location = %s;</script>`, q)
	case "plain":
		fmt.Fprintf(w, `<!DOCTYPE html><script>fetch(%s, {method: "POST", mode: "no-cors", credentials: "include",
  headers: {"Content-Type": "text/plain"}, body: '{"n": 1}'});</script>`, q)
	}
}

// TestServeDetectsFramework checks that serve without --preset or
// --session-cookie names the framework whose cookies the backend sets,
// also when the backend redirects plain HTTP to HTTPS.
func TestServeDetectsFramework(t *testing.T) {
	for _, tt := range []struct {
		cookie, preset string
		forceSSL       bool // redirect plain HTTP, as Rails's force_ssl does
	}{
		{"csrftoken", "django", false},
		{"_shop_session", "rails", false},
		{"_shop_session", "rails", true},
		{"", "", false},
	} {
		backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if tt.forceSSL && r.Header.Get("X-Forwarded-Proto") != "https" {
				http.Redirect(w, r, "https://"+r.Host+r.URL.Path, http.StatusMovedPermanently)
				return
			}
			if tt.cookie != "" {
				http.SetCookie(w, &http.Cookie{Name: tt.cookie, Value: "v"})
			}
		}))
		p, cookie, ok := detectPreset(context.Background(), backend.URL, true)
		backend.Close()
		if p != tt.preset || ok != (tt.preset != "") || (ok && cookie != tt.cookie) {
			t.Errorf("cookie %q: detected %q (%q), %v; want %q", tt.cookie, p, cookie, ok, tt.preset)
		}
	}
}
