package checks_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/operations/rule"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/report"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/scan/checks"
)

// TestFixtures runs every check on each fixture in testdata/ and compares
// the ids reported with the fixture's "want:" line. A fixture is a txtar
// archive whose sections describe what a scan saw:
//
//	-- probes METHOD PATH [token] --   one "probe[:content-type] status body" per line
//	-- page PATH --                    a raw HTTP response to a GET
//	-- setcookie PATH --               Set-Cookie values of the login response
//	-- cors PATH ORIGIN --             response headers to a preflight from ORIGIN
//	-- tokens --                       "pre TOKEN" and "post TOKEN" around login
//	-- declared --                     "METHOD PATH operationId" lines
//	-- geteffect PATH OBSERVER --      GET PATH changed GET OBSERVER's answer
//	-- observers --                    how many read-backs judged GETs
//	-- policy METHOD PATH --            the op's declared x-forgeproof, "key value" lines
//
// A comment line "detail: TEXT" requires TEXT in the detail of every
// finding reported.
//
// A body "problem:REASON" stands for a forgeproof problem+json rejection.
func TestFixtures(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.txtar")
	if len(files) == 0 {
		t.Fatal("no fixtures")
	}
	covered := map[string]bool{}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			pass, want := fixture(t, ar)
			var got []string
			pass.Report = func(f report.Finding) {
				got = append(got, f.Check)
				for _, line := range strings.Split(string(ar.Comment), "\n") {
					if text, ok := strings.CutPrefix(line, "detail: "); ok && !strings.Contains(f.Evidence.Detail, text) {
						t.Errorf("finding %s: detail %q does not say %q", f.Check, f.Evidence.Detail, text)
					}
				}
				if f.Doc != checks.DocBase+f.Check+".md" || f.Title == "" || f.Evidence.Detail == "" {
					t.Errorf("finding %s lacks doc, title or detail: %+v", f.Check, f)
				}
				if slices.Contains(checks.AttackProbes, f.Evidence.Probe) && !strings.Contains(f.PoC, "<form") && !strings.Contains(f.PoC, "&lt;form") {
					t.Errorf("active finding %s has no proof-of-concept form", f.Check)
				}
			}
			for _, c := range checks.All {
				c.Run(c, pass)
			}
			got = uniq(got)
			if !slices.Equal(got, want) {
				t.Errorf("reported %v, want %v", got, want)
			}
			for _, id := range want {
				covered[id] = true
			}
		})
	}
	for _, c := range checks.All {
		if !covered[c.ID] {
			t.Errorf("no fixture expects check %s", c.ID)
		}
	}
}

func uniq(s []string) []string {
	sort.Strings(s)
	return slices.Compact(s)
}

