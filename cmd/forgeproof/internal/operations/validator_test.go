package operations_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/operations"
)

// TestValidateRequest validates requests against the operations of the
// 3.0 and 3.1 fixtures, $refs to other files and JSON Schema 2020-12
// types included.
func TestValidateRequest(t *testing.T) {
	tests := []struct {
		file, pattern       string
		method, path, ctype string
		body                string
		reason, in, pointer string // "" reason: valid
		parameter           string
	}{
		{"openapi31.yaml", "POST /v2/notes", "POST", "/v2/notes", "application/json", `{"title":null,"priority":3}`, "", "", "", ""},
		{"openapi31.yaml", "POST /v2/notes", "POST", "/v2/notes", "application/json", `{"priority":3}`, "request-invalid", "body", "/title", ""},
		{"openapi31.yaml", "POST /v2/notes", "POST", "/v2/notes", "application/json", `{"title":"t","priority":0}`, "request-invalid", "body", "/priority", ""},
		{"openapi31.yaml", "POST /v2/notes", "POST", "/v2/notes", "text/csv", `a,b`, "media-type-unsupported", "body", "", ""},
		{"openapi31.yaml", "DELETE /v2/notes/{note_id}", "DELETE", "/v2/notes/12", "", "", "", "", "", ""},
		{"openapi31.yaml", "DELETE /v2/notes/{note_id}", "DELETE", "/v2/notes/twelve", "", "", "request-invalid", "path", "", "note-id"},
		{"openapi.yaml", "POST /api/notes", "POST", "/api/notes", "application/json", `{"title":"t","priority":1,"owner":"mallory"}`, "request-invalid", "body", "/owner", ""},
		{"openapi.yaml", "POST /api/notes", "POST", "/api/notes", "application/json", `{"title":"t","priority":1,"tags":["` + strings.Repeat("a", 21) + `"]}`, "request-invalid", "body", "/tags/0", ""},
		{"openapi.yaml", "GET /api/notes/{id}/archive", "GET", "/api/notes/0/archive", "", "", "request-invalid", "path", "", "id"},
		{"openapi.yaml", "POST /login", "POST", "/login", "application/json", `[]`, "request-invalid", "body", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+" "+tt.body+tt.path, func(t *testing.T) {
			d, err := operations.Load(context.Background(), "testdata/notes/"+tt.file)
			if err != nil {
				t.Fatal(err)
			}
			var op *operations.Operation
			for _, o := range d.Operations {
				if o.Pattern == tt.pattern {
					op = o
				}
			}
			if op == nil {
				t.Fatalf("no operation %s", tt.pattern)
			}
			r := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
			if tt.ctype != "" {
				r.Header.Set("Content-Type", tt.ctype)
			}
			var body []byte
			if tt.body != "" {
				body = []byte(tt.body)
			}
			inv := op.ValidateRequest(r, body)
			if tt.reason == "" {
				if inv != nil {
					t.Fatalf("refused: %+v", inv)
				}
				return
			}
			if inv == nil {
				t.Fatal("accepted")
			}
			if inv.Reason.String() != tt.reason || inv.In != tt.in || inv.Pointer != tt.pointer || inv.Parameter != tt.parameter {
				t.Fatalf("%s in=%s pointer=%q parameter=%q (%s), want %s in=%s pointer=%q parameter=%q",
					inv.Reason, inv.In, inv.Pointer, inv.Parameter, inv.Detail, tt.reason, tt.in, tt.pointer, tt.parameter)
			}
			if strings.Contains(inv.Detail, "mallory") || strings.Contains(inv.Detail, "got ") {
				t.Errorf("detail quotes the request: %s", inv.Detail)
			}
		})
	}
}
