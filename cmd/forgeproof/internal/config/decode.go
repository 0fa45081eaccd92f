package config

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// Bounds on a configuration file, so that a hostile one cannot exhaust
// memory: its size, and how many aliases (*name) it may expand.
const (
	maxFileBytes = 1 << 20
	maxAliases   = 1000
)

// Load reads and parses the configuration file at path. See [Parse].
func Load(path string) (*Config, error) {
	return LoadWith(path, nil)
}

// LoadWith is [Load] with a hook: adjust, if not nil, is called after the
// file is decoded and before defaults and validation, to override values
// (from command-line flags). If path is "", the configuration starts
// empty instead of from a file.
func LoadWith(path string, adjust func(*Config)) (*Config, error) {
	if path == "" {
		return parse("", nil, adjust)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	// Read one byte past the bound, so that Decode reports a file too large
	// without this reading all of it.
	b, err := io.ReadAll(io.LimitReader(f, maxFileBytes+1))
	if err != nil {
		return nil, err
	}
	return parse(path, b, adjust)
}

// Parse decodes a configuration file, resolves its secrets, applies the
// defaults and validates the result. The name is used in error positions.
// On failure the error is an [ErrorList] of every problem found, and the
// returned Config must not be used.
func Parse(name string, data []byte) (*Config, error) {
	return parse(name, data, nil)
}

func parse(name string, data []byte, adjust func(*Config)) (*Config, error) {
	c, err := Decode(name, data)
	if c == nil {
		return nil, err
	}
	if adjust != nil {
		adjust(c)
	}
	c.SetDefaults()
	verr := c.Validate()
	if err == nil {
		return c, verr
	}
	list := err.(ErrorList)
	if verr != nil {
		list = append(list, verr.(ErrorList)...)
	}
	list.Sort()
	return c, list
}

// Decode decodes a configuration file strictly, without defaults or
// validation: unknown keys, duplicate keys and values of the wrong type are
// reported as an [ErrorList]. The Config holds what could be decoded; it is
// nil when the file is not YAML at all (a syntax error).
func Decode(name string, data []byte) (*Config, error) {
	c := &Config{file: name, pos: map[string]Pos{}, bad: map[string]bool{}}
	d := &decoder{file: name, pos: c.pos, bad: c.bad, anchors: map[string]ast.Node{}}
	if len(data) > maxFileBytes {
		d.errorf(Pos{File: name}, "", "file is larger than %d bytes", maxFileBytes)
		return nil, d.errs
	}
	f, err := parser.ParseBytes(data, 0, parser.AllowDuplicateMapKey())
	if err != nil {
		d.syntaxError(err)
		return nil, d.errs
	}
	var body ast.Node
	for _, doc := range f.Docs {
		if doc.Body == nil {
			continue
		}
		if body != nil {
			d.errorf(d.position(doc.Body), "", "more than one YAML document: keep the whole configuration in one")
			break
		}
		body = doc.Body
	}
	if body != nil {
		d.decode(body, reflect.ValueOf(c).Elem(), "")
	}
	c.TLS.Cert = d.rel(c.TLS.Cert)
	c.TLS.Key = d.rel(c.TLS.Key)
	c.OpenAPI.File = d.rel(c.OpenAPI.File)
	return c, d.errs.err()
}

type decoder struct {
	file    string
	pos     map[string]Pos
	bad     map[string]bool
	anchors map[string]ast.Node
	aliases int
	errs    ErrorList
}

// rel resolves a file name written in the configuration against the
// directory of the configuration file.
func (d *decoder) rel(name string) string {
	if name == "" || filepath.IsAbs(name) || d.file == "" {
		return name
	}
	return filepath.Join(filepath.Dir(d.file), name)
}

// errorf reports a problem with the value at path, which validation then
// leaves alone.
func (d *decoder) errorf(p Pos, path, format string, args ...any) {
	d.bad[path] = true
	d.report(p, path, format, args...)
}

// report reports a problem at path without marking its value bad.
func (d *decoder) report(p Pos, path, format string, args ...any) {
	d.errs = append(d.errs, &Error{Pos: p, Path: path, Msg: fmt.Sprintf(format, args...)})
}

func (d *decoder) position(n ast.Node) Pos {
	if m, ok := n.(*ast.MappingNode); ok && len(m.Values) > 0 && !m.IsFlowStyle {
		n = m.Values[0].Key
	}
	tk := n.GetToken()
	if tk == nil || tk.Position == nil {
		return Pos{File: d.file}
	}
	return Pos{File: d.file, Line: tk.Position.Line, Col: tk.Position.Column}
}

func (d *decoder) syntaxError(err error) {
	var ye yaml.Error
	if errors.As(err, &ye) && ye.GetToken() != nil && ye.GetToken().Position != nil {
		p := ye.GetToken().Position
		d.errorf(Pos{File: d.file, Line: p.Line, Col: p.Column}, "", "YAML syntax: %s", ye.GetMessage())
		return
	}
	d.errorf(Pos{File: d.file}, "", "YAML syntax: %v", err)
}

var (
	durationType = reflect.TypeFor[time.Duration]()
	secretType   = reflect.TypeFor[Secret]()
)

// decode stores the value of n into v, whose key path is path.
func (d *decoder) decode(n ast.Node, v reflect.Value, path string) {
	n = d.unwrap(n, path)
	if n == nil {
		return
	}
	if _, ok := n.(*ast.NullNode); ok {
		return // an empty value leaves the zero value (the default)
	}
	switch {
	case v.Type() == secretType:
		d.decodeSecret(n, v.Addr().Interface().(*Secret), path)
		return
	case v.Type() == durationType:
		d.decodeDuration(n, v, path)
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		e := reflect.New(v.Type().Elem())
		d.decode(n, e.Elem(), path)
		v.Set(e)
	case reflect.Struct:
		m, ok := n.(*ast.MappingNode)
		if !ok {
			d.errorf(d.position(n), path, "expected a mapping of keys to values, found %s", describe(n))
			return
		}
		d.decodeStruct(m, v, path)
	case reflect.Slice:
		s, ok := n.(*ast.SequenceNode)
		if !ok {
			d.errorf(d.position(n), path, "expected a list, found %s", describe(n))
			return
		}
		v.Set(reflect.MakeSlice(v.Type(), len(s.Values), len(s.Values)))
		for i, e := range s.Values {
			ep := fmt.Sprintf("%s[%d]", path, i)
			d.pos[ep] = d.position(e)
			d.decode(e, v.Index(i), ep)
		}
	case reflect.String:
		s, ok := stringValue(n)
		if !ok {
			d.errorf(d.position(n), path, "expected a string, found %s (quote it if it is meant as text)", describe(n))
			return
		}
		v.SetString(s)
	case reflect.Bool:
		b, ok := n.(*ast.BoolNode)
		if !ok {
			d.errorf(d.position(n), path, "expected true or false, found %s", describe(n))
			return
		}
		v.SetBool(b.Value)
	case reflect.Int, reflect.Int64:
		i, ok := n.(*ast.IntegerNode)
		if !ok {
			d.errorf(d.position(n), path, "expected an integer, found %s", describe(n))
			return
		}
		x, ok := toInt64(i.Value)
		if !ok || x < 0 || (v.Kind() == reflect.Int && x > math.MaxInt32) {
			d.errorf(d.position(n), path, "integer %s is out of range", i.Token.Value)
			return
		}
		v.SetInt(x)
	default:
		panic("config: no decoder for " + v.Type().String())
	}
}

// unwrap resolves tags, anchors and aliases.
func (d *decoder) unwrap(n ast.Node, path string) ast.Node {
	for {
		switch t := n.(type) {
		case *ast.TagNode:
			d.errorf(d.position(n), path, "YAML tags such as %s are not supported", t.Start.Value)
			return nil
		case *ast.AnchorNode:
			d.anchors[t.Name.String()] = t.Value
			n = t.Value
		case *ast.AliasNode:
			if d.aliases++; d.aliases > maxAliases {
				d.errorf(d.position(n), path, "more than %d aliases: write the configuration out", maxAliases)
				return nil
			}
			name := t.Value.String()
			a, ok := d.anchors[name]
			if !ok {
				d.errorf(d.position(n), path, "alias *%s names no anchor defined before it", name)
				return nil
			}
			n = a
		default:
			return n
		}
	}
}

func (d *decoder) decodeStruct(m *ast.MappingNode, v reflect.Value, path string) {
	fields := structFields(v.Type())
	seen := map[string]Pos{}
	for _, kv := range m.Values {
		if _, merge := kv.Key.(*ast.MergeKeyNode); merge {
			d.errorf(d.position(kv.Key), path, "merge keys (<<) are not supported: write the keys out")
			continue
		}
		key, ok := stringValue(kv.Key)
		if !ok {
			d.errorf(d.position(kv.Key), path, "expected a key name, found %s", describe(kv.Key))
			continue
		}
		kp := join(path, key)
		p := d.position(kv.Key)
		i, ok := fields[key]
		if !ok {
			// The rest of the mapping is still checked, so that every
			// problem is reported in one pass; only the key that was
			// probably meant is not reported missing or wrong.
			hint := suggest(key, v.Type())
			d.report(p, path, "unknown key %q%s", key, hint)
			if meant, ok := strings.CutPrefix(hint, ` (did you mean "`); ok {
				d.bad[join(path, strings.TrimSuffix(meant, `"?)`))] = true
			}
			continue
		}
		if first, dup := seen[key]; dup {
			d.report(p, path, "key %q is already set on line %d: keep one", key, first.Line)
			continue
		}
		seen[key] = p
		d.pos[kp] = p
		d.decode(kv.Value, v.Field(i), kp)
	}
}

func (d *decoder) decodeSecret(n ast.Node, s *Secret, path string) {
	if v, ok := stringValue(n); ok {
		*s = Literal(v)
		return
	}
	m, ok := n.(*ast.MappingNode)
	if !ok {
		// Name only the kind of value: a secret written as a number or a
		// boolean is still a secret.
		d.errorf(d.position(n), path, "expected a string, {env: NAME} or {file: PATH}, found %s", describeKind(n))
		return
	}
	var ref Secret
	n0 := len(d.errs)
	d.decodeStruct(m, reflect.ValueOf(&ref).Elem(), path)
	ref.File = d.rel(ref.File)
	switch {
	case len(d.errs) > n0:
		// The reference's own keys were wrong; that was reported, and
		// the secret is not checked further.
		d.bad[path] = true
	case ref.Env != "" && ref.File != "":
		d.errorf(d.position(n), path, "set env or file, not both")
	case ref.Env == "" && ref.File == "":
		d.errorf(d.position(n), path, "a secret reference needs env: NAME or file: PATH")
	}
	*s = ref
}

func (d *decoder) decodeDuration(n ast.Node, v reflect.Value, path string) {
	if i, ok := n.(*ast.IntegerNode); ok {
		if x, ok := toInt64(i.Value); ok && x == 0 {
			v.SetInt(0)
			return
		}
		d.errorf(d.position(n), path, "duration %s has no unit: write it like 30s, 5m or 12h", i.Token.Value)
		return
	}
	s, ok := stringValue(n)
	if !ok {
		d.errorf(d.position(n), path, "expected a duration such as 30s, found %s", describe(n))
		return
	}
	x, err := time.ParseDuration(s)
	if err != nil {
		d.errorf(d.position(n), path, "invalid duration %q: write it like 30s, 5m or 12h", s)
		return
	}
	if x < 0 {
		d.errorf(d.position(n), path, "duration %s is negative", s)
		return
	}
	v.SetInt(int64(x))
}

// stringValue returns the text of a string scalar.
func stringValue(n ast.Node) (string, bool) {
	switch t := n.(type) {
	case *ast.StringNode:
		return t.Value, true
	case *ast.LiteralNode:
		return t.Value.Value, true
	}
	return "", false
}

func toInt64(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case uint64:
		if x <= math.MaxInt64 {
			return int64(x), true
		}
	case int:
		return int64(x), true
	}
	return 0, false
}

