package browser_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/browser"
	"github.com/forgeproof/forgeproof/internal/testenv"
)

// site serves every test host from one TLS listener and logs what arrives.
type site struct {
	mu   sync.Mutex
	seen []string // "host METHOD path cookie=…"
}

func (s *site) log(r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen = append(s.seen, fmt.Sprintf("%s %s %s cookies=%q site=%s", r.Host, r.Method, r.URL.Path, cookieNames(r), r.Header.Get("Sec-Fetch-Site")))
}

func (s *site) lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.seen...)
}

func cookieNames(r *http.Request) string {
	var names []string
	for _, c := range r.Cookies() {
		names = append(names, c.Name)
	}
	return strings.Join(names, ",")
}

func (s *site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.log(r)
	switch r.Host + r.URL.Path {
	case "bank.test/set":
		http.SetCookie(w, &http.Cookie{Name: "__Host-sid", Value: "1", Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteNoneMode})
		http.SetCookie(w, &http.Cookie{Name: "lax", Value: "1", Path: "/", Secure: true, SameSite: http.SameSiteLaxMode})
		fmt.Fprint(w, `<title>set</title><p>ok`)
	case "bank.test/sink":
		fmt.Fprint(w, `<title>sink</title>`)
	case "evil.test/attack":
		fmt.Fprint(w, `<title>attack</title>
<form id=f method=POST action="https://bank.test/sink"><input name=a value=1></form>
<script>document.getElementById('f').submit()</script>`)
	case "evil.test/frame":
		fmt.Fprint(w, `<title>frame</title><iframe src="https://bank.test/sink" onload="document.title = 'loaded'"></iframe>`)
	case "evil.test/fetch":
		fmt.Fprint(w, `<title>fetch</title><script>
window.done = fetch("https://bank.test/sink", {method: "POST", headers: {"X-Custom": "1"}, credentials: "include"})
  .then(() => "sent", e => "failed: " + e.message);
</script>`)
	case "bank.test/late":
		// After the load event, a request whose answer comes late.
		fmt.Fprint(w, `<title>late</title><script>
addEventListener("load", () => setTimeout(() => fetch("/slow"), 100));
</script>`)
	case "bank.test/slow":
		time.Sleep(300 * time.Millisecond)
		fmt.Fprint(w, "done")
	case "bank.test/busy":
		fmt.Fprint(w, `<title>busy</title><script>setInterval(() => fetch("/sink"), 50)</script>`)
	default:
		http.NotFound(w, r)
	}
}

