package main

import (
	"os"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
)

// TestOpenAPIDocTable keeps the table that docs/OPENAPI.md shows in step
// with the one "forgeproof validate" prints for the test description (the
// script test openapi.txtar compares it with the command's output).
func TestOpenAPIDocTable(t *testing.T) {
	a, err := txtar.ParseFile("testdata/script/openapi.txtar")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("../../docs/OPENAPI.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range a.Files {
		if f.Name == "table.txt" {
			if !strings.Contains(string(doc), string(f.Data)) {
				t.Fatalf("docs/OPENAPI.md does not show the table of testdata/script/openapi.txtar:\n%s", f.Data)
			}
			return
		}
	}
	t.Fatal("openapi.txtar has no table.txt")
}
