package scan_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/scan"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/zoo"
)

func TestParseEndpoint(t *testing.T) {
	tests := []struct {
		name, in          string
		method, path, ct  string
		body, query, fail string
	}{
		{name: "bare", in: "POST /api/transfer", method: "POST", path: "/api/transfer"},
		{name: "lowercase method", in: "delete /api/payees/7", method: "DELETE", path: "/api/payees/7"},
		{name: "json body", in: `POST /api/t {"to":"bob"}`, method: "POST", path: "/api/t", ct: "application/json", body: `{"to":"bob"}`},
		{name: "form body", in: "POST /t to=bob&amount=5", method: "POST", path: "/t", ct: "application/x-www-form-urlencoded", body: "to=bob&amount=5"},
		{name: "query", in: "POST /t?x=1", method: "POST", path: "/t", query: "x=1"},
		{name: "no path", in: "POST", fail: "METHOD /path"},
		{name: "relative path", in: "POST api", fail: "must start with /"},
		{name: "bad method", in: "P0ST /x", fail: "not an HTTP method"},
		{name: "broken json", in: `POST /x {"to":`, fail: "does not parse"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op, err := scan.ParseEndpoint(tt.in)
			if tt.fail != "" {
				if err == nil || !strings.Contains(err.Error(), tt.fail) {
					t.Fatalf("err = %v, want %q", err, tt.fail)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if op.Method != tt.method || op.Path != tt.path || op.ContentType != tt.ct || string(op.Body) != tt.body || op.Query.Encode() != tt.query {
				t.Errorf("got %+v", op)
			}
		})
	}
}

func TestParseCookieAndHeader(t *testing.T) {
	c, err := scan.ParseCookie("session=a=b")
	if err != nil || c.Name != "session" || c.Value != "a=b" {
		t.Errorf("ParseCookie = %v, %v", c, err)
	}
	for _, bad := range []string{"", "=v", "novalue", "bad name=v", "n=va;lue"} {
		if _, err := scan.ParseCookie(bad); err == nil {
			t.Errorf("ParseCookie(%q) succeeded", bad)
		}
	}
	n, v, err := scan.ParseHeader("x-requested-with:  XMLHttpRequest ")
	if err != nil || n != "X-Requested-With" || v != "XMLHttpRequest" {
		t.Errorf("ParseHeader = %q %q %v", n, v, err)
	}
	for _, bad := range []string{"", "novalue", ": v", "Bad Name: v", "Host: x", "Content-Length: 1", "X: a\nb"} {
		if _, _, err := scan.ParseHeader(bad); err == nil {
			t.Errorf("ParseHeader(%q) succeeded", bad)
		}
	}
}

func TestParseHAR(t *testing.T) {
	data, err := os.ReadFile("testdata/bank.har")
	if err != nil {
		t.Fatal(err)
	}
	target, _ := url.Parse("https://bank.example")
	h, err := scan.ParseHAR(data, target)
	if err != nil {
		t.Fatal(err)
	}
	var ops []string
	for _, op := range h.Operations {
		ops = append(ops, op.Method+" "+op.Path+" "+op.ContentType+" "+string(op.Body))
	}
	want := []string{
		`POST /api/transfer application/json {"to":"bob","amount":5}`,
		`DELETE /api/payees/7  `,
	}
	if !slices.Equal(ops, want) {
		t.Errorf("operations:\n%q\nwant\n%q", ops, want)
	}
	if h.Skipped != 1 || len(h.Pages) != 1 || len(h.URLs) != 5 {
		t.Errorf("skipped %d, pages %d, urls %d; want 1, 1, 5", h.Skipped, len(h.Pages), len(h.URLs))
	}
	if len(h.Cookies) != 2 || h.Cookies[0].Name != "sid" || h.Cookies[0].Value != "s3cr3t" {
		t.Errorf("recorded session cookies %v", h.Cookies)
	}
	var login []string
	for _, sc := range h.SetCookies {
		if sc.Login {
			login = append(login, sc.Cookie.Name)
		}
	}
	if !slices.Equal(login, []string{"sid"}) {
		t.Errorf("login cookies %v, want [sid]", login)
	}
	for _, bad := range []string{"", "{}", "[]", `{"log":{}}`, "not json"} {
		if _, err := scan.ParseHAR([]byte(bad), target); err == nil {
			t.Errorf("ParseHAR(%q) succeeded", bad)
		}
	}
}

func TestLoadOpenAPI(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "openapi.json")
	os.WriteFile(file, (&zoo.App{GetAction: true}).OpenAPI(), 0o644)
	ops, declared, err := scan.LoadOpenAPI(context.Background(), file)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, op := range ops {
		got[op.Method+" "+op.URLPath+"?"+op.Query.Encode()] = op.ContentType + " " + string(op.Body)
	}
	want := map[string]string{
		"POST /transfer?":                      "application/x-www-form-urlencoded amount=5&to=bob",
		"POST /api/transfer?":                  `application/json {"amount":5,"to":"bob"}`,
		"DELETE /api/payees/7?":                " ",
		"GET /api/balance?":                    " ",
		"GET /legacy/transfer?amount=5&to=bob": " ",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: got %q, want %q", k, got[k], v)
		}
	}
	if len(declared) != 5 {
		t.Errorf("%d declared operations, want 5", len(declared))
	}
	os.WriteFile(file, []byte(`{"openapi":"3.0.3","info":{"title":"x","version":"1"},"paths":{"/x":{"post":{"responses":"nope"}}}}`), 0o644)
	if _, _, err := scan.LoadOpenAPI(context.Background(), file); err == nil {
		t.Error("an invalid document loaded")
	}
}

