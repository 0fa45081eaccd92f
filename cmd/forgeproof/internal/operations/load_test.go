package operations_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/operations"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/operations/rule"
)

// TestLoad compiles the 3.0 and 3.1 fixtures: every operation with its
// pattern, its declared and inferred keys.
func TestLoad(t *testing.T) {
	tests := []struct {
		file string
		want []string // "PATTERN declared=… inferred=…"
	}{
		{"testdata/notes/openapi.yaml", []string{
			"GET /{$} declared=[] inferred=[]",
			"POST /api/account/delete declared=[json_only reauth_max_age roles] inferred=[]",
			"GET /api/notes declared=[] inferred=[]",
			"POST /api/notes declared=[] inferred=[json_only]",
			"GET /api/notes/{id}/archive declared=[unsafe] inferred=[]",
			"POST /api/reauth declared=[] inferred=[json_only]",
			"POST /hooks/payment declared=[bypass] inferred=[]",
			"POST /login declared=[] inferred=[json_only]",
		}},
		{"testdata/notes/openapi31.yaml", []string{
			"POST /v2/notes declared=[] inferred=[json_only]",
			"DELETE /v2/notes/{note_id} declared=[tokens require_header one_time_tokens] inferred=[]",
			"PUT /v2/upload/{$} declared=[report_only] inferred=[]",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			d, err := operations.Load(context.Background(), tt.file)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, o := range d.Operations {
				var inferred []string
				for _, i := range o.Inferred {
					inferred = append(inferred, i.Key)
				}
				got = append(got, fmt.Sprintf("%s declared=%v inferred=%v", o.Pattern, o.Declared, inferred))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("operations:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// TestLoadRules checks the merged rule of operations whose path item and
// operation both carry the extension.
func TestLoadRules(t *testing.T) {
	d, err := operations.Load(context.Background(), "testdata/notes/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rules := map[string]rule.Rule{}
	for _, o := range d.Operations {
		rules[o.Pattern] = o.Rule
	}
	del := rules["POST /api/account/delete"]
	if !del.JSONOnly || del.ReauthMaxAge != 5*time.Minute || !slices.Equal(del.Roles, []string{"admin"}) {
		t.Errorf("delete account: %+v, want json_only from the path item, reauth 5m and roles [admin] from the operation", del)
	}
	if r := rules["GET /api/notes/{id}/archive"]; !r.Unsafe {
		t.Errorf("archive: %+v, want unsafe", r)
	}
	if r := rules["POST /hooks/payment"]; !r.Bypass {
		t.Errorf("webhook: %+v, want bypass", r)
	}
	d31, err := operations.Load(context.Background(), "testdata/notes/openapi31.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range d31.Operations {
		if o.Method == "DELETE" {
			if o.Rule.Tokens != "synchronizer" || !o.Rule.OneTimeTokens || o.Rule.RequireHeader != "X-Requested-With" {
				t.Errorf("delete note: %+v", o.Rule)
			}
		}
	}
}

// TestLoadProblems reports every problem of a description with its line.
func TestLoadProblems(t *testing.T) {
	_, err := operations.Load(context.Background(), "testdata/bad/openapi.yaml")
	if err == nil {
		t.Fatal("no error")
	}
	var got []string
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatal(err)
	}
	for _, e := range joined.Unwrap() {
		var p *operations.Problem
		if !errors.As(e, &p) {
			t.Fatalf("%T %v", e, e)
		}
		got = append(got, fmt.Sprintf("%d:%d %s %s", p.Line, p.Col, p.Path, p.Msg))
	}
	want := []string{
		`6:7 paths./a.x-forgeproof.tokenz unknown key "tokenz"; the keys are tokens, json_only, require_header, one_time_tokens, reauth_max_age, roles, report_only, unsafe, bypass`,
		`12:9 paths./a.post.x-forgeproof.bypas unknown key "bypas"; the keys are tokens, json_only, require_header, one_time_tokens, reauth_max_age, roles, report_only, unsafe, bypass`,
		`9:9 paths./a.post.x-forgeproof.json_only expected true or false, found "yes"`,
		`10:9 paths./a.post.x-forgeproof.reauth_max_age expected a duration such as 5m, found the number 5`,
		`11:9 paths./a.post.x-forgeproof.roles the list is empty: name at least one role, or remove the key`,
		`15:3 paths./files/{name}.json segment "{name}.json" mixes text and a parameter; forgeproof routes match whole segments: make the parameter a segment of its own`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestLoadProblemsJSON finds the lines of problems in a JSON description.
func TestLoadProblemsJSON(t *testing.T) {
	_, err := operations.Load(context.Background(), "testdata/bad/openapi.json")
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatal(err)
	}
	var got []string
	for _, e := range joined.Unwrap() {
		p := e.(*operations.Problem)
		got = append(got, fmt.Sprintf("%d %s", p.Line, p.Path))
	}
	want := []string{
		"10 paths./a.x-forgeproof.tokenz",
		"17 paths./a.post.x-forgeproof.bypas",
		"14 paths./a.post.x-forgeproof.json_only",
		"15 paths./a.post.x-forgeproof.reauth_max_age",
		"16 paths./a.post.x-forgeproof.roles",
		"26 paths./files/{name}.json",
	}
	if !slices.Equal(got, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
