package server_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// describedAPI is an OpenAPI description with one GET, which the second
// version marks unsafe.
const describedAPI = `openapi: 3.0.3
info: {title: Reload, version: "1"}
paths:
  /archive:
    get:
      responses:
        "200": {description: ok}
`

// TestOpenAPIReload compiles the OpenAPI description at start and again
// on reload: a change of the description takes effect, an invalid one is
// refused with its line and the running one keeps serving. The compiled
// operations and their inferred rules are logged.
func TestOpenAPIReload(t *testing.T) {
	b := newBackend(t, nil)
	dir := t.TempDir()
	spec := filepath.Join(dir, "openapi.yaml")
	write := func(s string) {
		if err := os.WriteFile(spec, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(describedAPI)
	conf := baseConfig(b.URL, "openapi: {file: "+spec+", unknown_paths: deny}\n")
	g := start(t, conf)
	if len(g.log.lines(t, "openapi description compiled")) != 1 {
		t.Fatalf("the compiled description is not logged:\n%s", g.log)
	}
	crossSite := func(path string) int {
		t.Helper()
		req, _ := http.NewRequest("GET", g.url+path, nil)
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		req.Header.Set("Origin", "https://evil.example")
		resp, _ := do(t, http.DefaultClient, req)
		return resp.StatusCode
	}
	if code := crossSite("/archive"); code != 200 {
		t.Fatalf("a described GET from another site = %d, want 200", code)
	}
	if code := crossSite("/other"); code != 404 {
		t.Fatalf("an undescribed path = %d, want 404", code)
	}

	write(strings.Replace(describedAPI, "    get:\n", "    get:\n      x-forgeproof: {unsafe: true}\n", 1))
	if err := g.doReload(t, conf); err != nil {
		t.Fatal(err)
	}
	if code := crossSite("/archive"); code != 403 {
		t.Fatalf("after the reload, the GET marked unsafe from another site = %d, want 403", code)
	}

	write(strings.Replace(describedAPI, "    get:\n", "    get:\n      x-forgeproof: {unsafe: yes please}\n", 1))
	if err := g.doReload(t, conf); err == nil {
		t.Fatal("an invalid description was accepted")
	}
	if !strings.Contains(g.log.String(), `openapi.yaml:6:22: paths./archive.get.x-forgeproof.unsafe: expected true or false`) {
		t.Fatalf("the problem is not logged at its line:\n%s", g.log)
	}
	if code := crossSite("/archive"); code != 403 {
		t.Fatalf("after a refused reload = %d, want 403 (the running description)", code)
	}
}
