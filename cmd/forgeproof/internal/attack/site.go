package attack

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// front is the one TLS server behind every host name the browser is given:
// the attacker's sites and, for an in-process victim, the victim itself.
type front struct {
	victimHost  string       // "" when the victim is a deployment
	victim      http.Handler // nil when the victim is a deployment
	attackHosts map[string]bool

	mu       sync.Mutex
	inflight int
	log      []served           // requests to the victim
	signals  map[string]bool    // run ids that called done()
	pages    map[string]pageRun // run id → what to serve
}

// served is one request to the in-process victim and its answer.
type served struct {
	Method, Path string
	Status       int
	Reason       string // the "reason" of a problem+json rejection
}

func (s served) String() string {
	out := fmt.Sprintf("%s %s %d", s.Method, s.Path, s.Status)
	if s.Reason != "" {
		out += " " + s.Reason
	}
	return out
}

// pageRun is what one run of a case serves to the browser.
type pageRun struct {
	tmpl *template.Template
	data pageData
}

func newFront(victimHost string, victim http.Handler, attackHosts ...string) *front {
	f := &front{
		victimHost:  victimHost,
		victim:      victim,
		attackHosts: make(map[string]bool),
		signals:     make(map[string]bool),
		pages:       make(map[string]pageRun),
	}
	for _, h := range attackHosts {
		f.attackHosts[h] = true
	}
	return f
}

func (f *front) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	switch {
	case f.victim != nil && strings.EqualFold(host, f.victimHost):
		f.serveVictim(w, r)
	case f.attackHosts[strings.ToLower(host)]:
		f.serveAttacker(w, r)
	default:
		http.Error(w, "attack: unknown host "+host, http.StatusMisdirectedRequest)
	}
}

func (f *front) serveVictim(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.inflight++
	f.mu.Unlock()
	rec := &recorder{ResponseWriter: w}
	defer func() {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.inflight--
		status := rec.status
		if status == 0 {
			status = http.StatusOK
		}
		if rec.hijacked {
			status = http.StatusSwitchingProtocols
		}
		f.log = append(f.log, served{Method: r.Method, Path: r.URL.Path, Status: status, Reason: rec.reason()})
	}()
	f.victim.ServeHTTP(rec, r)
}

// mark returns the length of the victim log, to read what comes after.
func (f *front) mark() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.log)
}

// since returns the victim requests served after mark, and how many are
// still being served.
func (f *front) since(mark int) ([]served, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]served(nil), f.log[mark:]...), f.inflight
}

func (f *front) signaled(run string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.signals[run]
}

func (f *front) setPage(run string, p pageRun) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pages[run] = p
}

func (f *front) serveAttacker(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	switch {
	case strings.HasPrefix(r.URL.Path, "/a/"):
		f.mu.Lock()
		p, ok := f.pages[r.URL.Query().Get("run")]
		f.mu.Unlock()
		if !ok {
			http.NotFound(w, r)
			return
		}
		var buf bytes.Buffer
		if err := p.tmpl.Execute(&buf, p.data); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(buf.Bytes())
	case r.URL.Path == "/done":
		f.mu.Lock()
		f.signals[r.URL.Query().Get("run")] = true
		f.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	case r.URL.Path == "/loot":
		io.Copy(io.Discard, io.LimitReader(r.Body, 1<<16))
		w.WriteHeader(http.StatusNoContent)
	case r.URL.Path == "/r307":
		to := r.URL.Query().Get("to")
		if u, err := url.Parse(to); err != nil || u.Scheme != "https" {
			http.Error(w, "bad redirect target", http.StatusBadRequest)
			return
		}
		http.Redirect(w, r, to, http.StatusTemporaryRedirect)
	default:
		http.NotFound(w, r)
	}
}

// recorder notes the status of a victim's answer and keeps the start of a
// problem+json body to name the rejection's reason. It passes hijacking
// (WebSocket) and flushing through.
type recorder struct {
	http.ResponseWriter
	status   int
	problem  bool
	body     []byte
	hijacked bool
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
		r.problem = strings.HasPrefix(r.Header().Get("Content-Type"), "application/problem+json")
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.status == 0 {
		r.WriteHeader(http.StatusOK)
	}
	if r.problem && len(r.body) < 4096 {
		r.body = append(r.body, p[:min(len(p), 4096-len(r.body))]...)
	}
	return r.ResponseWriter.Write(p)
}

func (r *recorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (r *recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := r.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, fmt.Errorf("attack: the connection cannot be hijacked")
	}
	r.hijacked = true
	return h.Hijack()
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

func (r *recorder) reason() string {
	if !r.problem {
		return ""
	}
	var p struct {
		Reason string `json:"reason"`
	}
	if json.Unmarshal(r.body, &p) != nil {
		return ""
	}
	return p.Reason
}

// pageData is what an attacker's page template sees.
type pageData struct {
	V      string // the target's origin
	T      Target
	Run    string
	Host   string // the target's host name
	Token  string // the attacker's own token (StolenToken cases)
	Fields map[string]string

	GetPath   string
	GetFields map[string]string

	// PlainName and PlainValue make a text/plain form body that reads as
	// the target's JSON body: name + "=" + value.
	PlainName, PlainValue string

	FormDoc      string // an HTML document that auto-submits the form
	FormDataURL  string // the same document as a data: URL
	WebSocketURL string
}

const pagePrelude = `{{define "fields"}}{{range $k, $v := .}}<input type=hidden name="{{$k}}" value="{{$v}}">{{end}}{{end}}<!doctype html>
<meta charset=utf-8><title>attacker</title>
<script>function done() { fetch("/done?run=" + {{.Run}}, {method: "POST", keepalive: true}) }</script>
`

// compilePage parses a case's page.
func compilePage(c Case) (*template.Template, error) {
	return template.New(c.Name).Parse(pagePrelude + c.Page)
}

func newPageData(t Target, run, token string) pageData {
	fields := flatten(mustQuery(t.FormFields))
	d := pageData{
		V: t.Origin, T: t, Run: run, Host: t.Host(), Token: token, Fields: fields,
	}
	if t.GetURL != "" {
		if u, err := url.Parse(t.GetURL); err == nil {
			d.GetPath = u.Path
			d.GetFields = flatten(u.Query())
		}
	}
	body := strings.TrimSuffix(strings.TrimSpace(t.JSONBody), "}")
	d.PlainName = body + `,"pad":"`
	d.PlainValue = `"}`
	if body == "{" {
		d.PlainName = `{"pad":"`
	}

	var doc strings.Builder
	fmt.Fprintf(&doc, `<form method=POST action="%s">`, template.HTMLEscapeString(t.Origin+t.FormPath))
	for k, v := range fields {
		fmt.Fprintf(&doc, `<input type=hidden name="%s" value="%s">`, template.HTMLEscapeString(k), template.HTMLEscapeString(v))
	}
	doc.WriteString(`</form><script>document.forms[0].submit()</script>`)
	d.FormDoc = doc.String()
	d.FormDataURL = "data:text/html;base64," + base64.StdEncoding.EncodeToString([]byte(d.FormDoc))
	if t.WebSocketPath != "" {
		d.WebSocketURL = "wss://" + strings.TrimPrefix(t.Origin, "https://") + t.WebSocketPath
	}
	return d
}

func mustQuery(s string) url.Values {
	v, _ := url.ParseQuery(s) // checked by Target.check
	return v
}

func flatten(v url.Values) map[string]string {
	m := make(map[string]string, len(v))
	for k, vs := range v {
		if len(vs) > 0 {
			m[k] = vs[0]
		}
	}
	return m
}
