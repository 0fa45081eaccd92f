package forgeproof_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/forgeproof/forgeproof"
	"github.com/forgeproof/forgeproof/internal/testenv"
)

// The differential dispatch test sends a corpus of spellings of the paths
// of a small application's handlers to real routers on loopback (Express
// 5, Django, Flask/Werkzeug, Go's ServeMux) and to a model of Tomcat's
// documented normalization, and learns which handler each router runs for
// each spelling. Whenever some router runs a protected handler, forgeproof
// must apply that handler's route rules to the request, and never its
// bypass.

// routerHandlers maps each handler of the test applications to the
// forgeproof route that describes it.
var routerRoutes = []forgeproof.Route{
	{Pattern: "POST /transfer", JSONOnly: true},
	{Pattern: "/admin/users", RequireHeader: "X-Admin"},
	{Pattern: "POST /api/items/{id}", RequireHeader: "X-Items"},
	{Pattern: "/hooks/stripe", InsecureBypass: true},
}

// protectedHandlers are the handlers whose rules must never be escaped.
var protectedHandlers = []string{"transfer", "admin", "items"}

// dispatchCorpus returns spellings of the applications' paths: case,
// trailing slashes and dots, ;params, dot segments plain and encoded,
// encoded and doubled slashes, backslashes, overlong UTF-8, Unicode
// letters that fold to ASCII, and pairs of these.
func dispatchCorpus() []string {
	bases := []string{"/transfer", "/admin/users", "/api/items/7", "/hooks/stripe"}
	type tf func(string) string
	lastSeg := func(p string) int { return strings.LastIndex(strings.TrimRight(p, "/"), "/") + 1 }
	single := []tf{
		func(p string) string { return p },
		func(p string) string { i := lastSeg(p); return p[:i] + strings.ToUpper(p[i:i+1]) + p[i+1:] },
		strings.ToUpper,
		func(p string) string { return p + "/" },
		func(p string) string { return p + ";jsessionid=x" },
		func(p string) string { return p + ";" },
		func(p string) string { return "/" + strings.ReplaceAll(p[1:], "/", ";x/") + ";x" },
		func(p string) string { return "/x/.." + p },
		func(p string) string { return "/x/..;" + p },
		func(p string) string { return "/x/%2e%2e" + p },
		func(p string) string { return "/x/%2E%2E;" + p },
		func(p string) string { return "/x/.%2e" + p },
		func(p string) string { return "/." + p },
		func(p string) string { return "/" + p },
		func(p string) string { return "/" + strings.Replace(p[1:], "/", "//", 1) },
		func(p string) string { return p + "." },
		func(p string) string { return p + ".." },
		func(p string) string { return p + "%20" },
		func(p string) string { return p + "%2f" },
		func(p string) string { return "/" + strings.ReplaceAll(p[1:], "/", "%2F") },
		func(p string) string { return "/" + strings.ReplaceAll(p[1:], "/", "%5c") },
		func(p string) string { i := lastSeg(p); return p[:i] + fmt.Sprintf("%%%02x", p[i]) + p[i+1:] },
		func(p string) string { return "/x/%c0%ae%c0%ae" + p },
		func(p string) string { return strings.Replace(p, "s", "%C5%BF", 1) },    // ſ
		func(p string) string { return strings.Replace(p, "i", "%C4%B1", 1) },    // ı
		func(p string) string { return strings.Replace(p, "k", "%E2%84%AA", 1) }, // Kelvin sign
		func(p string) string { return "/hooks/stripe/../.." + p },
		func(p string) string { return "/hooks/..;" + p },
		func(p string) string { return "/hooks/%2e%2e" + p },
		func(p string) string { return "/hooks/stripe;/../.." + p },
		func(p string) string { return "/hooks/stripe%2f..%2f.." + p },
	}
	// Case, slash and ;params combined with each of the others.
	outer := []tf{single[1], single[2], single[3], single[4]}
	seen := map[string]bool{}
	var out []string
	add := func(s string) {
		if !seen[s] && !strings.ContainsAny(s, " \t") {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, b := range bases {
		for _, f := range single {
			add(f(b))
			for _, g := range outer {
				add(g(f(b)))
				add(f(g(b)))
			}
		}
	}
	return out
}

// A router is a real router on loopback, or a model of one.
type router struct {
	name     string
	dispatch func(t *testing.T, target string) string // the handler run for a POST to target, or ""
}

// rawPost sends a POST with the request-target exactly as given to addr,
// follows redirects that keep the method (307, 308), and returns the body
// of the answer (the handler's name) when it is 200, or "".
func rawPost(t *testing.T, addr, target string) string {
	t.Helper()
	for hop := 0; hop < 3; hop++ {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc", target, addr)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			c.Close()
			t.Fatalf("POST %s to %s: %v", target, addr, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		c.Close()
		switch resp.StatusCode {
		case http.StatusOK:
			return string(body)
		case http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
			loc, err := url.Parse(resp.Header.Get("Location"))
			if err != nil {
				return ""
			}
			target = loc.RequestURI()
			continue
		}
		return ""
	}
	return ""
}

func startRouters(t *testing.T) []router {
	var rs []router
	// Go's ServeMux, on a real loopback listener.
	mux := http.NewServeMux()
	named := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, name) }
	}
	mux.HandleFunc("POST /transfer", named("transfer"))
	mux.HandleFunc("/admin/users", named("admin"))
	mux.HandleFunc("POST /api/items/{id}", named("items"))
	mux.HandleFunc("/hooks/stripe", named("hooks"))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	goAddr := strings.TrimPrefix(srv.URL, "http://")
	rs = append(rs, router{"servemux", func(t *testing.T, target string) string { return rawPost(t, goAddr, target) }})

	dir := func(name string) string {
		d, err := filepath.Abs(filepath.Join("testdata", "routers", name))
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	expressAddr := loopback(testenv.StartNode(t, dir("express"), "server.js"))
	rs = append(rs, router{"express", func(t *testing.T, target string) string { return rawPost(t, expressAddr, target) }})

	py := testenv.Python(t, "install them with: apt-get install -y python3-django python3-flask", "django", "flask")
	djangoAddr := loopback(testenv.StartApp(t, dir("django"), py, "app.py"))
	rs = append(rs, router{"django", func(t *testing.T, target string) string { return rawPost(t, djangoAddr, target) }})
	flaskAddr := loopback(testenv.StartApp(t, dir("flask"), py, "app.py"))
	rs = append(rs, router{"flask", func(t *testing.T, target string) string { return rawPost(t, flaskAddr, target) }})

	rs = append(rs, router{"tomcat (model)", func(t *testing.T, target string) string { return tomcatDispatch(target) }})
	return rs
}

// TestDifferentialDispatch is the differential test described above.
func TestDifferentialDispatch(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Node.js and Python applications")
	}
	routers := startRouters(t)
	p, err := forgeproof.New(forgeproof.Config{Tokens: forgeproof.TokensOff, Routes: routerRoutes})
	if err != nil {
		t.Fatal(err)
	}
	reached := map[string]map[string]bool{} // router → handlers reached over the corpus
	corpus := dispatchCorpus()
	var protectedVariants int
	for _, target := range corpus {
		handlers := map[string][]string{} // handler → routers that ran it
		for _, rt := range routers {
			h := rt.dispatch(t, target)
			if h == "" || h == "none" {
				continue
			}
			handlers[h] = append(handlers[h], rt.name)
			if reached[rt.name] == nil {
				reached[rt.name] = map[string]bool{}
			}
			reached[rt.name][h] = true
		}
		protected := false
		for _, h := range protectedHandlers {
			by, ok := handlers[h]
			if !ok {
				continue
			}
			protected = true
			// Every other rule satisfied, this handler's broken.
			hdr := map[string][2]string{
				"transfer": {"Content-Type", "text/plain"},
				"admin":    {"X-Admin", ""},
				"items":    {"X-Items", ""},
			}
			want := map[string]forgeproof.Reason{
				"transfer": forgeproof.ReasonContentTypeNotAllowed,
				"admin":    forgeproof.ReasonHeaderMissing,
				"items":    forgeproof.ReasonHeaderMissing,
			}[h]
			r := parsedPost(t, target, "same-origin", hdr[h])
			if got := reasonOf(t, p, r); got != want {
				t.Errorf("%s runs the %s handler for POST %s, but forgeproof's verdict is %q, want %q", strings.Join(by, ", "), h, target, got, want)
			}
		}
		if protected {
			protectedVariants++
			if got := reasonOf(t, p, parsedPost(t, target, "cross-site", [2]string{})); got == forgeproof.ReasonNone {
				t.Errorf("POST %s reaches a protected handler (%v) but a cross-site request is let through", target, handlers)
			}
		}
	}
	t.Logf("%d variants, %d of them reach a protected handler in some router", len(corpus), protectedVariants)
	for _, rt := range routers {
		for _, h := range append(slices.Clone(protectedHandlers), "hooks") {
			if !reached[rt.name][h] {
				t.Errorf("%s never ran the %s handler: the fixture is broken", rt.name, h)
			}
		}
	}
}

