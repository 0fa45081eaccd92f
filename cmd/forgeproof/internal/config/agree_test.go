package config_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/forgeproof/forgeproof"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/config"
	"golang.org/x/net/publicsuffix"
)

// agreementValues returns generated values for one kind of entry: valid
// ones and invalid ones, with the tricks of URL and address parsers.
func agreementValues(kind string) []string {
	var out []string
	switch kind {
	case "origin":
		schemes := []string{"https", "http", "HTTPS", "ws", "ftp", "h ttp", ""}
		hosts := []string{"app.example.com", "App.Example.COM", "*.example.com", "*.co.uk", "*.github.io",
			"*.herokuapp.com", "*.me.github.io", "*.com", "a.*.example", "**.example.com", "[::1]", "[fe80::1%25en0]",
			"127.0.0.1", "xn--bcher-kva.example", "bücher.example", "a_b.example", "u@app.example", "app.example.",
			"", "ex ample.com", "%61pp.example"}
		ports := []string{"", ":443", ":8443", ":0", ":65535", ":65536", ":08", ":", ":x"}
		tails := []string{"", "/", "/path", "?q", "#f"}
		for i, s := range schemes {
			for j, h := range hosts {
				for k, p := range ports {
					t := tails[(i+j+k)%len(tails)]
					if (i+j+k)%3 != 0 {
						t = ""
					}
					v := h + p + t
					if s != "" {
						v = s + "://" + v
					}
					out = append(out, v)
				}
			}
		}
		out = append(out, "*", "null", "NULL", "https://", "https:/app.example", "//app.example", "https:app.example")
	case "proxy":
		for _, a := range []string{"10.0.0.7", "10.0.0.0", "::1", "fd00::", "::ffff:10.0.0.1", "fe80::1%eth0", "1.2.3", "256.0.0.1",
			"010.0.0.1", "proxy.internal", "", " 10.0.0.1", "10.0.0.1 ", "0.0.0.0", "1:2:3:4:5:6:7:8:9"} {
			for _, bits := range []string{"", "/0", "/8", "/32", "/33", "/128", "/-1", "/08", "/"} {
				out = append(out, a+bits)
			}
		}
	case "pattern":
		methods := []string{"", "GET ", "POST ", "post ", "GET  ", "P/ST ", "DELETE\t", " "}
		paths := []string{"/", "/api/", "/api", "api/", "/a/../b", "/a/./b", "//a", "/a//b/", "/a b", "/a?b", "/a#b",
			"/Transfer", "/%2e%2e/x", "/a;b", "", "/x/", "/é", "/a/b/c/"}
		for _, m := range methods {
			for _, p := range paths {
				out = append(out, m+p)
			}
		}
	}
	return out
}

// TestValidateAgreesWithNew checks that the configuration's validation (the
// path of "forgeproof validate" and "forgeproof serve") accepts exactly the
// origins, proxy entries and route patterns that forgeproof.New, configured
// as the gateway configures it, accepts.
func TestValidateAgreesWithNew(t *testing.T) {
	type kind struct {
		name, key string
		yaml      func(v string) string
		lib       func(v string) forgeproof.Config
	}
	quote := func(v string) string {
		b, _ := json.Marshal(v)
		return string(b)
	}
	const upstream = "upstreams: [{url: \"http://127.0.0.1:3000\"}]\n"
	kinds := []struct {
		kind
		values string
	}{
		{kind{"public origin", "protection.public_origins[0]",
			func(v string) string { return "protection:\n  public_origins: [" + quote(v) + "]\n" + upstream },
			func(v string) forgeproof.Config { return forgeproof.Config{PublicOrigins: []string{v}} }}, "origin"},
		{kind{"trusted origin", "protection.trusted_origins[0]",
			func(v string) string { return "protection:\n  trusted_origins: [" + quote(v) + "]\n" + upstream },
			func(v string) forgeproof.Config { return forgeproof.Config{TrustedOrigins: []string{v}} }}, "origin"},
		{kind{"trusted proxy", "protection.trusted_proxies[0]",
			func(v string) string { return "protection:\n  trusted_proxies: [" + quote(v) + "]\n" + upstream },
			func(v string) forgeproof.Config { return forgeproof.Config{TrustedProxies: []string{v}} }}, "proxy"},
		{kind{"route pattern", "routes[0].pattern",
			func(v string) string { return upstream + "routes:\n  - pattern: " + quote(v) + "\n" },
			func(v string) forgeproof.Config { return forgeproof.Config{Routes: []forgeproof.Route{{Pattern: v}}} }}, "pattern"},
	}
	total, accepted := 0, 0
	for _, k := range kinds {
		for _, v := range agreementValues(k.values) {
			total++
			cfg := k.lib(v)
			cfg.PublicSuffixList = publicsuffix.List
			_, libErr := forgeproof.New(cfg)
			_, err := config.Parse("agree.yaml", []byte(k.yaml(v)))
			var list config.ErrorList
			if err != nil && !errors.As(err, &list) {
				t.Fatalf("%s %q: Parse: %v", k.name, v, err)
			}
			var mine []string
			for _, e := range list {
				if e.Path != k.key {
					t.Errorf("%s %q: unrelated problem %v", k.name, v, e)
					continue
				}
				mine = append(mine, e.Msg)
			}
			if (libErr == nil) != (len(mine) == 0) {
				t.Errorf("%s %q: New says %v, validate says %q", k.name, v, libErr, mine)
			}
			if libErr == nil {
				accepted++
			}
		}
	}
	if total < 200 || accepted == 0 || accepted == total {
		t.Errorf("%d values, %d accepted: the corpus does not exercise both sides", total, accepted)
	}
	t.Logf("%d values, %d accepted by both", total, accepted)
}

// TestPublicSuffixWildcards checks that validate, and so serve, refuse
// subdomain patterns over a public suffix, ICANN or private.
func TestPublicSuffixWildcards(t *testing.T) {
	for _, o := range []string{"https://*.co.uk", "https://*.github.io", "https://*.herokuapp.com", "https://*.com"} {
		_, err := config.Parse("ps.yaml", []byte(fmt.Sprintf("protection: {trusted_origins: [%q]}\nupstreams: [{url: \"http://127.0.0.1:3000\"}]\n", o)))
		if err == nil || !strings.Contains(err.Error(), "protection.trusted_origins[0]") {
			t.Errorf("%s: Parse error %v, want one at protection.trusted_origins[0]", o, err)
		}
	}
	if _, err := config.Parse("ps.yaml", []byte("protection: {trusted_origins: [\"https://*.me.github.io\"]}\nupstreams: [{url: \"http://127.0.0.1:3000\"}]\n")); err != nil {
		t.Errorf("a pattern under a registrable domain: %v", err)
	}
}