// describe names the kind of a node for an error message.
func describe(n ast.Node) string {
	switch t := n.(type) {
	case *ast.MappingNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case *ast.BoolNode:
		return "the boolean " + strconv.FormatBool(t.Value)
	case *ast.IntegerNode, *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		return "the number " + n.GetToken().Value
	case *ast.StringNode:
		if len(t.Value) <= 40 && !strings.ContainsAny(t.Value, "\n") {
			return strconv.Quote(t.Value)
		}
		return "a string"
	case *ast.LiteralNode:
		return "a string"
	case *ast.NullNode:
		return "nothing"
	}
	return strings.ToLower(n.Type().String())
}

// describeKind describes a YAML value by its kind alone, never its text,
// for values that may be secrets.
func describeKind(n ast.Node) string {
	switch n.(type) {
	case *ast.BoolNode:
		return "a boolean"
	case *ast.IntegerNode, *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		return "a number"
	case *ast.StringNode, *ast.LiteralNode:
		return "a string"
	}
	return describe(n)
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// structFields maps the yaml keys of t to field indexes.
func structFields(t reflect.Type) map[string]int {
	m := map[string]int{}
	for i := range t.NumField() {
		if name := yamlName(t.Field(i)); name != "" {
			m[name] = i
		}
	}
	return m
}

// yamlName returns the key of an exported, tagged field, or "".
func yamlName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	return name
}