// parsedPost returns the request that a Go server reads for a POST to
// target, with the given Sec-Fetch-Site, every route's required header,
// a JSON body, and then hdr set (a header cleared when its value is "").
func parsedPost(t *testing.T, target, site string, hdr [2]string) *http.Request {
	t.Helper()
	raw := "POST " + target + " HTTP/1.1\r\nHost: bank.test\r\nContent-Type: application/json\r\nContent-Length: 2\r\n" +
		"Sec-Fetch-Site: " + site + "\r\nX-Admin: 1\r\nX-Items: 1\r\n\r\n{}"
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw)))
	if err != nil {
		t.Fatalf("a Go server refuses POST %s: %v", target, err)
	}
	if hdr[0] != "" {
		if hdr[1] == "" {
			r.Header.Del(hdr[0])
		} else {
			r.Header.Set(hdr[0], hdr[1])
		}
	}
	return r
}

// tomcatPath normalizes a request-target's path as Tomcat documents
// (CoyoteAdapter): ";params" are removed from every segment, the path is
// then percent-decoded ("%2F" and "%5C" are refused by default), repeated
// slashes are merged, and "." and ".." segments are resolved; a path that
// climbs above the root is refused. It returns "" for a refused path.
func tomcatPath(target string) string {
	p, _, _ := strings.Cut(target, "?")
	var b strings.Builder
	for i, seg := range strings.Split(p, "/") {
		if i > 0 {
			b.WriteByte('/')
		}
		seg, _, _ = strings.Cut(seg, ";")
		b.WriteString(seg)
	}
	p = b.String()
	lower := strings.ToLower(p)
	if strings.Contains(lower, "%2f") || strings.Contains(lower, "%5c") || strings.Contains(p, "\\") {
		return ""
	}
	d, err := url.PathUnescape(p)
	if err != nil {
		return ""
	}
	var out []string
	segs := strings.Split(d, "/")
	for i, s := range segs {
		switch s {
		case "", ".":
			if i == len(segs)-1 {
				out = append(out, "") // keep a trailing slash
			}
		case "..":
			if len(out) == 0 {
				return ""
			}
			out = out[:len(out)-1]
		default:
			out = append(out, s)
		}
	}
	return "/" + strings.Join(out, "/")
}

