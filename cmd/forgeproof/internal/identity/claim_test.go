package identity_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/identity"
)

func TestParseClaimPath(t *testing.T) {
	tests := []struct {
		in   string
		want []string
		err  string
	}{
		{"roles", []string{"roles"}, ""},
		{"realm_access.roles", []string{"realm_access", "roles"}, ""},
		{`https://example\.com/roles`, []string{"https://example.com/roles"}, ""},
		{`a\\.b`, []string{`a\`, "b"}, ""},
		{"", nil, "empty"},
		{".roles", nil, "empty segment"},
		{"roles.", nil, "empty segment"},
		{"a..b", nil, "empty segment"},
		{`a\b`, nil, "backslash"},
		{`roles\`, nil, "backslash"},
		{strings.Repeat("a.", 16) + "a", nil, "more than 16"},
		{strings.Repeat("a", 300), nil, "more than the 256"},
	}
	for _, tc := range tests {
		got, err := identity.ParseClaimPath(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseClaimPath(%q) = %q, %v; want an error with %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("ParseClaimPath(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestClaimPathRoles(t *testing.T) {
	var claims map[string]any
	json.Unmarshal([]byte(`{"roles":["a","",3,"b"],"scope":"x  y","realm_access":{"roles":["t"]},"https://example.com/roles":"ns","n":5,"o":{"p":null}}`), &claims)
	tests := []struct {
		path string
		want []string
	}{
		{"roles", []string{"a", "b"}},
		{"scope", []string{"x", "y"}},
		{"realm_access.roles", []string{"t"}},
		{`https://example\.com/roles`, []string{"ns"}},
		{"n", nil},
		{"o.p", nil},
		{"o.p.q", nil},
		{"missing", nil},
		{"roles.x", nil},
	}
	for _, tc := range tests {
		p, err := identity.ParseClaimPath(tc.path)
		if err != nil {
			t.Fatal(err)
		}
		if got := p.Roles(claims); !slices.Equal(got, tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
			t.Errorf("%s: %q, want %q", tc.path, got, tc.want)
		}
	}
}

// FuzzClaimPath checks that any string either parses into a path that
// prints back to a string parsing into the same path, or is refused, and
// that looking a path up in any JSON document never panics.
func FuzzClaimPath(f *testing.F) {
	for _, s := range []string{"roles", "realm_access.roles", `https://example\.com/roles`, `a\\.b`, "a..b", `x\`, "."} {
		f.Add(s, `{"roles":["a"],"realm_access":{"roles":"b c"}}`)
	}
	f.Fuzz(func(t *testing.T, s, doc string) {
		p, err := identity.ParseClaimPath(s)
		if err != nil {
			return
		}
		if len(p) == 0 || len(p) > 16 {
			t.Fatalf("ParseClaimPath(%q) = %d segments", s, len(p))
		}
		again, err := identity.ParseClaimPath(p.String())
		if err != nil || !slices.Equal(again, p) {
			t.Fatalf("ParseClaimPath(%q) = %q, printed %q, parsed back %q, %v", s, p, p.String(), again, err)
		}
		var claims map[string]any
		if json.Unmarshal([]byte(doc), &claims) == nil {
			for _, r := range p.Roles(claims) {
				if r == "" {
					t.Fatalf("an empty role from %s", doc)
				}
			}
		}
	})
}
