package forgeproof_test

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/forgeproof/forgeproof"
)

// A vector is one row of testdata/decision/vectors.json: a configuration,
// a request, and the verdict forgeproof must reach.
type vector struct {
	Name string `json:"name"`
	// Source names the published test or document the vector comes from.
	Source string `json:"source"`
	// Differs marks a vector whose verdict intentionally differs from its
	// source; Note says why.
	Differs bool   `json:"differs"`
	Note    string `json:"note"`

	Config  vectorConfig  `json:"config"`
	Request vectorRequest `json:"request"`
	Want    struct {
		Reason     string `json:"reason"`
		Safe       bool   `json:"safe"`
		Exempt     bool   `json:"exempt"`
		ReportOnly bool   `json:"report_only"`
		Vary       bool   `json:"vary"` // Vary: Origin, Sec-Fetch-Site added
	} `json:"want"`
}

type vectorConfig struct {
	Tokens            string        `json:"tokens"` // "off" (default here), "signed", "sync"
	PublicOrigins     []string      `json:"public_origins"`
	TrustedOrigins    []string      `json:"trusted_origins"`
	TrustedProxies    []string      `json:"trusted_proxies"`
	DenyMissingOrigin bool          `json:"deny_missing_origin"`
	ReportOnly        bool          `json:"report_only"`
	SessionCookie     string        `json:"session_cookie"`
	Routes            []vectorRoute `json:"routes"`
}

type vectorRoute struct {
	Pattern          string `json:"pattern"`
	Tokens           string `json:"tokens"`
	JSONOnly         bool   `json:"json_only"`
	RequireHeader    string `json:"require_header"`
	CheckSafeMethods bool   `json:"check_safe_methods"`
	InsecureBypass   bool   `json:"insecure_bypass"`
	ReportOnly       bool   `json:"report_only"`
	OneTimeTokens    bool   `json:"one_time"`
}

type vectorRequest struct {
	Method  string      `json:"method"`
	URL     string      `json:"url"` // scheme https gives a TLS request
	Host    string      `json:"host"`
	Remote  string      `json:"remote"`
	Headers [][2]string `json:"headers"` // in order; a name may repeat
	Body    string      `json:"body"`
	// Token is the token state: "" (none), "header", "form", "multipart",
	// "cookie-only", "token-only", "garbage", "other-session", "one-time"
	// (a token from OneTimeToken in the header), "one-time-reused" (the
	// same, already accepted once).
	Token string `json:"token"`
	// Session is the value of the session cookie ("sid").
	Session string `json:"session"`
}

func tokenMode(t *testing.T, s string) forgeproof.TokenMode {
	switch s {
	case "", "default":
		return forgeproof.TokensDefault
	case "off":
		return forgeproof.TokensOff
	case "signed":
		return forgeproof.SignedTokens
	case "sync":
		return forgeproof.SynchronizerTokens
	}
	t.Fatalf("unknown token mode %q", s)
	return 0
}

func (c vectorConfig) build(t *testing.T) forgeproof.Config {
	cfg := forgeproof.Config{
		Tokens:            forgeproof.TokensOff,
		PublicOrigins:     c.PublicOrigins,
		TrustedOrigins:    c.TrustedOrigins,
		TrustedProxies:    c.TrustedProxies,
		DenyMissingOrigin: c.DenyMissingOrigin,
		ReportOnly:        c.ReportOnly,
		SessionCookie:     c.SessionCookie,
	}
	if c.Tokens != "" {
		cfg.Tokens = tokenMode(t, c.Tokens)
	}
	for _, r := range c.Routes {
		cfg.Routes = append(cfg.Routes, forgeproof.Route{
			Pattern:          r.Pattern,
			Tokens:           tokenMode(t, r.Tokens),
			JSONOnly:         r.JSONOnly,
			RequireHeader:    r.RequireHeader,
			CheckSafeMethods: r.CheckSafeMethods,
			InsecureBypass:   r.InsecureBypass,
			ReportOnly:       r.ReportOnly,
			OneTimeTokens:    r.OneTimeTokens,
		})
	}
	return cfg
}

