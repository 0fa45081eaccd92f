package forgeproof_test

import (
	"fmt"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/forgeproof/forgeproof"
)

// TestCandidates lists the routes a request may reach, as the middleware
// judges it.
func TestCandidates(t *testing.T) {
	p, err := forgeproof.New(forgeproof.Config{Routes: []forgeproof.Route{
		{Pattern: "POST /api/notes"},
		{Pattern: "DELETE /api/notes"},
		{Pattern: "GET /api/notes/{id}/archive", CheckSafeMethods: true},
	}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		method, target string
		header         []string
		want           []string
		ok             bool
	}{
		{"POST", "/api/notes", nil, []string{"POST POST /api/notes"}, true},
		{"POST", "/API/notes/", nil, []string{"POST POST /api/notes"}, true},
		{"POST", "/api/notes", []string{"X-HTTP-Method-Override", "DELETE"}, []string{"POST POST /api/notes", "DELETE DELETE /api/notes"}, true},
		{"POST", "/api/notes?_method=DELETE", nil, []string{"POST POST /api/notes", "DELETE DELETE /api/notes"}, true},
		{"POST", "/api/notes", []string{"X-HTTP-Method-Override", "PUT, DELETE"}, nil, false},
		{"GET", "/api/notes/1/archive", nil, []string{"GET GET /api/notes/{id}/archive"}, true},
		{"PUT", "/elsewhere", nil, nil, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.method, " ", tt.target, tt.header), func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.target, nil)
			for i := 0; i+1 < len(tt.header); i += 2 {
				r.Header.Set(tt.header[i], tt.header[i+1])
			}
			cands, ok := p.Candidates(r)
			var got []string
			for _, c := range cands {
				got = append(got, c.Method+" "+c.Pattern)
			}
			if ok != tt.ok || !slices.Equal(got, tt.want) {
				t.Errorf("got %v %v, want %v %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}
