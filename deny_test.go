package forgeproof

import (
	"encoding/json"
	"flag"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// TestProblemBodiesGolden pins the default problem+json body of every
// reason: clients and the scanner parse them.
func TestProblemBodiesGolden(t *testing.T) {
	var got []byte
	for _, r := range Reasons() {
		b := problemBodies[r]
		var pd struct {
			Type, Title, Detail, Reason string
			Status                      int
		}
		if err := json.Unmarshal(b, &pd); err != nil {
			t.Fatalf("%s: %v", r, err)
		}
		if pd.Reason != r.String() || pd.Status != r.Status() || pd.Title != r.Title() ||
			pd.Type != docsURL+r.String() || pd.Detail == "" {
			t.Errorf("%s: body %s", r, b)
		}
		got = append(got, b...)
	}
	const golden = "testdata/problems.golden"
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("problem bodies differ from %s (run go test -run TestProblemBodiesGolden -update to accept):\n%s", golden, got)
	}
}

// TestReasonsDocumented checks that docs/REASONS.md has a section, with the
// stable name as its anchor, for every reason that the problem bodies link
// to.
func TestReasonsDocumented(t *testing.T) {
	doc, err := os.ReadFile("docs/REASONS.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range Reasons() {
		if !strings.Contains(string(doc), "\n## "+r.String()+"\n") {
			t.Errorf("docs/REASONS.md has no section \"## %s\"", r)
		}
	}
}
