package config_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/config"
)

// The configuration reference and the JSON Schema are kept in step with the
// Go types: every key has a section in docs/CONFIGURATION.md, in the order
// of the fields, whose first line gives its type and default, and the
// schema is generated from the types and the first paragraph of each
// section (run with -update to regenerate it).

const (
	referenceFile = "../../../../docs/CONFIGURATION.md"
	schemaFile    = "../../../../docs/config.schema.json"
)

// A key is one key of the configuration, as the reference documents it.
type key struct {
	path  string // "upstreams[].url"
	field reflect.StructField
	typ   reflect.Type // the field's type
	def   reflect.Value
}

var (
	durationType = reflect.TypeFor[time.Duration]()
	secretType   = reflect.TypeFor[config.Secret]()
)

// keys lists every key, depth first from Config in the order of the
// fields. A struct type reached twice (Cookie, Headers and CORS, at the top
// level and in routes) is described under the first path that reaches it.
func keys() []key {
	def := &config.Config{Upstreams: []config.Upstream{{}}, Routes: []config.Route{{}}, Cookies: []config.Cookie{{}}, CORS: &config.CORS{}}
	def.SetDefaults()
	claimed := map[reflect.Type]bool{reflect.TypeFor[config.Config](): true}
	var out []key
	var walk func(path string, v reflect.Value)
	walk = func(prefix string, v reflect.Value) {
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if !f.IsExported() || name == "" {
				continue
			}
			path := name
			if prefix != "" {
				path = prefix + "." + name
			}
			fv := v.Field(i)
			out = append(out, key{path: path, field: f, typ: f.Type, def: fv})
			st, sv, suffix := f.Type, fv, ""
			for st.Kind() == reflect.Pointer || st.Kind() == reflect.Slice {
				if st.Kind() == reflect.Slice {
					suffix += "[]"
				}
				st = st.Elem()
				switch {
				case sv.Kind() == reflect.Pointer && !sv.IsNil():
					sv = sv.Elem()
				case sv.Kind() == reflect.Slice && sv.Len() > 0:
					sv = sv.Index(0)
				default:
					sv = reflect.New(st).Elem()
				}
			}
			if st.Kind() == reflect.Struct && st != secretType && !claimed[st] {
				claimed[st] = true
				walk(path+suffix, sv)
			}
		}
	}
	walk("", reflect.ValueOf(def).Elem())
	return out
}

// formatDuration writes d as a reader would: 12h, 2m, 1m30s.
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// typeName is the type as the reference names it.
func typeName(t reflect.Type) string {
	switch {
	case t == durationType:
		return "duration"
	case t == secretType:
		return "secret"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return typeName(t.Elem())
	case reflect.Slice:
		return "list of " + typeName(t.Elem()) + "s"
	case reflect.Struct:
		return "mapping"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int64:
		return "integer"
	case reflect.String:
		return "string"
	}
	panic("no name for " + t.String())
}

// defaultText is the default as the reference states it.
func defaultText(k key) string {
	v := k.def
	if v.Kind() == reflect.Pointer && !v.IsNil() && v.Elem().Kind() != reflect.Struct {
		v = v.Elem() // a key whose default tells unset from false
	}
	switch {
	case k.typ == durationType:
		if v.Int() == 0 {
			return "none"
		}
		return "`" + formatDuration(time.Duration(v.Int())) + "`"
	case k.typ == secretType:
		if s := v.Interface().(config.Secret); !s.IsZero() {
			return "`" + s.Value() + "`"
		}
		return "none"
	}
	switch v.Kind() {
	case reflect.Bool:
		return fmt.Sprintf("`%v`", v.Bool())
	case reflect.Int, reflect.Int64:
		return fmt.Sprintf("`%d`", v.Int())
	case reflect.String:
		if v.String() == "" {
			return "none"
		}
		return "`" + v.String() + "`"
	}
	return "none"
}

// section is one "### `key`" section of the reference.
type section struct {
	path, meta, desc string
	line             int
}

var heading = regexp.MustCompile("^### `([^`]+)`$")

func readReference(t *testing.T) []section {
	b, err := os.ReadFile(referenceFile)
	if err != nil {
		t.Fatal(err)
	}
	var secs []section
	var cur *section
	var para []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if m := heading.FindStringSubmatch(line); m != nil {
			secs = append(secs, section{path: m[1], line: n})
			cur, para = &secs[len(secs)-1], nil
			continue
		}
		if strings.HasPrefix(line, "#") {
			cur = nil
			continue
		}
		if cur == nil {
			continue
		}
		switch {
		case line == "":
			if len(para) > 0 && cur.meta == "" {
				cur.meta = strings.Join(para, " ")
			} else if len(para) > 0 && cur.desc == "" {
				cur.desc = strings.Join(para, " ")
			}
			para = nil
		default:
			para = append(para, line)
		}
	}
	if cur != nil && len(para) > 0 && cur.desc == "" {
		cur.desc = strings.Join(para, " ")
	}
	return secs
}