// TestLoadOpenAPIReferences reads a description as the gateway does: a
// reference to a local file is followed (its example builds the body),
// one to a URL is refused, never fetched.
func TestLoadOpenAPIReferences(t *testing.T) {
	dir := t.TempDir()
	api := "openapi: 3.0.3\ninfo: {title: t, version: '1'}\npaths:\n  /notes:\n    post:\n      requestBody:\n        content:\n          application/json:\n            schema: {$ref: '%s'}\n      responses: {'200': {description: ok}}\n"
	schemas := "components:\n  schemas:\n    Note:\n      type: object\n      properties:\n        text: {type: string, example: hello}\n"
	os.WriteFile(filepath.Join(dir, "schemas.yaml"), []byte(schemas), 0o644)
	local := filepath.Join(dir, "local.yaml")
	os.WriteFile(local, []byte(fmt.Sprintf(api, "schemas.yaml#/components/schemas/Note")), 0o644)
	ops, _, err := scan.LoadOpenAPI(context.Background(), local)
	if err != nil {
		t.Fatalf("a reference to a local file: %v", err)
	}
	if len(ops) != 1 || string(ops[0].Body) != `{"text":"hello"}` {
		t.Errorf("operations %+v, want POST /notes with the body {\"text\":\"hello\"}", ops)
	}
	remote := filepath.Join(dir, "remote.yaml")
	os.WriteFile(remote, []byte(fmt.Sprintf(api, "http://127.0.0.1:1/schemas.yaml#/components/schemas/Note")), 0o644)
	if _, _, err := scan.LoadOpenAPI(context.Background(), remote); err == nil || !strings.Contains(err.Error(), "only references to local files") {
		t.Errorf("a reference to a URL: %v, want it refused", err)
	}
}

func FuzzParseHAR(f *testing.F) {
	data, _ := os.ReadFile("testdata/bank.har")
	f.Add(data)
	f.Add([]byte(`{"log":{"entries":[{"request":{"method":"POST","url":"https://bank.example/x","postData":{"mimeType":"text/plain","params":[{"name":"a","value":"b"}]}}}]}}`))
	f.Add([]byte(`{"log":{"entries":[{"request":{"method":"GET","url":"%zz"}}]}}`))
	target, _ := url.Parse("https://bank.example")
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := scan.ParseHAR(data, target)
		if err != nil {
			return
		}
		for _, op := range h.Operations {
			if op.Method == "" || !strings.HasPrefix(op.Path, "/") && op.Path != "" {
				t.Errorf("bad operation %+v", op)
			}
		}
	})
}

func FuzzParseHeader(f *testing.F) {
	for _, s := range []string{"X-Requested-With: XMLHttpRequest", "Authorization: Bearer abc", ": x", "a:b\r\nc: d", "Host: evil"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		name, value, err := scan.ParseHeader(s)
		if err != nil {
			return
		}
		if name == "" || strings.ContainsAny(name, " :\r\n") || strings.ContainsAny(value, "\r\n\x00") {
			t.Errorf("ParseHeader(%q) = %q, %q", s, name, value)
		}
	})
}

func FuzzParseCookie(f *testing.F) {
	for _, s := range []string{"session=abc", "a=", "=b", "x=y=z", "n=\"q\"", "sp ace=v"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := scan.ParseCookie(s)
		if err != nil {
			return
		}
		if c.Valid() != nil || c.Name == "" {
			t.Errorf("ParseCookie(%q) = %+v", s, c)
		}
	})
}

func FuzzParseEndpoint(f *testing.F) {
	for _, s := range []string{"POST /x", `POST /api {"a":1}`, "DELETE /a/b?c=d", "PUT /x a=b&c", "GET"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		op, err := scan.ParseEndpoint(s)
		if err != nil {
			return
		}
		if op.Method == "" || !strings.HasPrefix(op.Path, "/") {
			t.Errorf("ParseEndpoint(%q) = %+v", s, op)
		}
	})
}

// TestOpenAPIDeclaredHeader reads a required header parameter with an
// enum (X-Requested-With) and a path parameter's example, which the
// legitimate requests must carry.
func TestOpenAPIDeclaredHeader(t *testing.T) {
	ops, _, err := scan.LoadOpenAPI(context.Background(), "testdata/zoo/flask/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	var profile, note *scan.Operation
	for i := range ops {
		switch ops[i].Path {
		case "/api/profile/":
			profile = &ops[i]
		case "/notes/{id}/delete/":
			note = &ops[i]
		}
	}
	if profile == nil || profile.Header.Get("X-Requested-With") != "XMLHttpRequest" {
		t.Errorf("POST /api/profile/: header %v, want X-Requested-With: XMLHttpRequest", profile)
	}
	if note == nil || note.URLPath != "/notes/1/delete/" {
		t.Errorf("GET /notes/{id}/delete/: %+v, want URL path /notes/1/delete/", note)
	}
}
