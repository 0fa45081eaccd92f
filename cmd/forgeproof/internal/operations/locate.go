package operations

import (
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// A locator finds the line of a key in the description's source, which
// kin-openapi does not keep. JSON is read as the YAML it is.
type locator struct {
	root ast.Node // nil when the source does not parse
}

func newLocator(src []byte) *locator {
	f, err := parser.ParseBytes(src, 0)
	if err != nil || len(f.Docs) == 0 {
		return &locator{}
	}
	return &locator{root: f.Docs[0].Body}
}

// find returns the line and column of the key at the end of path, a
// series of mapping keys from the document's root, or of the deepest key
// of path found; 0, 0 when none is.
func (l *locator) find(path []string) (line, col int) {
	n := l.root
	for _, key := range path {
		var next ast.Node
		for _, kv := range entries(n) {
			if keyText(kv.Key) == key {
				if tk := kv.Key.GetToken(); tk != nil && tk.Position != nil {
					line, col = tk.Position.Line, tk.Position.Column
				}
				next = kv.Value
				break
			}
		}
		if next == nil {
			return line, col
		}
		n = next
	}
	return line, col
}

// entries returns the key-value pairs of n when it is a mapping, through
// anchors and tags.
func entries(n ast.Node) []*ast.MappingValueNode {
	for {
		switch t := n.(type) {
		case *ast.MappingNode:
			return t.Values
		case *ast.MappingValueNode:
			return []*ast.MappingValueNode{t}
		case *ast.AnchorNode:
			n = t.Value
		case *ast.TagNode:
			n = t.Value
		default:
			return nil
		}
	}
}

// keyText returns the text of a mapping key.
func keyText(n ast.Node) string {
	switch t := n.(type) {
	case *ast.StringNode:
		return t.Value
	case *ast.MappingKeyNode:
		return keyText(t.Value)
	}
	if tk := n.GetToken(); tk != nil {
		return tk.Value
	}
	return ""
}
