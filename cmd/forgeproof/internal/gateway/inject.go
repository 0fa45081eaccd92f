package gateway

import (
	"bytes"
	"compress/gzip"
	"html"
	"io"
	"net/url"
	"strings"
)

// An injector rewrites an HTML document as it streams: it inserts a snippet
// after the opening <head> tag (or <body>, when the document has no head)
// and a hidden field after every opening <form> tag whose method is POST
// and whose action is same-origin. Nothing else changes: removing the
// inserted snippets from the output gives back the input byte for byte,
// however the input was split into writes.
//
// It is a small tokenizer, not a full HTML parser: it skips comments and the
// content of raw-text elements (script, style, textarea, title…), where a
// "<form" is text, and it gives up on a tag longer than maxTag bytes by
// passing it through unchanged.
type injector struct {
	head   []byte // nil once inserted
	field  []byte
	origin string // the page's origin, "scheme://host[:port]"

	state  uint8
	buf    []byte // the markup being examined
	raw    string // the raw-text element we are in, or ""
	quote  byte   // the quote of an attribute value being read, or 0
	eq     bool   // the last non-space byte of the tag was '='
	dashes int    // dashes seen just before, in a comment
}

const maxTag = 16 << 10

const (
	sText    uint8 = iota
	sOpen          // read "<"
	sBang          // read "<!", maybe a comment
	sComment       // inside <!-- -->
	sTag           // inside a tag, up to its '>'
	sRawEnd        // inside raw text, read "</" and maybe the element's name
	sLongTag       // inside a tag too long to examine, up to its '>'
)

// rawText are the elements whose content has no tags.
var rawText = map[string]bool{
	"script": true, "style": true, "textarea": true, "title": true,
	"xmp": true, "iframe": true, "noembed": true, "noframes": true,
	"plaintext": true,
}

func newInjector(head, field []byte, origin string) *injector {
	return &injector{head: head, field: field, origin: origin}
}

// write appends to dst the output for the next input bytes p.
func (in *injector) write(dst, p []byte) []byte {
	for len(p) > 0 {
		switch in.state {
		case sText:
			i := bytes.IndexByte(p, '<')
			if i < 0 {
				return append(dst, p...)
			}
			dst = append(dst, p[:i]...)
			in.buf = append(in.buf[:0], '<')
			in.state = sOpen
			p = p[i+1:]
		case sOpen:
			c := p[0]
			switch {
			case in.raw != "":
				if c == '/' {
					in.buf = append(in.buf, c)
					in.state = sRawEnd
					p = p[1:]
				} else {
					dst = in.flushText(dst)
				}
			case c == '!':
				in.buf = append(in.buf, c)
				in.state = sBang
				p = p[1:]
			case c == '/' || c == '?' || isLetter(c):
				in.buf = append(in.buf, c)
				in.state, in.quote, in.eq = sTag, 0, false
				p = p[1:]
			default:
				dst = in.flushText(dst)
			}
		case sBang:
			// Have "<!" or "<!-"; a comment starts with "<!--".
			c := p[0]
			if c == '-' {
				in.buf = append(in.buf, c)
				p = p[1:]
				if len(in.buf) == 4 {
					dst = append(dst, in.buf...)
					in.buf = in.buf[:0]
					in.state, in.dashes = sComment, 0
				}
				continue
			}
			in.state, in.quote, in.eq = sTag, 0, false // a declaration such as <!DOCTYPE html>
		case sComment:
			i := 0
			for ; i < len(p); i++ {
				c := p[i]
				if c == '>' && in.dashes >= 2 {
					i++
					in.state = sText
					break
				}
				if c == '-' {
					in.dashes++
				} else {
					in.dashes = 0
				}
			}
			dst = append(dst, p[:i]...)
			p = p[i:]
		case sRawEnd:
			// Have "</" and a prefix of the raw element's name.
			c := p[0]
			n := len(in.buf) - 2
			if n < len(in.raw) {
				if lower(c) != in.raw[n] {
					dst = in.flushText(dst)
					continue
				}
				in.buf = append(in.buf, c)
				p = p[1:]
				continue
			}
			if c == '>' || c == '/' || isSpace(c) {
				in.state, in.quote, in.eq = sTag, 0, false
				continue
			}
			dst = in.flushText(dst)
		case sTag, sLongTag:
			i, done := in.scanTag(p)
			if in.state == sLongTag {
				dst = append(dst, p[:i]...)
			} else {
				in.buf = append(in.buf, p[:i]...)
			}
			p = p[i:]
			switch {
			case in.state == sLongTag:
				if done {
					in.state = sText
				}
			case len(in.buf) > maxTag:
				// Too long to examine: pass it through, up to its end.
				dst = append(dst, in.buf...)
				in.buf = in.buf[:0]
				in.state = sLongTag
				if done {
					in.state = sText
				}
			case done:
				dst = in.tag(dst)
				in.buf = in.buf[:0]
				in.state = sText
			}
		}
	}
	return dst
}