// newRequest builds the request without its token state.
func (vr vectorRequest) newRequest(body string) *http.Request {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(vr.Method, vr.URL, rd)
	if vr.Host != "" {
		r.Host = vr.Host
	}
	if vr.Remote != "" {
		r.RemoteAddr = vr.Remote
	}
	for _, kv := range vr.Headers {
		// Set the map directly, so that values that net/http would refuse
		// to send (non-ASCII, empty) reach the decision as they are.
		k := http.CanonicalHeaderKey(kv[0])
		r.Header[k] = append(r.Header[k], kv[1])
	}
	if vr.Session != "" {
		r.AddCookie(&http.Cookie{Name: "sid", Value: vr.Session})
	}
	return r
}

// build returns the request of vr with its token state, minting tokens
// with p, and the body the next handler must read.
func (vr vectorRequest) build(t *testing.T, p *forgeproof.Protection) (*http.Request, string) {
	t.Helper()
	if vr.Token == "" {
		return vr.newRequest(vr.Body), vr.Body
	}
	mintSession := vr.Session
	if vr.Token == "other-session" {
		mintSession = "mallory"
	}
	oneTime := strings.HasPrefix(vr.Token, "one-time")
	cookies, token := mint(t, p, vr.URL, mintSession, oneTime)
	if vr.Token == "one-time-reused" {
		first := vr.newRequest(vr.Body)
		for _, c := range cookies {
			first.AddCookie(c)
		}
		first.Header.Set("X-Forgeproof-Token", token)
		if err := p.Check(first); err != nil {
			t.Fatalf("first use of the one-time token: %v", err)
		}
	}
	body := vr.Body
	var contentType string
	switch vr.Token {
	case "form":
		body += "&forgeproof_token=" + url.QueryEscape(token)
	case "multipart":
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		form, _ := url.ParseQuery(vr.Body)
		for k, vs := range form {
			for _, v := range vs {
				mw.WriteField(k, v)
			}
		}
		mw.WriteField("forgeproof_token", token)
		mw.Close()
		body, contentType = b.String(), mw.FormDataContentType()
	}
	r := vr.newRequest(body)
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	if vr.Token != "token-only" {
		for _, c := range cookies {
			r.AddCookie(c)
		}
	}
	switch vr.Token {
	case "header", "token-only", "other-session", "one-time", "one-time-reused":
		r.Header.Set("X-Forgeproof-Token", token)
	case "garbage":
		r.Header.Set("X-Forgeproof-Token", "garbage")
	case "form", "multipart", "cookie-only":
	default:
		t.Fatalf("unknown token state %q", vr.Token)
	}
	return r, body
}

// mint asks p for a token (a one-time token if oneTime) on a GET of rawURL
// in the given session, as a page would, and returns the cookies it set and
// the masked token.
func mint(t *testing.T, p *forgeproof.Protection, rawURL, session string, oneTime bool) ([]*http.Cookie, string) {
	t.Helper()
	r := httptest.NewRequest("GET", rawURL, nil)
	if session != "" {
		r.AddCookie(&http.Cookie{Name: "sid", Value: session})
	}
	w := httptest.NewRecorder()
	get := p.Token
	if oneTime {
		get = p.OneTimeToken
	}
	token, err := get(w, r)
	if err != nil {
		t.Fatalf("minting a token: %v", err)
	}
	if token == "" {
		t.Fatal("Token returned an empty token")
	}
	return w.Result().Cookies(), token
}