// tomcatDispatch is the handler that a Spring MVC application on Tomcat
// with the test application's mappings runs for a POST to target: Spring's
// matching is case-sensitive and, as in Spring 5, ignores a trailing slash.
func tomcatDispatch(target string) string {
	p := strings.TrimSuffix(tomcatPath(target), "/")
	switch {
	case p == "/transfer":
		return "transfer"
	case p == "/admin/users":
		return "admin"
	case strings.HasPrefix(p, "/api/items/") && !strings.Contains(p[len("/api/items/"):], "/") && len(p) > len("/api/items/"):
		return "items"
	case p == "/hooks/stripe":
		return "hooks"
	}
	return ""
}

// TestTomcatPath pins the Tomcat model to the examples of Tomcat's
// documentation and security advisories.
func TestTomcatPath(t *testing.T) {
	tests := []struct{ in, want string }{
		{"/transfer", "/transfer"},
		{"/transfer;jsessionid=ABC", "/transfer"},
		{"/a;x/b;y", "/a/b"},
		{"/a/..;/transfer", "/transfer"},     // CVE-2018-1271-style traversal past a proxy
		{"/a/%2e%2e/transfer", "/transfer"},  // decoded, then normalized
		{"/a/%2e%2e;/transfer", "/transfer"}, //
		{"/a//b", "/a/b"},                    // repeated slashes merged
		{"/a/./b/", "/a/b/"},                 //
		{"/a%2fb", ""},                       // ALLOW_ENCODED_SLASH is false by default
		{"/a%5cb", ""},                       // ALLOW_BACKSLASH is false by default
		{"/..;/x", ""},                       // above the root
		{"/a%3bx/b", "/a;x/b"},               // an encoded ; is not a parameter
	}
	for _, tt := range tests {
		if got := tomcatPath(tt.in); got != tt.want {
			t.Errorf("tomcatPath(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// loopback returns the host:port on 127.0.0.1 of an application that
// testenv.StartApp started at origin (http://localhost:PORT).
func loopback(origin string) string {
	return "127.0.0.1" + strings.TrimPrefix(origin, "http://localhost")
}