func fixture(t *testing.T, ar *txtar.Archive) (*checks.Pass, []string) {
	t.Helper()
	target, _ := url.Parse("http://bank.test")
	var want []string
	for _, line := range strings.Split(string(ar.Comment), "\n") {
		if v, ok := strings.CutPrefix(line, "want:"); ok {
			want = strings.Fields(v)
		}
		if v, ok := strings.CutPrefix(line, "target:"); ok {
			target, _ = url.Parse(strings.TrimSpace(v))
		}
	}
	sort.Strings(want)
	p := &checks.Pass{Target: target}
	for _, f := range ar.Files {
		fields := strings.Fields(f.Name)
		lines := strings.Split(strings.TrimRight(string(f.Data), "\n"), "\n")
		switch fields[0] {
		case "probes":
			op := &checks.Op{Method: fields[1], Path: fields[2], Token: len(fields) > 3, Probes: map[string]*checks.Exchange{}}
			for _, line := range lines {
				ex := exchange(t, target, op, line)
				if ex.Probe == checks.ProbeBaseline {
					ex.Accepted = ex.Status < 400 && ex.Reason == ""
					op.Baseline = ex
					continue
				}
				checks.Judge(op.Baseline, ex)
				op.Probes[ex.Probe] = ex
			}
			p.Ops = append(p.Ops, op)
		case "page":
			u := target.ResolveReference(&url.URL{Path: fields[1]})
			resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(strings.ReplaceAll(string(f.Data), "\n", "\r\n"))), nil)
			if err != nil {
				t.Fatal(err)
			}
			body := string(f.Data)
			_, body, _ = strings.Cut(body, "\n\n")
			p.Pages = append(p.Pages, &checks.Page{URL: u, Status: resp.StatusCode, Header: resp.Header, Body: []byte(body)})
		case "setcookie":
			p.LoginPath = fields[1]
			for _, line := range lines {
				c, err := http.ParseSetCookie(line)
				if err != nil {
					t.Fatal(err)
				}
				p.SetCookies = append(p.SetCookies, checks.SetCookie{Cookie: c, Login: true, Path: fields[1]})
			}
		case "cors":
			h := http.Header{}
			for _, line := range lines {
				k, v, _ := strings.Cut(line, ":")
				h.Add(k, strings.TrimSpace(v))
			}
			req := &checks.Request{Method: "OPTIONS", URL: target.ResolveReference(&url.URL{Path: fields[1]}), Header: http.Header{"Origin": {fields[2]}}}
			p.CORS = append(p.CORS, &checks.Exchange{Probe: "cors", Request: req, Status: 204, Header: h})
		case "tokens":
			for _, line := range lines {
				k, v, _ := strings.Cut(line, " ")
				if k == "pre" {
					p.PreLogin = v
				} else {
					p.PostLogin = v
				}
			}
			p.LoginPath = "/login"
		case "geteffect":
			// geteffect PATH OBSERVER-PATH: GET PATH changed what the
			// observer answers.
			req := &checks.Request{Method: "GET", URL: target.ResolveReference(&url.URL{Path: fields[1]}), Header: http.Header{}}
			p.GetEffects = append(p.GetEffects, checks.GetEffect{Path: fields[1], Observer: "GET " + fields[2], Exchange: &checks.Exchange{Probe: checks.ProbeGetEffect, Request: req, Status: 200, Header: http.Header{}}})
			p.Observers = 1
		case "observers":
			p.Observers, _ = strconv.Atoi(strings.TrimSpace(lines[0]))
		case "policy":
			var op *checks.Op
			for _, o := range p.Ops {
				if o.Method == fields[1] && o.Path == fields[2] {
					op = o
				}
			}
			if op == nil {
				t.Fatalf("policy for %s %s, which has no probes section before it", fields[1], fields[2])
			}
			op.Policy = &rule.Rule{}
			for _, line := range lines {
				k, v, _ := strings.Cut(line, " ")
				switch k {
				case "json_only":
					op.Policy.JSONOnly = true
				case "require_header":
					op.Policy.RequireHeader = v
				case "one_time_tokens":
					op.Policy.OneTimeTokens = true
				case "reauth_max_age":
					op.Policy.ReauthMaxAge, _ = time.ParseDuration(v)
				case "unsafe":
					op.Policy.Unsafe = true
				case "report_only":
					op.Policy.ReportOnly = true
				case "bypass":
					op.Policy.Bypass = true
				case "roles":
					op.Policy.Roles = strings.Fields(v)
				default:
					t.Fatalf("unknown policy key %q", k)
				}
			}
		case "declared":
			for _, line := range lines {
				f := strings.Fields(line)
				p.Declared = append(p.Declared, checks.Declared{Method: f[0], Path: f[1], OperationID: f[2]})
			}
		default:
			t.Fatalf("unknown section %q", f.Name)
		}
	}
	return p, want
}