// scanTag returns how many bytes of p belong to the current tag, and
// whether they end it (with its unquoted '>').
func (in *injector) scanTag(p []byte) (int, bool) {
	for i, c := range p {
		switch {
		case in.quote != 0:
			if c == in.quote {
				in.quote = 0
			}
		case c == '>':
			return i + 1, true
		case (c == '"' || c == '\'') && in.eq:
			in.quote = c
		}
		if !isSpace(c) {
			in.eq = c == '=' && in.quote == 0
		}
	}
	return len(p), false
}

// flushText passes the examined markup through as text.
func (in *injector) flushText(dst []byte) []byte {
	dst = append(dst, in.buf...)
	in.buf = in.buf[:0]
	in.state = sText
	return dst
}

// close appends whatever input is still held back.
func (in *injector) close(dst []byte) []byte {
	dst = append(dst, in.buf...)
	in.buf = in.buf[:0]
	in.state = sText
	return dst
}

// tag appends the complete tag in in.buf, and what goes after it.
func (in *injector) tag(dst []byte) []byte {
	t := in.buf
	dst = append(dst, t...)
	if len(t) < 3 || t[1] == '!' || t[1] == '?' {
		return dst
	}
	end := t[1] == '/'
	name := t[1:]
	if end {
		name = name[1:]
	}
	n := 0
	for n < len(name) && !isSpace(name[n]) && name[n] != '/' && name[n] != '>' {
		n++
	}
	tagName := strings.ToLower(string(name[:n]))
	attrs := name[n:]
	if end {
		if tagName == in.raw {
			in.raw = ""
		}
		return dst
	}
	if in.raw != "" {
		return dst
	}
	switch tagName {
	case "head", "body":
		if in.head != nil {
			dst = append(dst, in.head...)
			in.head = nil
		}
	case "form":
		method, _ := attr(attrs, "method")
		action, hasAction := attr(attrs, "action")
		if strings.EqualFold(strings.TrimSpace(method), "post") && (!hasAction || sameOrigin(action, in.origin)) {
			dst = append(dst, in.field...)
		}
	}
	if rawText[tagName] { // "<script/>" opens a script too
		in.raw = tagName
	}
	return dst
}

// attr returns the value of the named attribute in the attribute part of
// a tag (the text after its name), with character references decoded. The
// first occurrence wins, as in browsers.
func attr(s []byte, name string) (string, bool) {
	i := 0
	for i < len(s) {
		for i < len(s) && (isSpace(s[i]) || s[i] == '/') {
			i++
		}
		if i >= len(s) || s[i] == '>' {
			break
		}
		start := i
		for i < len(s) && !isSpace(s[i]) && s[i] != '=' && s[i] != '>' && (s[i] != '/' || i == start) {
			i++
		}
		key := s[start:i]
		for i < len(s) && isSpace(s[i]) {
			i++
		}
		var val []byte
		if i < len(s) && s[i] == '=' {
			i++
			for i < len(s) && isSpace(s[i]) {
				i++
			}
			if i < len(s) && (s[i] == '"' || s[i] == '\'') {
				q := s[i]
				i++
				vs := i
				for i < len(s) && s[i] != q {
					i++
				}
				val = s[vs:i]
				if i < len(s) {
					i++
				}
			} else {
				vs := i
				for i < len(s) && !isSpace(s[i]) && s[i] != '>' {
					i++
				}
				val = s[vs:i]
			}
		}
		if strings.EqualFold(string(key), name) {
			return html.UnescapeString(string(val)), true
		}
	}
	return "", false
}

