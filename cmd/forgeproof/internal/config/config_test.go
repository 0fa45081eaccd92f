package config_test

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/config"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/gateway"
)

var update = flag.Bool("update", false, "rewrite the golden files")

const testdata = "testdata"

// testKey is base64 of a 41-byte test key.
const testKey = "c2VjcmV0LWtleS1mb3ItdGVzdHMtb25seS0wMTIzNDU2Nzg5YWJjZGVm"

func TestGoodConfigs(t *testing.T) {
	t.Setenv("FORGEPROOF_TEST_KEY", testKey)
	t.Setenv("FORGEPROOF_TEST_KEY_2", "b3RoZXIta2V5LWZvci10ZXN0cy1vbmx5LTAxMjM0NTY3ODlhYmNkZWZnaGk=")
	t.Setenv("FORGEPROOF_TEST_STORE", "redis://127.0.0.1:6379/0")
	files, _ := filepath.Glob(filepath.Join(testdata, "good", "*.yaml"))
	if len(files) == 0 {
		t.Fatal("no good configurations")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			c, err := config.Load(f)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if _, err := c.Library(nil); err != nil {
				t.Errorf("Library: %v", err)
			}
			opts, err := c.Gateway(mustLibrary(t, c))
			if err != nil {
				t.Fatalf("Gateway: %v", err)
			}
			if _, err := gateway.New(opts); err != nil {
				t.Errorf("gateway.New refuses a valid configuration: %v", err)
			}
			// The warnings are golden too (NAME.warnings, none when absent).
			got := ""
			for _, w := range c.Warnings() {
				got += strings.TrimPrefix(w.Error(), filepath.Dir(f)+string(filepath.Separator)) + "\n"
			}
			golden := strings.TrimSuffix(f, ".yaml") + ".warnings"
			if *update {
				if got == "" {
					os.Remove(golden)
				} else if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("warnings of %s:\n%s\nwant (%s):\n%s", f, got, golden, want)
			}
		})
	}
}

