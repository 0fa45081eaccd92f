package problem_test

import (
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/forgeproof/forgeproof/internal/problem"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func TestMarshalGolden(t *testing.T) {
	var got []byte
	got = append(got, problem.Marshal(problem.Details{})...)
	got = append(got, problem.Marshal(problem.Details{
		Type:     "https://example.com/probs/out-of-credit",
		Title:    "You do not have enough credit.",
		Status:   403,
		Detail:   "Your current balance is 30, but that costs 50.",
		Instance: "/account/12345/msgs/abc",
	}, problem.Member{Name: "balance", Value: "30"})...)
	got = append(got, problem.Marshal(problem.Details{
		Title:  `quotes " and <html> & unicode é`,
		Status: 502,
	}, problem.Member{Name: "status", Value: "shadowed"}, problem.Member{Name: "reason", Value: "upstream-unreachable"})...)
	const golden = "testdata/marshal.golden"
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
		t.Errorf("got\n%s\nwant\n%s\n(run go test -update to accept)", got, want)
	}
}

func TestMarshalIsValidJSON(t *testing.T) {
	b := problem.Marshal(problem.Details{Title: "a\x00b\"c", Status: 400, Detail: "\u2028"}, problem.Member{Name: "x\"y", Value: "\\"})
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	if m["title"] != "a\x00b\"c" || m["x\"y"] != "\\" || m["status"] != 400.0 {
		t.Errorf("round trip: %v", m)
	}
}

func TestWrite(t *testing.T) {
	w := httptest.NewRecorder()
	w.Header().Set("Content-Length", "999")
	problem.Write(w, problem.Details{Status: http.StatusGatewayTimeout, Detail: "the backend did not answer in time"},
		problem.Member{Name: "reason", Value: "upstream-timeout"})
	if w.Code != 504 {
		t.Errorf("status %d", w.Code)
	}
	for k, v := range map[string]string{
		"Content-Type":           "application/problem+json",
		"X-Content-Type-Options": "nosniff",
		"Cache-Control":          "no-store",
		"Content-Length":         "",
	} {
		if got := w.Header().Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	var m map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	if m["title"] != "Gateway Timeout" || m["status"] != 504.0 || m["reason"] != "upstream-timeout" {
		t.Errorf("body %s", w.Body)
	}

	w = httptest.NewRecorder()
	problem.Write(w, problem.Details{})
	if w.Code != 500 {
		t.Errorf("zero Details: status %d, want 500", w.Code)
	}
}

type nopWriter struct{ h http.Header }

func (w nopWriter) Header() http.Header         { return w.h }
func (w nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w nopWriter) WriteHeader(int)             {}

func TestWriteBodyAllocs(t *testing.T) {
	body := problem.Marshal(problem.Details{Title: "x", Status: 403})
	w := nopWriter{make(http.Header)}
	n := testing.AllocsPerRun(100, func() {
		clear(w.h)
		problem.WriteBody(w, 403, body)
	})
	if n != 0 {
		t.Errorf("WriteBody allocates %v times, want 0", n)
	}
}
