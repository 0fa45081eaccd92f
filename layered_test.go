package forgeproof_test

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/forgeproof/forgeproof"
)

// TestCandidatePatterns checks that a layer on top finds its route under
// every spelling of the path and method that a router might dispatch.
func TestCandidatePatterns(t *testing.T) {
	p, err := forgeproof.New(forgeproof.Config{Routes: []forgeproof.Route{
		{Pattern: "/admin/"},
		{Pattern: "DELETE /api/users/"},
		{Pattern: "/hooks/", InsecureBypass: true},
	}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, method, target string
		header               map[string]string
		want                 []string
	}{
		{"plain", "GET", "/admin/users", nil, []string{"/admin/"}},
		{"other case", "GET", "/ADMIN/users", nil, []string{"/admin/"}},
		{"dot segments", "GET", "/x/../admin/users", nil, []string{"/admin/"}},
		{"matrix parameter", "GET", "/admin;x=1/users", nil, []string{"/admin/"}},
		{"method", "DELETE", "/api/users/7", nil, []string{"DELETE /api/users/"}},
		{"method override header on GET", "GET", "/api/users/7", map[string]string{"X-HTTP-Method-Override": "DELETE"}, []string{"DELETE /api/users/"}},
		{"method override query", "POST", "/api/users/7?_method=DELETE", nil, []string{"DELETE /api/users/"}},
		{"bypass route", "POST", "/hooks/x", nil, []string{"/hooks/"}},
		{"no route", "GET", "/public", nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, "http://example.com/", nil)
			r.URL.Path, r.URL.RawQuery, _ = strings.Cut(tc.target, "?")
			for k, v := range tc.header {
				r.Header.Set(k, v)
			}
			got := p.CandidatePatterns(r)
			for _, w := range tc.want {
				if !slices.Contains(got, w) {
					t.Errorf("CandidatePatterns = %q, want it to hold %q", got, w)
				}
			}
			if len(tc.want) == 0 && len(got) != 0 {
				t.Errorf("CandidatePatterns = %q, want none", got)
			}
		})
	}
}

// TestRefuse checks that a rejection decided on top of the library is
// reported and answered as the library's own.
func TestRefuse(t *testing.T) {
	for _, reportOnly := range []bool{false, true} {
		var got []forgeproof.Event
		p, err := forgeproof.New(forgeproof.Config{
			Routes:     []forgeproof.Route{{Pattern: "/admin/"}},
			OnDecision: func(e forgeproof.Event) { got = append(got, e) },
		})
		if err != nil {
			t.Fatal(err)
		}
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "/admin/x", nil)
		answered := p.Refuse(w, r, forgeproof.ReasonUnauthenticated, reportOnly)
		if answered == reportOnly {
			t.Errorf("report-only %v: Refuse answered %v", reportOnly, answered)
		}
		if len(got) != 1 || got[0].Decision != forgeproof.Denied || got[0].Reason != forgeproof.ReasonUnauthenticated ||
			got[0].ReportOnly != reportOnly || got[0].Route != "/admin/" || got[0].Path != "/admin/x" {
			t.Errorf("report-only %v: events %+v", reportOnly, got)
		}
		if !reportOnly && (w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), `"reason":"unauthenticated"`)) {
			t.Errorf("answer %d %s", w.Code, w.Body)
		}
	}
	p, _ := forgeproof.New(forgeproof.Config{})
	if p.Refuse(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil), forgeproof.ReasonNone, false) {
		t.Error("Refuse answered for ReasonNone")
	}
}