func exchange(t *testing.T, target *url.URL, op *checks.Op, line string) *checks.Exchange {
	t.Helper()
	f := strings.SplitN(line, " ", 3)
	if len(f) < 3 {
		t.Fatalf("bad probe line %q", line)
	}
	probe, ct, _ := strings.Cut(f[0], ":")
	status, err := strconv.Atoi(f[1])
	if err != nil {
		t.Fatal(err)
	}
	ex := &checks.Exchange{Probe: probe, Status: status, Header: http.Header{}, Body: []byte(f[2]), ContentType: ct}
	if r, ok := strings.CutPrefix(f[2], "problem:"); ok {
		ex.Reason = r
	}
	method := "POST"
	if strings.HasPrefix(probe, "get") || probe == checks.ProbeOverrideGet || probe == checks.ProbeOverrideHeader || probe == checks.ProbePolicyCrossSiteGet {
		method = "GET"
	}
	if probe == checks.ProbeBaseline {
		method = op.Method
	}
	h := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	if ct != "" {
		h.Set("Content-Type", ct)
	}
	ex.Request = &checks.Request{Method: method, URL: target.ResolveReference(&url.URL{Path: op.Path, RawQuery: "to=bob"}), Header: h, Body: []byte("to=bob&amount=5")}
	if ct == "text/plain" {
		ex.Request.Body, _ = checks.TextPlainJSON([]byte(`{"to":"bob"}`))
	}
	return ex
}

// TestDocs checks that every check has its documentation page.
func TestDocs(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range checks.All {
		if seen[c.ID] {
			t.Errorf("duplicate check id %s", c.ID)
		}
		seen[c.ID] = true
		if _, err := os.Stat(filepath.Join("..", "..", "..", "..", "..", "docs", "checks", c.ID+".md")); err != nil {
			t.Errorf("check %s: %v", c.ID, err)
		}
	}
}

func TestSimilarity(t *testing.T) {
	tests := []struct {
		name     string
		a, b     string
		min, max float64
	}{
		{"identical", `{"ok":true}`, `{"ok":true}`, 1, 1},
		{"both empty", "", "  ", 1, 1},
		{"ids and tokens differ", `{"ok":true,"transfer":17,"id":"a1b2c3d4e5f6a7b8c9"}`, `{"ok":true,"transfer":18,"id":"ffeeddccbbaa99887766"}`, 1, 1},
		{"error versus success", `{"ok":true,"transfer":1}`, `{"error":"bad token"}`, 0, 0.1},
		{"one empty", `{"ok":true}`, ``, 0, 0},
		{"mostly alike", "<p>Transfer 1: sent 5 to bob.</p>", "<p>Transfer 2: sent 5 to carol.</p>", 0.6, 0.9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := checks.Similarity([]byte(tt.a), []byte(tt.b))
			if s < tt.min || s > tt.max {
				t.Errorf("Similarity = %.2f, want in [%.2f, %.2f]", s, tt.min, tt.max)
			}
			if r := checks.Similarity([]byte(tt.b), []byte(tt.a)); r != s {
				t.Errorf("not symmetric: %.2f and %.2f", s, r)
			}
		})
	}
}

func TestTextPlainJSON(t *testing.T) {
	got, ok := checks.TextPlainJSON([]byte(`{"to":"bob"}`))
	if !ok || string(got) != `{"to":"bob","forgeproof_pad":"="}` {
		t.Errorf("got %s, %v", got, ok)
	}
	if got, _ := checks.TextPlainJSON([]byte(`{}`)); string(got) != `{"forgeproof_pad":"="}` {
		t.Errorf("empty object: %s", got)
	}
	if _, ok := checks.TextPlainJSON([]byte(`[1]`)); ok {
		t.Error("an array was accepted")
	}
}

func BenchmarkSimilarity(b *testing.B) {
	a := []byte(strings.Repeat(`{"ok":true,"transfer":17,"to":"bob","amount":5} `, 200))
	c := []byte(strings.Repeat(`{"ok":true,"transfer":18,"to":"bob","amount":5} `, 200))
	b.ReportAllocs()
	for b.Loop() {
		checks.Similarity(a, c)
	}
}