func TestReferenceInStep(t *testing.T) {
	secs := readReference(t)
	ks := keys()
	byPath := map[string]section{}
	for _, s := range secs {
		byPath[s.path] = s
	}
	want := map[string]bool{}
	for i, k := range ks {
		want[k.path] = true
		s, ok := byPath[k.path]
		if !ok {
			t.Errorf("%s: no section for %s; add one, in the order of the fields:\n\n### `%s`\n\n%s · default %s\n\nWhat it does, its zero value, its risk.\n",
				referenceFile, k.path, k.path, typeName(k.typ), defaultText(k))
			continue
		}
		if i < len(secs) && secs[i].path != k.path {
			t.Errorf("%s:%d: section %s is out of order: expected %s here (the order of the fields)", referenceFile, secs[i].line, secs[i].path, k.path)
		}
		meta := fmt.Sprintf("%s · default %s", typeName(k.typ), defaultText(k))
		if s.meta != meta {
			t.Errorf("%s:%d: %s: first line is %q, want %q", referenceFile, s.line, k.path, s.meta, meta)
		}
		if s.desc == "" {
			t.Errorf("%s:%d: %s: no description", referenceFile, s.line, k.path)
		}
	}
	for _, s := range secs {
		if !want[s.path] {
			t.Errorf("%s:%d: section %s documents no key of the configuration", referenceFile, s.line, s.path)
		}
	}
}

// TestSchemaInStep regenerates the JSON Schema from the types and the
// reference and compares it with docs/config.schema.json.
func TestSchemaInStep(t *testing.T) {
	desc := map[string]string{}
	for _, s := range readReference(t) {
		desc[s.path] = s.desc
	}
	got, err := json.MarshalIndent(schema(keys(), desc), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, '\n')
	if *update {
		if err := os.WriteFile(schemaFile, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is out of step with the configuration types: run go test ./internal/config -run TestSchemaInStep -update", schemaFile)
	}
}

// TestSchemaAgainstExamples checks the example configurations with the
// schema, as an editor would: the good ones pass, and the one with unknown
// keys is flagged at each of them.
func TestSchemaAgainstExamples(t *testing.T) {
	b, err := os.ReadFile(schemaFile)
	if err != nil {
		t.Fatal(err)
	}
	var s object
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("%s is not JSON: %v", schemaFile, err)
	}
	tests := []struct {
		file string
		want []string // the problems, by path
	}{
		{"good/full.yaml", nil},
		{"good/minimal.yaml", nil},
		{"bad/unknown-keys.yaml", []string{"adress", "protection.SessionCookie", "protection.completely_unrelated_key",
			"protection.trusted_orgins", "routes[0].jsonOnly", "routes[0].tokns", "tls.certificate", "upstreams[0].pathprefix"}},
		{"bad/types.yaml", []string{"addr", "limits.idle_timeout", "limits.max_body_bytes", "limits.max_header_bytes", "limits.shutdown_timeout",
			"log", "protection.deny_missing_origin", "protection.keys", "protection.trusted_origins", "routes[0].json_only", "routes[0].pattern", "upstreams"}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			data, err := os.ReadFile(testdata + "/" + tt.file)
			if err != nil {
				t.Fatal(err)
			}
			var doc any
			if err := yaml.Unmarshal(data, &doc); err != nil {
				t.Fatal(err)
			}
			var got []string
			check(s, s, doc, "", &got)
			slices.Sort(got)
			if !slices.Equal(got, tt.want) {
				t.Errorf("schema problems at %q, want %q", got, tt.want)
			}
		})
	}
}

// check is a small JSON Schema validator for the subset the generated
// schema uses: $ref, type, properties, additionalProperties, items, enum,
// minimum, pattern, oneOf.
func check(root, s object, v any, path string, bad *[]string) {
	if ref, ok := s["$ref"].(string); ok {
		s = root["$defs"].(object)[strings.TrimPrefix(ref, "#/$defs/")].(object)
	}
	fail := func() { *bad = append(*bad, path) }
	if alts, ok := s["oneOf"].([]any); ok {
		n := 0
		for _, a := range alts {
			var sub []string
			check(root, a.(object), v, path, &sub)
			if len(sub) == 0 {
				n++
			}
		}
		if n != 1 {
			fail()
		}
		return
	}
	switch s["type"] {
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			fail()
			return
		}
		props := s["properties"].(object)
		for k, e := range m {
			kp := k
			if path != "" {
				kp = path + "." + k
			}
			ps, ok := props[k].(object)
			if !ok {
				*bad = append(*bad, kp)
				continue
			}
			check(root, ps, e, kp, bad)
		}
	case "array":
		a, ok := v.([]any)
		if !ok {
			fail()
			return
		}
		for i, e := range a {
			check(root, s["items"].(object), e, fmt.Sprintf("%s[%d]", path, i), bad)
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			fail()
			return
		}
		if enum, ok := s["enum"].([]any); ok && !slices.Contains(enum, any(str)) {
			fail()
		}
		if p, ok := s["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(str) {
			fail()
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			fail()
		}
	case "integer":
		switch n := v.(type) {
		case uint64:
		case int64:
			if n < 0 {
				fail()
			}
		default:
			fail()
		}
	}
}

