package config_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/config"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/gateway"
)

// addExampleSeeds adds every configuration file in testdata as a seed.
func addExampleSeeds(f *testing.F) {
	f.Helper()
	files, _ := filepath.Glob(filepath.Join(testdata, "*", "*.yaml"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
}

// FuzzParse checks that any input is either accepted or refused with a
// list of problems whose lines lie in the file, and never panics.
func FuzzParse(f *testing.F) {
	addExampleSeeds(f)
	f.Add([]byte("upstreams: [{url: http://a}]\nroutes: [{pattern: /, cors: {allow_origins: [null]}}]"))
	f.Add([]byte("a: &x [*x]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := config.Parse("f.yaml", data)
		if err == nil {
			return
		}
		var list config.ErrorList
		if !errors.As(err, &list) || len(list) == 0 {
			t.Fatalf("Parse error %v (%T) is not a non-empty ErrorList", err, err)
		}
		// YAML counts \n, \r\n and a lone \r as line breaks.
		lines := bytes.Count(data, []byte("\n")) + bytes.Count(data, []byte("\r")) - bytes.Count(data, []byte("\r\n")) + 1
		for _, e := range list {
			if e.Pos.Line < 0 || e.Pos.Line > lines {
				t.Errorf("problem on line %d of a %d-line file: %v", e.Pos.Line, lines, e)
			}
			if e.Msg == "" {
				t.Errorf("problem without a message: %#v", e)
			}
		}
	})
}

// FuzzAcceptedBuilds checks that every configuration that validates also
// builds: the library and the gateway accept whatever the configuration
// accepts, so that a valid file never fails at start without a line.
func FuzzAcceptedBuilds(f *testing.F) {
	f.Setenv("FORGEPROOF_TEST_KEY", testKey)
	f.Setenv("FORGEPROOF_TEST_STORE", "redis://127.0.0.1:6379/0")
	addExampleSeeds(f)
	f.Add([]byte("upstreams: [{url: http://a, hosts: ['*.example.com', 'a-b.example']}]\nprotection: {trusted_origins: ['https://*.example.com:8443'], public_origins: ['http://[::1]:80']}"))
	f.Add([]byte("upstreams: [{url: http://a}]\nroutes: [{pattern: 'DELETE /x/', cors: {allow_origins: ['*'], allow_methods: [DELETE]}}, {pattern: /y, cookies: [{name: '*', same_site: none}]}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := config.Parse("f.yaml", data)
		if err != nil {
			return
		}
		lib, err := c.Library(nil)
		if err != nil {
			t.Fatalf("valid configuration, but Library: %v\n%s", err, data)
		}
		opts, err := c.Gateway(lib)
		if err != nil {
			t.Fatalf("valid configuration, but Gateway: %v\n%s", err, data)
		}
		if _, err := gateway.New(opts); err != nil {
			t.Fatalf("valid configuration, but gateway.New: %v\n%s", err, data)
		}
	})
}
