package config

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// A Pos is where a value came from: a line and column of a file, or a
// command-line flag (File "--upstream", Line 0).
type Pos struct {
	File      string
	Line, Col int
}

// String returns "file:line:col", or the file (or flag) alone when the line
// is unknown.
func (p Pos) String() string {
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// An Error is one problem of a configuration.
type Error struct {
	Pos Pos
	// Path is the key's path, such as "routes[1].tokens", or "" for the
	// whole file.
	Path string
	Msg  string
}

// Error returns "file:line:col: path: message".
func (e *Error) Error() string {
	var b strings.Builder
	if s := e.Pos.String(); s != "" {
		b.WriteString(s)
		b.WriteString(": ")
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// An ErrorList is every problem found in a configuration, in the order of
// the file.
type ErrorList []*Error

// Error returns one problem per line.
func (l ErrorList) Error() string {
	var b strings.Builder
	for i, e := range l {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Sort orders the list by file position; problems without a line come
// last, in the order they were found.
func (l ErrorList) Sort() {
	slices.SortStableFunc(l, func(a, b *Error) int {
		switch {
		case a.Pos.Line == 0 && b.Pos.Line == 0:
			return 0
		case a.Pos.Line == 0:
			return 1
		case b.Pos.Line == 0:
			return -1
		}
		if c := cmp.Compare(a.Pos.Line, b.Pos.Line); c != 0 {
			return c
		}
		return cmp.Compare(a.Pos.Col, b.Pos.Col)
	})
}

// err returns l as an error: nil when empty.
func (l ErrorList) err() error {
	if len(l) == 0 {
		return nil
	}
	return l
}