func TestBrowser(t *testing.T) {
	path := testenv.Chromium(t)
	ca, err := browser.NewCA("bank.test", "*.bank.test", "evil.test")
	if err != nil {
		t.Fatal(err)
	}
	s := &site{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: s, TLSConfig: ca.ServerConfig(), ErrorLog: nil}
	go srv.ServeTLS(l, "", "")
	t.Cleanup(func() { srv.Close() })

	addr := l.Addr().String()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := browser.Launch(ctx, browser.Options{
		ExecPath:  path,
		Hosts:     map[string]string{"bank.test": addr, "*.bank.test": addr, "evil.test": addr},
		TrustSPKI: []string{ca.SPKI()},
		Logf:      t.Logf,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := b.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}()

	t.Run("secure cookies and cross-site form", func(t *testing.T) {
		p := newProfile(t, b)
		tab := p.Tab()
		status, err := tab.Navigate("https://bank.test/set", 10*time.Second)
		if err != nil || status != 200 {
			t.Fatalf("Navigate = %d, %v; want 200", status, err)
		}
		var secure bool
		if err := tab.Eval("window.isSecureContext", &secure, 5*time.Second); err != nil || !secure {
			t.Fatalf("isSecureContext = %v, %v; want true", secure, err)
		}
		if _, err := tab.Navigate("https://evil.test/attack", 10*time.Second); err != nil {
			t.Fatal(err)
		}
		if err := tab.WaitFor(`document.title == "sink"`, 5*time.Second); err != nil {
			t.Fatalf("cross-site form did not land: %v", err)
		}
		want := `bank.test POST /sink cookies="__Host-sid" site=cross-site`
		if !contains(s.lines(), want) {
			t.Errorf("server saw:\n%s\nwant a line %q", strings.Join(s.lines(), "\n"), want)
		}
		var sawPost bool
		for _, r := range tab.Requests() {
			if r.Method == "POST" && r.URL == "https://bank.test/sink" && r.Status == 200 && r.Done {
				sawPost = true
			}
		}
		if !sawPost {
			t.Errorf("recorded requests %+v; want the POST to /sink with status 200", tab.Requests())
		}
	})

	t.Run("fresh profile has no cookies", func(t *testing.T) {
		p := newProfile(t, b)
		if _, err := p.Tab().Navigate("https://bank.test/sink", 10*time.Second); err != nil {
			t.Fatal(err)
		}
		lines := s.lines()
		if last := lines[len(lines)-1]; last != `bank.test GET /sink cookies="" site=none` {
			t.Errorf("last request %q; want one without cookies", last)
		}
	})

	t.Run("third-party cookies are sent", func(t *testing.T) {
		// DevTools profiles are incognito, which blocks third-party
		// cookies unless Launch turned that off.
		p := newProfile(t, b)
		tab := p.Tab()
		if _, err := tab.Navigate("https://bank.test/set", 10*time.Second); err != nil {
			t.Fatal(err)
		}
		if _, err := tab.Navigate("https://evil.test/frame", 10*time.Second); err != nil {
			t.Fatal(err)
		}
		if err := tab.WaitFor(`document.title == "loaded"`, 5*time.Second); err != nil {
			t.Fatal(err)
		}
		want := `bank.test GET /sink cookies="__Host-sid" site=cross-site`
		if !contains(s.lines(), want) {
			t.Errorf("server saw:\n%s\nwant a line %q", strings.Join(s.lines(), "\n"), want)
		}
	})

	t.Run("SetCookies", func(t *testing.T) {
		p := newProfile(t, b)
		err := p.SetCookies("https://bank.test/", []*http.Cookie{
			{Name: "__Host-set", Value: "1", Path: "/", Secure: true, HttpOnly: true, SameSite: http.SameSiteNoneMode},
			{Name: "shared", Value: "2", Domain: "bank.test", Path: "/", Secure: true, MaxAge: 60},
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Tab().Navigate("https://bank.test/sink", 10*time.Second); err != nil {
			t.Fatal(err)
		}
		lines := s.lines()
		if last, want := lines[len(lines)-1], `bank.test GET /sink cookies="__Host-set,shared" site=none`; last != want {
			t.Errorf("last request %q; want %q", last, want)
		}
	})

	t.Run("Settle", func(t *testing.T) {
		p := newProfile(t, b)
		tab := p.Tab()
		if _, err := tab.Navigate("https://bank.test/late", 10*time.Second); err != nil {
			t.Fatal(err)
		}
		// The request sent 100 ms after the load event is waited for, and
		// so is its answer.
		if err := tab.Settle(250*time.Millisecond, 5*time.Second); err != nil {
			t.Fatalf("Settle: %v", err)
		}
		var answered bool
		for _, r := range tab.Requests() {
			answered = answered || (strings.HasSuffix(r.URL, "/slow") && r.Status == 200)
		}
		if !answered {
			t.Errorf("Settle returned before /slow was answered: %+v", tab.Requests())
		}
		// A page that never stops sending does not settle.
		if _, err := tab.Navigate("https://bank.test/busy", 10*time.Second); err != nil {
			t.Fatal(err)
		}
		if err := tab.Settle(250*time.Millisecond, time.Second); err != browser.ErrTimeout {
			t.Errorf("Settle on a busy page = %v, want ErrTimeout", err)
		}
	})

	t.Run("preflight blocks a custom header", func(t *testing.T) {
		p := newProfile(t, b)
		tab := p.Tab()
		before := len(s.lines())
		if _, err := tab.Navigate("https://evil.test/fetch", 10*time.Second); err != nil {
			t.Fatal(err)
		}
		var res string
		if err := tab.Eval("window.done", &res, 5*time.Second); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(res, "failed") {
			t.Errorf("fetch = %q; want it to fail", res)
		}
		for _, l := range s.lines()[before:] {
			if strings.Contains(l, "POST /sink") {
				t.Errorf("the POST reached the server: %s", l)
			}
		}
		var blocked bool
		for _, r := range tab.Requests() {
			if r.URL == "https://bank.test/sink" && r.Blocked != "" {
				blocked = true
			}
		}
		if !blocked {
			t.Errorf("recorded requests %+v; want one blocked by CORS", tab.Requests())
		}
	})
}

// newProfile returns a new profile of b, closed when the test ends.
func newProfile(t *testing.T, b *browser.Browser) *browser.Profile {
	t.Helper()
	p, err := b.NewProfile()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

func contains(lines []string, want string) bool {
	for _, l := range lines {
		if l == want {
			return true
		}
	}
	return false
}

func TestHostRules(t *testing.T) {
	got := browser.HostRules(map[string]string{"evil.test": "127.0.0.1:1", "*.bank.test": "127.0.0.1:2", "bank.test": "127.0.0.1:2"})
	want := "MAP *.bank.test 127.0.0.1:2, MAP bank.test 127.0.0.1:2, MAP evil.test 127.0.0.1:1"
	if got != want {
		t.Errorf("HostRules = %q; want %q", got, want)
	}
}

func TestNewCA(t *testing.T) {
	if _, err := browser.NewCA(); err == nil {
		t.Error("NewCA() with no names: want an error")
	}
	ca, err := browser.NewCA("bank.test", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.TLS = ca.ServerConfig()
	srv.StartTLS()
	defer srv.Close()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: ca.ClientConfig()}}
	resp, err := client.Get(srv.URL) // https://127.0.0.1:port, verified against the CA
	if err != nil {
		t.Fatalf("a client trusting only the CA: %v", err)
	}
	resp.Body.Close()
	if len(ca.SPKI()) != 44 {
		t.Errorf("SPKI() = %q; want base64 of 32 bytes", ca.SPKI())
	}
}