// sameOrigin reports whether a form action URL, resolved against a page of
// the given origin, stays on that origin. Anything it cannot tell is not
// same-origin, so that a token never leaves for another site.
func sameOrigin(action, origin string) bool {
	// Browsers drop tabs and newlines in URLs, trim surrounding C0
	// controls and spaces, and read '\' as '/' in http(s) URLs.
	action = strings.Map(func(r rune) rune {
		switch r {
		case '\t', '\n', '\r':
			return -1
		case '\\':
			return '/'
		}
		return r
	}, strings.TrimFunc(action, func(r rune) bool { return r <= ' ' }))
	if action == "" {
		return true
	}
	u, err := url.Parse(action)
	if err != nil {
		return false
	}
	if u.Scheme == "" && u.Host == "" && !strings.HasPrefix(action, "//") {
		return true // a relative reference
	}
	scheme := u.Scheme
	if scheme == "" {
		scheme, _, _ = strings.Cut(origin, "://")
	}
	if u.Host == "" {
		return false
	}
	a, ok := normalizeOrigin(scheme + "://" + u.Host)
	if !ok {
		return false
	}
	b, ok := normalizeOrigin(origin)
	return ok && a == b
}

func isLetter(c byte) bool { return 'a' <= c|0x20 && c|0x20 <= 'z' }
func isSpace(c byte) bool  { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }
func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// rewriteBody is a response body passed through an injector, and through
// gzip when the backend's body was gzip-encoded.
type rewriteBody struct {
	upstream io.Closer
	src      io.Reader // the decoded body
	inj      *injector
	zw       *gzip.Writer // nil for an identity body
	out      bytes.Buffer
	chunk    []byte
	scratch  []byte
	err      error // the final error, io.EOF when done
}

func newRewriteBody(upstream io.Closer, src io.Reader, inj *injector, gz bool) *rewriteBody {
	b := &rewriteBody{upstream: upstream, src: src, inj: inj, chunk: make([]byte, 32<<10)}
	if gz {
		b.zw = gzip.NewWriter(&b.out)
	}
	return b
}

// Read returns the rewritten body. Each chunk read from the backend is
// rewritten and (for gzip) flushed at once, so that a streamed page reaches
// the client as it is produced.
func (b *rewriteBody) Read(p []byte) (int, error) {
	for b.out.Len() == 0 {
		if b.err != nil {
			return 0, b.err
		}
		n, err := b.src.Read(b.chunk)
		b.scratch = b.inj.write(b.scratch[:0], b.chunk[:n])
		if err == io.EOF {
			b.scratch = b.inj.close(b.scratch)
		}
		if werr := b.emit(err == io.EOF); werr != nil && err == nil {
			err = werr
		}
		if err != nil {
			b.err = err
		}
	}
	return b.out.Read(p)
}

// emit moves b.scratch to the output buffer.
func (b *rewriteBody) emit(last bool) error {
	if b.zw == nil {
		b.out.Write(b.scratch)
		return nil
	}
	if len(b.scratch) > 0 {
		if _, err := b.zw.Write(b.scratch); err != nil {
			return err
		}
		if !last {
			if err := b.zw.Flush(); err != nil {
				return err
			}
		}
	}
	if last {
		return b.zw.Close()
	}
	return nil
}

func (b *rewriteBody) Close() error { return b.upstream.Close() }
