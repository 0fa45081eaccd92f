package rule

import (
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestParse decodes valid and invalid extensions.
func TestParse(t *testing.T) {
	tests := []struct {
		name string
		json string
		want Rule
		set  []string
		errs []string // keys at fault
	}{
		{"empty", `{}`, Rule{}, nil, nil},
		{"every key", `{"tokens":"synchronizer","json_only":true,"require_header":"x-requested-with","one_time_tokens":true,
			"reauth_max_age":"90s","roles":["admin","ops"],"report_only":true,"unsafe":true,"bypass":false}`,
			Rule{Tokens: "synchronizer", JSONOnly: true, RequireHeader: "X-Requested-With", OneTimeTokens: true,
				ReauthMaxAge: 90 * time.Second, Roles: []string{"admin", "ops"}, ReportOnly: true, Unsafe: true},
			Keys(), nil},
		{"false is set", `{"json_only":false}`, Rule{}, []string{"json_only"}, nil},
		{"unknown key", `{"json-only":true}`, Rule{}, nil, []string{"json-only"}},
		{"wrong types", `{"json_only":"true","tokens":"on","reauth_max_age":300,"roles":"admin","require_header":"X Bad"}`,
			Rule{}, nil, []string{"json_only", "reauth_max_age", "require_header", "roles", "tokens"}},
		{"negative duration", `{"reauth_max_age":"-5m"}`, Rule{}, nil, []string{"reauth_max_age"}},
		{"role with a space", `{"roles":["a b"]}`, Rule{}, nil, []string{"roles"}},
		{"not a mapping", `[1]`, Rule{}, nil, []string{""}},
		{"good beside bad", `{"unsafe":true,"bypas":true}`, Rule{Unsafe: true}, []string{"unsafe"}, []string{"bypas"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v any
			if err := json.Unmarshal([]byte(tt.json), &v); err != nil {
				t.Fatal(err)
			}
			r, set, errs := Parse(v)
			if !reflect.DeepEqual(r, tt.want) {
				t.Errorf("rule %+v, want %+v", r, tt.want)
			}
			if got := SortedKeys(set); !slices.Equal(got, tt.set) {
				t.Errorf("set %v, want %v", got, tt.set)
			}
			var keys []string
			for _, e := range errs {
				keys = append(keys, e.Key)
			}
			if !slices.Equal(keys, tt.errs) {
				t.Errorf("errors at %v, want %v: %v", keys, tt.errs, errs)
			}
		})
	}
}

// FuzzParse feeds the parser any JSON value: it never panics,
// sets only known keys, and blames only keys of the input.
func FuzzParse(f *testing.F) {
	for _, s := range []string{`{}`, `{"tokens":"off","roles":["a"]}`, `{"reauth_max_age":"5m","unsafe":true}`, `null`, `{"roles":[null,1]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var v any
		if json.Unmarshal(data, &v) != nil {
			return
		}
		r, set, errs := Parse(v)
		m, isMap := v.(map[string]any)
		for k := range set {
			if !slices.Contains(Keys(), k) {
				t.Fatalf("set unknown key %q", k)
			}
			if _, ok := m[k]; !ok {
				t.Fatalf("set key %q that the input lacks", k)
			}
		}
		for _, e := range errs {
			if !isMap {
				if e.Key != "" {
					t.Fatalf("error at key %q of a non-mapping", e.Key)
				}
				continue
			}
			if _, ok := m[e.Key]; !ok || set[e.Key] {
				t.Fatalf("error at key %q, which is not in the input or was set: %v", e.Key, e)
			}
		}
		if !isMap && (len(set) > 0 || len(errs) != 1) {
			t.Fatalf("a non-mapping gave %v, %v", set, errs)
		}
		if r.ReauthMaxAge < 0 || (r.Tokens != "" && !set["tokens"]) {
			t.Fatalf("rule %+v from %s", r, data)
		}
	})
}

// TestSchemaMatchesParser keeps docs/x-forgeproof.schema.json, the schema
// for editors, in step with the parser's keys.
func TestSchemaMatchesParser(t *testing.T) {
	b, err := os.ReadFile("../../../../../docs/x-forgeproof.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Type                 string                    `json:"type"`
		AdditionalProperties *bool                     `json:"additionalProperties"`
		Properties           map[string]map[string]any `json:"properties"`
	}
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	if s.Type != "object" || s.AdditionalProperties == nil || *s.AdditionalProperties {
		t.Errorf("the schema must be an object with additionalProperties: false, as the parser refuses unknown keys")
	}
	var props []string
	for k := range s.Properties {
		props = append(props, k)
	}
	slices.Sort(props)
	keys := slices.Sorted(slices.Values(Keys()))
	if !slices.Equal(props, keys) {
		t.Fatalf("schema properties %v, parser keys %v", props, keys)
	}
	for _, k := range keyKinds {
		p := s.Properties[k.name]
		want := map[string]string{"bool": "boolean", "header": "string", "duration": "string", "roles": "array"}[k.kind]
		if want == "" {
			want = "string" // enum
		}
		if p["type"] != want {
			t.Errorf("%s: schema type %v, parser kind %s (%s)", k.name, p["type"], k.kind, want)
		}
		if enum, ok := p["enum"].([]any); ok || strings.HasPrefix(k.kind, "enum:") {
			var got []string
			for _, e := range enum {
				got = append(got, e.(string))
			}
			if want := strings.TrimPrefix(k.kind, "enum:"); !slices.Equal(got, strings.Split(want, ",")) {
				t.Errorf("%s: schema enum %v, parser %s", k.name, got, want)
			}
		}
		if p["description"] == nil {
			t.Errorf("%s: no description for editors", k.name)
		}
	}
}

// TestDecode merges a path item's extension and an operation's, as the
// scanner reads them.
func TestDecode(t *testing.T) {
	tests := []struct {
		item, op string
		declared bool
		err      string
	}{
		{`null`, `null`, false, ""},
		{`{"json_only":true}`, `{"json_only":false,"unsafe":true}`, true, ""},
		{`{"bypass":true}`, `{"roles":["hooks"],"report_only":true}`, true, ""},
		{`{"bypass":true}`, `{"json_only":true}`, true, "bypass turns every check off, so the operation's other keys (json_only)"},
		{`{"tokenz":"off"}`, `{"reauth_max_age":300}`, true, `unknown key "tokenz"`},
	}
	for _, tt := range tests {
		var item, op any
		json.Unmarshal([]byte(tt.item), &item)
		json.Unmarshal([]byte(tt.op), &op)
		r, declared, err := Decode(item, op)
		if declared != tt.declared || (err == nil) != (tt.err == "") || err != nil && !strings.Contains(err.Error(), tt.err) {
			t.Errorf("Decode(%s, %s) = %+v, %v, %v; want declared %v, error %q", tt.item, tt.op, r, declared, err, tt.declared, tt.err)
		}
	}
	r, _, _ := Decode(map[string]any{"json_only": true}, map[string]any{"json_only": false, "unsafe": true})
	if r.JSONOnly || !r.Unsafe {
		t.Errorf("the operation's keys must win: %+v", r)
	}
}