func loadVectors(t *testing.T) []vector {
	t.Helper()
	data, err := os.ReadFile("testdata/decision/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var vs []vector
	if err := dec.Decode(&vs); err != nil {
		t.Fatalf("vectors.json: %v", err)
	}
	return vs
}

// TestDecisionVectors runs every vector through Check and through Handler
// and asserts the reason, the event, the response and what the next
// handler saw.
func TestDecisionVectors(t *testing.T) {
	vs := loadVectors(t)
	const minVectors = 80
	if len(vs) < minVectors {
		t.Fatalf("%d vectors, want at least %d", len(vs), minVectors)
	}
	t.Logf("%d decision vectors", len(vs))
	seen := make(map[string]bool)
	for _, v := range vs {
		if v.Name == "" || seen[v.Name] {
			t.Fatalf("vector name %q is empty or repeated", v.Name)
		}
		seen[v.Name] = true
		t.Run(v.Name, func(t *testing.T) {
			if v.Differs && (v.Note == "" || v.Source == "") {
				t.Fatal("a vector that differs from its source must name the source and say why in a note")
			}
			want, ok := forgeproof.ParseReason(v.Want.Reason)
			if !ok {
				t.Fatalf("unknown reason %q", v.Want.Reason)
			}
			var events []forgeproof.Event
			cfg := v.Config.build(t)
			cfg.OnDecision = func(e forgeproof.Event) { events = append(events, e) }
			p, err := forgeproof.New(cfg)
			if err != nil {
				t.Fatalf("New: %v", err)
			}

			// Check: the pure decision.
			r, _ := v.Request.build(t, p)
			err = p.Check(r)
			var got forgeproof.Reason
			if err != nil {
				fe, ok := err.(*forgeproof.Error)
				if !ok {
					t.Fatalf("Check returned %T, want *forgeproof.Error", err)
				}
				got = fe.Reason
				if fe.ReportOnly != v.Want.ReportOnly {
					t.Errorf("Check: Error.ReportOnly = %v, want %v", fe.ReportOnly, v.Want.ReportOnly)
				}
			}
			if got != want {
				t.Errorf("Check: reason %q, want %q", got, want)
			}
			if len(events) != 0 {
				t.Errorf("Check called OnDecision")
			}

			// Handler: the middleware.
			r, body := v.Request.build(t, p)
			reached := false
			var seenBody string
			h := p.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				reached = true
				b, _ := io.ReadAll(r.Body)
				seenBody = string(b)
				w.WriteHeader(http.StatusOK)
			}))
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)

			if len(events) != 1 {
				t.Fatalf("OnDecision called %d times, want once", len(events))
			}
			e := events[0]
			if e.Reason != want || e.Safe != v.Want.Safe || e.Exempt != v.Want.Exempt || e.ReportOnly != v.Want.ReportOnly {
				t.Errorf("event {Reason %q Safe %v Exempt %v ReportOnly %v}, want {%q %v %v %v}",
					e.Reason, e.Safe, e.Exempt, e.ReportOnly, want, v.Want.Safe, v.Want.Exempt, v.Want.ReportOnly)
			}
			if (e.Decision == forgeproof.Denied) != (want != forgeproof.ReasonNone) {
				t.Errorf("event decision %v for reason %q", e.Decision, want)
			}
			enforced := want != forgeproof.ReasonNone && !v.Want.ReportOnly
			if reached == enforced {
				t.Errorf("next handler reached = %v, want %v", reached, !enforced)
			}
			if reached && seenBody != body {
				t.Errorf("next handler read body %q, want %q", seenBody, body)
			}
			wantStatus := http.StatusOK
			if enforced {
				wantStatus = want.Status()
			}
			if w.Code != wantStatus {
				t.Errorf("status %d, want %d", w.Code, wantStatus)
			}
			if enforced {
				var pd struct {
					Type, Reason string
					Status       int
				}
				if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
					t.Errorf("Content-Type %q", ct)
				}
				if err := json.Unmarshal(w.Body.Bytes(), &pd); err != nil {
					t.Fatalf("problem body: %v: %s", err, w.Body)
				}
				if pd.Reason != want.String() || pd.Status != wantStatus || !strings.HasSuffix(pd.Type, "#"+want.String()) {
					t.Errorf("problem body %s", w.Body)
				}
			}
			if gotVary := strings.Contains(w.Header().Get("Vary"), "Sec-Fetch-Site"); gotVary != v.Want.Vary {
				t.Errorf("Vary: %q, want Sec-Fetch-Site in it: %v", w.Header().Get("Vary"), v.Want.Vary)
			}
		})
	}
}