// TestBadConfigs compares the problems of every bad configuration with its
// golden list (NAME.golden); run with -update to rewrite them.
func TestBadConfigs(t *testing.T) {
	t.Setenv("FORGEPROOF_TEST_KEY", testKey)
	files, _ := filepath.Glob(filepath.Join(testdata, "bad", "*.yaml"))
	if len(files) == 0 {
		t.Fatal("no bad configurations")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			_, err = config.Parse(filepath.Base(f), data)
			var list config.ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("Parse = %v, want an ErrorList", err)
			}
			for _, e := range list {
				if e.Pos.Line == 0 && e.Path != "upstreams" {
					t.Errorf("problem without a line: %v", e)
				}
			}
			got := err.Error() + "\n"
			golden := strings.TrimSuffix(f, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("problems of %s:\n%s\nwant (%s):\n%s", f, got, golden, want)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	c, err := config.Parse("minimal.yaml", []byte("upstreams: [{url: http://127.0.0.1:3000}]"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		got, want any
	}{
		{"addr", c.Addr, config.DefaultAddr},
		{"admin.addr", c.Admin.Addr, config.DefaultAdminAddr},
		{"log.level", c.Log.Level, config.DefaultLogLevel},
		{"log.format", c.Log.Format, config.DefaultLogFormat},
		{"reserved_prefix", c.ReservedPrefix, config.DefaultReservedPrefix},
		{"store", c.Store.Value(), config.DefaultStore},
		{"limits.max_body_bytes", c.Limits.MaxBodyBytes, int64(config.DefaultMaxBodyBytes)},
		{"limits.max_header_bytes", c.Limits.MaxHeaderBytes, config.DefaultMaxHeaderBytes},
		{"limits.shutdown_timeout", c.Limits.ShutdownTimeout, config.DefaultShutdownTimeout},
		{"protection.tokens", c.Protection.Tokens, config.DefaultTokens},
		{"protection.token_max_age", c.Protection.TokenMaxAge, config.DefaultTokenMaxAge},
		{"upstreams[0].path_prefix", c.Upstreams[0].PathPrefix, config.DefaultPathPrefix},
		{"upstreams[0].dial_timeout", c.Upstreams[0].DialTimeout, config.DefaultDialTimeout},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s = %v, want the default %v", tt.name, tt.got, tt.want)
		}
	}
}

func TestSecrets(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key")
	if err := os.WriteFile(keyFile, []byte(testKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("FORGEPROOF_TEST_KEY", testKey)
	t.Setenv("FORGEPROOF_TEST_EMPTY", "")
	t.Setenv("FORGEPROOF_TEST_REDIS", "redis://:hunter2@127.0.0.1:6379/1")
	tests := []struct {
		name    string
		yaml    string
		wantErr string // "" for success
	}{
		{"env", "protection: {keys: [{env: FORGEPROOF_TEST_KEY}]}", ""},
		{"file absolute", "protection: {keys: [{file: " + keyFile + "}]}", ""},
		{"file relative to the config", "protection: {keys: [{file: key}]}", ""},
		{"literal", "protection: {keys: [" + testKey + "]}", ""},
		{"store from env", "store: {env: FORGEPROOF_TEST_REDIS}", ""},
		{"env unset", "protection: {keys: [{env: FORGEPROOF_TEST_NOT_SET}]}", "environment variable FORGEPROOF_TEST_NOT_SET is not set"},
		{"env empty", "protection: {keys: [{env: FORGEPROOF_TEST_EMPTY}]}", "environment variable FORGEPROOF_TEST_EMPTY is empty"},
		{"file missing", "protection: {keys: [{file: nope}]}", "read secret: open " + filepath.Join(dir, "nope")},
		{"both", "protection: {keys: [{env: A, file: B}]}", "set env or file, not both"},
		{"neither", "protection: {keys: [{}]}", "needs env: NAME or file: PATH"},
		{"not a key", "protection: {keys: [{env: FORGEPROOF_TEST_REDIS}]}", "key is not base64"},
		{"bad store url hides the password", "store: 'redis//:hunter2@x'", `must be "memory", a redis://`},
		{"cluster store", "store: 'redis+cluster://:hunter2@10.0.0.11:6379?addr=10.0.0.12:6379&addr=10.0.0.13:6379'", ""},
		{"cluster store with a database", "store: 'redis+cluster://:hunter2@10.0.0.11:6379/1'", "a Redis Cluster has only database 0"},
		{"cluster store with a bad port", "store: 'rediss+cluster://:hunter2@10.0.0.11:bad'", "invalid port"},
		{"cluster store with a bad node", "store: 'redis+cluster://:hunter2@10.0.0.11:6379?addr=10.0.0.12'", "unable to parse addr param"},
		{"sentinel store without master_name", "store: 'redis+sentinel://:hunter2@10.0.0.11:26379/0'", "needs master_name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name := filepath.Join(dir, "forgeproof.yaml")
			c, err := config.Parse(name, []byte(tt.yaml+"\nupstreams: [{url: http://127.0.0.1:3000}]\n"))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if _, err := c.Library(nil); err != nil {
					t.Fatalf("Library: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Parse error = %v, want it to contain %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), testKey) {
				t.Errorf("error reveals a secret: %v", err)
			}
		})
	}
}

// TestSecretNotPrinted checks that a secret's value never appears when it
// is formatted or logged.
func TestSecretNotPrinted(t *testing.T) {
	c, err := config.Parse("x.yaml", []byte("protection: {keys: ["+testKey+"]}\nupstreams: [{url: http://127.0.0.1:3000}]"))
	if err != nil {
		t.Fatal(err)
	}
	k := c.Protection.Keys[0]
	if k.Value() == "" {
		t.Fatal("key not resolved")
	}
	for _, s := range []string{k.String(), k.GoString(), k.LogValue().String(), sprint(k), sprint(c.Protection)} {
		if strings.Contains(s, testKey) {
			t.Errorf("formatted secret reveals the value: %s", s)
		}
	}
}

func TestFlagOverrides(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.yaml")
	os.WriteFile(path, []byte("addr: 127.0.0.1:1\nupstreams: [{url: http://127.0.0.1:3000}]\n"), 0o644)
	c, err := config.LoadWith(path, func(c *config.Config) {
		c.Addr = "127.0.0.1:2"
		c.SetFlag("addr", "--addr")
		c.Upstreams = []config.Upstream{{URL: "not a url"}}
		c.SetFlag("upstreams[0].url", "--upstream")
	})
	var list config.ErrorList
	if !errors.As(err, &list) || len(list) != 1 {
		t.Fatalf("LoadWith = %v, want one problem", err)
	}
	if got, want := list[0].Error(), `--upstream: upstreams[0].url: "not a url" is not an http:// or https:// URL with a host`; got != want {
		t.Errorf("problem = %s\nwant %s", got, want)
	}
	if c.Addr != "127.0.0.1:2" {
		t.Errorf("addr = %s, want the flag's value", c.Addr)
	}
}

func TestFullMapping(t *testing.T) {
	t.Setenv("FORGEPROOF_TEST_KEY", testKey)
	t.Setenv("FORGEPROOF_TEST_STORE", "redis://127.0.0.1:6379/0")
	c, err := config.Load(filepath.Join(testdata, "good", "full.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	lib := mustLibrary(t, c)
	if lib.Keys == nil || lib.Keys.Len() != 2 {
		t.Errorf("keys: %v, want a ring of 2", lib.Keys)
	}
	if lib.TokenMaxAge != 2*time.Hour || !lib.ReportOnly || !lib.DenyMissingOrigin || lib.SessionCookie != "sid" {
		t.Errorf("library config not mapped: %+v", lib)
	}
	opts, err := c.Gateway(lib)
	if err != nil {
		t.Fatal(err)
	}
	if len(opts.Upstreams) != 2 || opts.Upstreams[0].URL.String() != "http://127.0.0.1:3001" || !opts.Upstreams[0].PreserveHost {
		t.Errorf("upstreams not mapped: %+v", opts.Upstreams)
	}
	if len(opts.Routes) != 5 {
		t.Fatalf("routes = %d, want 5", len(opts.Routes))
	}
	r := opts.Routes[1]
	if r.Pattern != "POST /api/transfer" || !r.Protect.OneTimeTokens || r.Protect.ReauthMaxAge != 5*time.Minute {
		t.Errorf("route 1 not mapped: %+v", r)
	}
	if last := opts.Routes[4]; last.Headers == nil || !last.Headers.Override || last.InjectHTML == nil || !*last.InjectHTML || len(last.Cookies) != 3 || last.Cookies[1].Name != "" {
		t.Errorf("route 4 response rules not mapped: %+v", last)
	}
	if opts.CORS == nil || opts.CORS.AllowOrigins[0] != "*" || opts.ReservedPrefix != "/.csrf/" || opts.FlushInterval != 100*time.Millisecond {
		t.Errorf("gateway defaults not mapped: %+v", opts)
	}
}

func TestLoadBounds(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.yaml")
	big := "upstreams: [{url: http://127.0.0.1:3000}]\n" + strings.Repeat("# padding\n", 200_000)
	if err := os.WriteFile(path, []byte(big), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := config.Load(path)
	if err == nil || !strings.Contains(err.Error(), "big.yaml: file is larger than 1048576 bytes") {
		t.Errorf("Load of a 2 MB file = %v, want a size error", err)
	}
	if _, err := config.Load(filepath.Join(t.TempDir(), "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load of a missing file = %v, want ErrNotExist", err)
	}
}
