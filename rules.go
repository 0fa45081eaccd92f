package forgeproof

import (
	"net/http"
	"net/http/cookiejar"
	"strings"

	"github.com/forgeproof/forgeproof/internal/problem"
)

// The rules that tools built on the library (a gateway, a configuration
// validator, a scanner) must apply exactly as the library does are
// exported here, so that none of them parses an origin, a route pattern or
// a proxy address on its own.

// CanonicalOrigin parses s as an origin written in a configuration, such
// as an entry of a CORS allowlist, by the rules of [Config.PublicOrigins]
// (any scheme is accepted), and returns its serialization with the scheme
// and host in lower case and the scheme's default port omitted:
// "HTTPS://App.Example.com:443" gives "https://app.example.com". The error,
// a [*FieldError] without Field, says what to write instead.
func CanonicalOrigin(s string) (string, error) {
	o, err := parseConfigOrigin(s)
	if err != nil {
		return "", err
	}
	return o.String(), nil
}

// SplitPattern checks a route pattern as [New] checks [Route.Pattern] and
// returns its method ("" when it names none) and its path. The error, a
// [*FieldError] without Field, says what to write instead.
func SplitPattern(pattern string) (method, path string, err error) {
	rs, errs := compileRoutes([]Route{{Pattern: pattern}})
	if len(errs) > 0 {
		fe := *errs[0].(*FieldError)
		fe.Field = ""
		return "", "", &fe
	}
	path = pattern
	if m := rs[0].method; m != "" {
		path = strings.TrimLeft(pattern[len(m):], " \t")
	}
	return rs[0].method, path, nil
}

// FromTrustedProxy reports whether the peer of r (its RemoteAddr) is one
// of [Config.TrustedProxies], whose forwarding headers the library
// believes. A proxy in front of the application decides with it whether to
// extend the client's forwarding headers or to replace them.
func (p *Protection) FromTrustedProxy(r *http.Request) bool {
	return p.fromTrustedProxy(r)
}

// isPublicSuffix reports whether host, in lower case, is a public suffix
// (such as "co.uk" or "github.io") under which anyone can register a site.
// With a list, the list decides. Without one, the built-in rule knows only
// the common second-level labels of two-letter country domains
// ("co.uk", "com.au", "ac.jp"); single labels ("com") are refused before.
func isPublicSuffix(host string, psl cookiejar.PublicSuffixList) bool {
	host = strings.TrimSuffix(host, ".")
	if psl != nil {
		return psl.PublicSuffix(host) == host
	}
	label, tld, ok := strings.Cut(host, ".")
	if !ok || len(tld) != 2 || !isAlpha(tld[0]) || !isAlpha(tld[1]) {
		return false
	}
	switch label {
	case "ac", "co", "com", "edu", "gen", "go", "gob", "gov", "gv", "ltd", "me",
		"mil", "ne", "net", "nic", "nom", "or", "org", "plc", "sch":
		return true
	}
	return false
}

// trustedOriginsBodies returns the problem+json bodies of the rejections
// whose detail tells a developer to list an origin in TrustedOrigins, with
// the setting called name instead; nil when name is "" or the field's own.
func trustedOriginsBodies(name string) *[numReasons][]byte {
	if name == "" || name == "TrustedOrigins" {
		return nil
	}
	var b [numReasons][]byte
	for r := ReasonNone + 1; r < numReasons; r++ {
		if !strings.Contains(reasonDetail[r], "TrustedOrigins") {
			continue
		}
		b[r] = problem.Marshal(problem.Details{
			Type:   docsURL + r.String(),
			Title:  r.Title(),
			Status: r.Status(),
			Detail: strings.ReplaceAll(reasonDetail[r], "TrustedOrigins", name),
		}, problem.Member{Name: "reason", Value: r.String()})
	}
	return &b
}
