package gateway_test

import (
	"os"
	"strings"
	"testing"

	"github.com/forgeproof/forgeproof"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/gateway"
)

// TestDocumentedNames checks that docs/GATEWAY.md names the token names the
// library and the gateway really use by default, and that none of them is
// a name a framework uses for its own token.
func TestDocumentedNames(t *testing.T) {
	p, err := forgeproof.New(forgeproof.Config{})
	if err != nil {
		t.Fatal(err)
	}
	doc, err := os.ReadFile("../../../../docs/GATEWAY.md")
	if err != nil {
		t.Fatal(err)
	}
	framework := []string{
		"csrfmiddlewaretoken", "x-csrftoken", "csrftoken", "authenticity_token", "x-csrf-token", "csrf-token",
		"_token", "xsrf-token", "_csrf", "x-xsrf-token",
	}
	for _, name := range []string{p.HeaderName(), p.FieldName(), "__Host-forgeproof", `<meta name="` + gateway.MetaName + `">`} {
		if !strings.Contains(string(doc), "`"+name+"`") {
			t.Errorf("docs/GATEWAY.md does not name the default %s", name)
		}
		for _, f := range framework {
			if strings.EqualFold(strings.Trim(name, `<>"`), f) || strings.Contains(strings.ToLower(name), `"`+f+`"`) {
				t.Errorf("default %s collides with a framework's %s", name, f)
			}
		}
	}
}