type object = map[string]any

// schema builds a JSON Schema (draft 2020-12) of the configuration.
func schema(ks []key, desc map[string]string) object {
	defs := object{}
	root := object{
		"$schema":              "https://json-schema.org/draft/2020-12/schema",
		"$id":                  "https://github.com/forgeproof/forgeproof/blob/main/docs/config.schema.json",
		"title":                "forgeproof serve configuration",
		"description":          "Configuration of the forgeproof CSRF gateway; see docs/CONFIGURATION.md.",
		"type":                 "object",
		"additionalProperties": false,
		"properties":           object{},
		"$defs":                defs,
	}
	// Every struct type is one definition; the root is Config.
	owner := map[string]object{"": root}
	defName := map[reflect.Type]string{}
	for _, k := range ks {
		parentPath := ""
		if i := strings.LastIndex(k.path, "."); i >= 0 {
			parentPath = k.path[:i]
		}
		props := owner[parentPath]["properties"].(object)
		p := propSchema(k, defName, defs, owner)
		if d := desc[k.path]; d != "" {
			p["description"] = d
		}
		props[k.path[strings.LastIndex(k.path, ".")+1:]] = p
	}
	defs["secret"] = object{
		"description": "A literal value, or a reference to an environment variable or a file that holds it.",
		"oneOf": []any{
			object{"type": "string"},
			object{"type": "object", "additionalProperties": false, "required": []any{"env"}, "properties": object{"env": object{"type": "string", "minLength": 1}}},
			object{"type": "object", "additionalProperties": false, "required": []any{"file"}, "properties": object{"file": object{"type": "string", "minLength": 1}}},
		},
	}
	defs["duration"] = object{
		"description": "A Go duration such as 30s, 5m or 12h.",
		"type":        "string",
		"pattern":     `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$|^0$`,
	}
	return root
}

func propSchema(k key, defName map[reflect.Type]string, defs object, owner map[string]object) object {
	t := k.typ
	var wrap func(object) object = func(o object) object { return o }
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		if t.Kind() == reflect.Slice {
			inner := wrap
			wrap = func(o object) object { return inner(object{"type": "array", "items": o}) }
		}
		t = t.Elem()
	}
	var item object
	switch {
	case t == durationType:
		item = object{"$ref": "#/$defs/duration"}
	case t == secretType:
		item = object{"$ref": "#/$defs/secret"}
	case t.Kind() == reflect.Struct:
		name, ok := defName[t]
		if !ok {
			name = strings.ToLower(t.Name())
			defName[t] = name
			def := object{"type": "object", "additionalProperties": false, "properties": object{}}
			defs[name] = def
			// The keys below this path belong to this definition.
			p := k.path
			for tt := k.typ; tt.Kind() == reflect.Pointer || tt.Kind() == reflect.Slice; tt = tt.Elem() {
				if tt.Kind() == reflect.Slice {
					p += "[]"
				}
			}
			owner[p] = def
		}
		item = object{"$ref": "#/$defs/" + name}
	case t.Kind() == reflect.Bool:
		item = object{"type": "boolean"}
	case t.Kind() == reflect.Int || t.Kind() == reflect.Int64:
		item = object{"type": "integer", "minimum": 0}
	case t.Kind() == reflect.String:
		item = object{"type": "string"}
		if enum := k.field.Tag.Get("enum"); enum != "" {
			var vals []any
			for _, v := range strings.Split(enum, ",") {
				vals = append(vals, v)
			}
			item["enum"] = vals
		}
	}
	o := wrap(item)
	if d := defaultJSON(k); d != nil {
		o["default"] = d
	}
	return o
}

func defaultJSON(k key) any {
	v := k.def
	switch {
	case k.typ == durationType:
		if v.Int() != 0 {
			return formatDuration(time.Duration(v.Int()))
		}
		return nil
	case k.typ == secretType:
		if s := v.Interface().(config.Secret); !s.IsZero() {
			return s.Value()
		}
		return nil
	}
	switch v.Kind() {
	case reflect.Bool:
		return v.Bool()
	case reflect.Int, reflect.Int64:
		if v.Int() != 0 {
			return v.Int()
		}
	case reflect.String:
		if v.String() != "" {
			return v.String()
		}
	}
	return nil
}
