package scan

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzDecodePolicy checks that any JSON value of the extension, on a path
// item and on an operation, is decoded or refused with an error, never a
// panic, and that what is decoded keeps the extension's invariants.
func FuzzDecodePolicy(f *testing.F) {
	for _, s := range [][2]string{
		{`{"json_only": true}`, `{"require_header": "X-Requested-With"}`},
		{`null`, `{"reauth_max_age": "5m", "roles": ["admin"]}`},
		{`{"unsafe": true}`, `{"reauth_max_age": 300}`},
		{`{"bypass": true, "report_only": true}`, `null`},
		{`{"tokens": "synchronizer", "one_time_tokens": true}`, `{"tokens": "off"}`},
		{`{"json_onyl": 1}`, `[]`},
		{`{"reauth_max_age": -1}`, `"x"`},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, item, op string) {
		var iv, ov any
		if json.Unmarshal([]byte(item), &iv) != nil || json.Unmarshal([]byte(op), &ov) != nil {
			return
		}
		p, err := decodePolicy(iv, ov)
		if err != nil || p == nil {
			return
		}
		if p.Bypass && (p.JSONOnly || p.RequireHeader != "" || p.OneTimeTokens || p.ReauthMaxAge != 0 || p.Tokens != "" || p.Unsafe) {
			t.Fatalf("bypass with other rules from %s and %s: %+v", item, op, p)
		}
		if p.ReauthMaxAge < 0 {
			t.Fatalf("negative reauth_max_age from %s and %s", item, op)
		}
		if p.RequireHeader != "" && strings.ContainsAny(p.RequireHeader, " \t\r\n:") {
			t.Fatalf("bad header name %q", p.RequireHeader)
		}
	})
}