func FuzzTextPlainJSON(f *testing.F) {
	for _, s := range []string{`{"to":"bob"}`, `{}`, ` {"a":[1,2]} `, `[1]`, `"x"`, `{"a":"="}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		out, ok := checks.TextPlainJSON(body)
		if !ok {
			return
		}
		// What the form sends must still be JSON, and split at its first
		// "=" it must give back exactly the body as name=value.
		if !json.Valid(out) {
			t.Errorf("TextPlainJSON(%q) = %q, not JSON", body, out)
		}
		if !strings.Contains(string(out), "=") {
			t.Errorf("TextPlainJSON(%q) = %q has no '='", body, out)
		}
	})
}

func TestDumpRequestRedactsCookies(t *testing.T) {
	u, _ := url.Parse("https://bank.test/transfer?x=1")
	r := &checks.Request{Method: "POST", URL: u, Header: http.Header{"Cookie": {"session=s3cr3t; theme=dark"}, "Origin": {"null"}}, Body: []byte("to=bob")}
	got := checks.DumpRequest(r)
	want := "POST /transfer?x=1 HTTP/1.1\r\nHost: bank.test\r\nCookie: session=…; theme=…\r\nOrigin: null\r\n\r\nto=bob"
	if got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

// TestPassivePoC checks the pages of the CORS and framing findings.
func TestPassivePoC(t *testing.T) {
	target, _ := url.Parse("https://bank.test")
	u, _ := url.Parse("https://bank.test/api/balance")
	var pocs []string
	p := &checks.Pass{Target: target, Report: func(f report.Finding) { pocs = append(pocs, f.PoC) }}
	p.CORS = []*checks.Exchange{{Request: &checks.Request{Method: "OPTIONS", URL: u, Header: http.Header{"Origin": {"null"}}},
		Header: http.Header{"Access-Control-Allow-Origin": {"null"}, "Access-Control-Allow-Credentials": {"true"}}}}
	p.Pages = []*checks.Page{{URL: target, Status: 200, Header: http.Header{"Content-Type": {"text/html"}}}}
	checks.CORS.Run(checks.CORS, p)
	checks.SecurityHeaders.Run(checks.SecurityHeaders, p)
	if len(pocs) != 2 {
		t.Fatalf("%d findings, want 2", len(pocs))
	}
	if !strings.Contains(pocs[0], `<iframe sandbox="allow-scripts" srcdoc="`) || !strings.Contains(pocs[0], "credentials: &#34;include&#34;") {
		t.Errorf("CORS proof of concept:\n%s", pocs[0])
	}
	if !strings.Contains(pocs[1], `<iframe src="https://bank.test"`) {
		t.Errorf("framing proof of concept:\n%s", pocs[1])
	}
}

func TestPoC(t *testing.T) {
	u, _ := url.Parse("https://bank.test/api/transfer")
	op := &checks.Op{Method: "POST", Path: "/api/transfer"}
	tp, _ := checks.TextPlainJSON([]byte(`{"to":"mallory"}`))
	tests := []struct {
		name, probe, ct string
		body            []byte
		method          string
		want            []string
	}{
		{"json as text/plain", checks.ProbeCrossSite, "text/plain", tp, "POST",
			[]string{`enctype="text/plain"`, `name="{&#34;to&#34;:&#34;mallory&#34;,&#34;forgeproof_pad&#34;:&#34;"`, `value="&#34;}"`, ".submit()"}},
		{"origin null in a sandboxed frame", checks.ProbeOriginNull, "application/x-www-form-urlencoded", []byte("to=mallory"), "POST",
			[]string{`<iframe sandbox="allow-scripts allow-forms allow-top-navigation" srcdoc="`, `target=&#34;_top&#34;`}},
		{"no referrer", checks.ProbeNoReferer, "application/x-www-form-urlencoded", []byte("to=mallory"), "POST",
			[]string{`<meta name="referrer" content="no-referrer">`, `<input type="hidden" name="to" value="mallory">`}},
		{"navigation", checks.ProbeGet, "", nil, "GET",
			[]string{`method="GET" action="https://bank.test/api/transfer"`, `name="to" value="mallory"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ru := *u
			if tt.method == "GET" {
				ru.RawQuery = "to=mallory"
			}
			ex := &checks.Exchange{Probe: tt.probe, Request: &checks.Request{Method: tt.method, URL: &ru, Header: http.Header{"Content-Type": {tt.ct}}, Body: tt.body}}
			poc := checks.PoC(op, ex)
			for _, w := range tt.want {
				if !strings.Contains(poc, w) {
					t.Errorf("PoC lacks %s:\n%s", w, poc)
				}
			}
		})
	}
}
