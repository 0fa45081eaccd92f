package gateway

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"net/url"
	"strings"

	"golang.org/x/net/html"
)

// An injector rewrites an HTML document as it streams, reading it with the
// HTML5 tokenizer of golang.org/x/net/html: it inserts a snippet (the token
// meta tag and the client script) after the opening <head> tag, or <body>
// when the document has no head, and a hidden token field before the end
// tag of every form that the browser will provably submit by POST to the
// page's own origin. Nothing else changes: removing the inserted snippets
// from the output gives back the input byte for byte.
//
// A form gets the field only when all of these hold; otherwise the client
// script adds it at submission, when it can see where the form really goes:
//
//   - its method is POST (an enumerated attribute: "post" in any case, no
//     spaces), and none of its submit buttons has a formmethod other than
//     post or dialog;
//   - its action, and the formaction of each of its submit buttons, is
//     empty (the document's own URL) or resolves to the page's origin. A
//     relative URL is resolved against the document's base URL, which is
//     known only once the first <base href> was seen, or when the
//     response's Content-Security-Policy restricts base-uri to 'self' or
//     'none' (a later <base> elsewhere is then ignored by the browser);
//   - it has no id, so that no submit button elsewhere in the page can
//     name it in a form attribute with its own formaction;
//   - the parser would create it as a form: not inside another open form
//     (a nested <form> tag is ignored by browsers), a <template>, a
//     <select>, or SVG or MathML content;
//   - its end tag closes it (an unclosed form gets no field), and no
//     <noscript> of the page held form markup (browsers without scripting
//     parse it as markup, which the tokenizer cannot follow).
//
// The field is inserted just before the form's end tag, once every submit
// button inside the form was seen; the parser associates it with the open
// form wherever it lands (inside a table too).
type injector struct {
	z    *html.Tokenizer
	src  io.Reader
	head []byte // nil once inserted
	fld  []byte

	origin     string // the page's origin, "scheme://host[:port]"
	baseLocked bool   // the CSP keeps the base URL on the page's origin
	baseSeen   bool
	baseSame   bool // the first <base href> resolves to the page's origin

	form     int    // 0 outside a form; 1 in a form that may get the field; 2 in one that may not
	template int    // depth of <template>
	foreign  int    // depth of <svg> and <math>
	inSelect bool   // inside <select>
	stop     bool   // no more fields: the page cannot be followed
	rawTag   string // the raw-text element whose content comes next, or ""

	out  bytes.Buffer // produced, not yet read
	pass bool         // the rest of src is copied unchanged
	err  error        // the final error, io.EOF when done
}

// maxTokenBytes bounds how much of one token (a tag or a run of text) the
// tokenizer buffers. Past it, the rest of the document passes through
// unchanged.
const maxTokenBytes = 1 << 20

func newInjector(src io.Reader, head, field []byte, origin string, baseLocked bool) *injector {
	z := html.NewTokenizer(src)
	z.SetMaxBuf(maxTokenBytes)
	return &injector{z: z, src: src, head: head, fld: field, origin: origin, baseLocked: baseLocked}
}

// Read returns the rewritten document.
func (in *injector) Read(p []byte) (int, error) {
	for in.out.Len() == 0 {
		if in.err != nil {
			return 0, in.err
		}
		if in.pass {
			return in.src.Read(p)
		}
		in.step()
	}
	return in.out.Read(p)
}

// step reads one token and writes it, with what goes before or after it.
func (in *injector) step() {
	tt := in.z.Next()
	if tt == html.ErrorToken {
		err := in.z.Err()
		in.out.Write(in.z.Raw())
		if errors.Is(err, html.ErrBufferExceeded) {
			// Too long to examine: pass the rest through.
			in.out.Write(in.z.Buffered())
			in.pass = true
			return
		}
		in.err = err
		return
	}
	raw := in.z.Raw()
	switch tt {
	case html.StartTagToken, html.SelfClosingTagToken:
		name, hasAttr := in.z.TagName()
		var attrs map[string]string
		if hasAttr {
			attrs = in.attrs()
		}
		before := in.startTag(string(name), attrs, tt == html.SelfClosingTagToken)
		in.out.Write(raw)
		if before && in.head != nil {
			in.out.Write(in.head)
			in.head = nil
		}
		in.rawTag = ""
		if rawTextTag(string(name)) {
			if in.foreign > 0 {
				// Foreign content has no raw-text elements.
				in.z.NextIsNotRawText()
			} else {
				in.rawTag = string(name)
			}
		}
		return
	case html.EndTagToken:
		name, _ := in.z.TagName()
		if in.endTag(string(name)) {
			in.out.Write(in.fld)
		}
	case html.TextToken:
		if in.rawTag == "noscript" && bytes.Contains(bytes.ToLower(raw), []byte("<form")) {
			in.stop = true
		}
	}
	in.rawTag = ""
	in.out.Write(raw)
}

// rawTextTag reports whether the tokenizer reads the content of the
// element as text.
func rawTextTag(name string) bool {
	switch name {
	case "iframe", "noembed", "noframes", "noscript", "plaintext", "script", "style", "textarea", "title", "xmp":
		return true
	}
	return false
}

// attrs returns the current tag's attributes, values decoded; the first of
// duplicate attributes wins, as in browsers.
func (in *injector) attrs() map[string]string {
	m := make(map[string]string)
	for {
		k, v, more := in.z.TagAttr()
		if _, dup := m[string(k)]; !dup {
			m[string(k)] = string(v)
		}
		if !more {
			return m
		}
	}
}

// startTag updates the state for a start tag and reports whether the head
// snippet goes after it.
func (in *injector) startTag(name string, attrs map[string]string, selfClosing bool) bool {
	if in.foreign > 0 {
		if breaksOutOfForeign(name, attrs) {
			in.foreign = 0
		} else {
			if (name == "svg" || name == "math") && !selfClosing {
				in.foreign++
			}
			return false
		}
	}
	switch name {
	case "head", "body":
		return in.template == 0 // template content is inert
	case "svg", "math":
		if !selfClosing {
			in.foreign++
		}
	case "template":
		in.template++
	case "select":
		in.inSelect = !in.inSelect // a <select> inside a select closes it
	case "input", "keygen", "textarea":
		in.inSelect = false
		if t := attrs["type"]; name == "input" && (strings.EqualFold(t, "submit") || strings.EqualFold(t, "image")) {
			in.submitter(attrs)
		}
	case "button":
		// A button's missing or invalid type is submit.
		in.inSelect = false
		if t := attrs["type"]; !strings.EqualFold(t, "button") && !strings.EqualFold(t, "reset") {
			in.submitter(attrs)
		}
	case "base":
		if _, ok := attrs["href"]; ok && !in.baseSeen && in.template == 0 && !in.inSelect {
			in.baseSeen = true
			in.baseSame = in.refSame(attrs["href"], in.origin)
		}
	case "form":
		if in.form != 0 || in.template > 0 || in.inSelect {
			return false // the parser ignores it, or it is inert
		}
		in.form = 2
		_, id := attrs["id"]
		if m, ok := attrs["method"]; ok && strings.EqualFold(m, "post") && !id && !in.stop && in.actionSame(attrs["action"]) {
			in.form = 1
		}
	}
	return false
}

// submitter disqualifies the open form when a submit button inside it could
// send it elsewhere or by GET.
func (in *injector) submitter(attrs map[string]string) {
	if in.form != 1 || in.template > 0 {
		return
	}
	if m, ok := attrs["formmethod"]; ok && !strings.EqualFold(m, "post") && !strings.EqualFold(m, "dialog") {
		in.form = 2
	}
	if a, ok := attrs["formaction"]; ok && !in.actionSame(a) {
		in.form = 2
	}
}

// endTag updates the state for an end tag and reports whether the field
// goes before it.
func (in *injector) endTag(name string) bool {
	switch name {
	case "svg", "math":
		if in.foreign > 0 {
			in.foreign--
		}
	case "template":
		if in.template > 0 {
			in.template--
		}
	case "select":
		in.inSelect = false
	case "form":
		if in.template > 0 || in.inSelect || in.form == 0 {
			return false
		}
		ok := in.form == 1 && in.foreign == 0 && !in.stop
		in.form = 0
		return ok
	}
	return false
}

// breaksOutOfForeign reports whether a start tag ends SVG or MathML
// content, as the HTML parser's rules for foreign content say.
func breaksOutOfForeign(name string, attrs map[string]string) bool {
	switch name {
	case "b", "big", "blockquote", "body", "br", "center", "code", "dd", "div", "dl", "dt", "em", "embed",
		"h1", "h2", "h3", "h4", "h5", "h6", "head", "hr", "i", "img", "li", "listing", "menu", "meta", "nobr",
		"ol", "p", "pre", "ruby", "s", "small", "span", "strong", "strike", "sub", "sup", "table", "tt", "u",
		"ul", "var":
		return true
	case "font":
		_, c := attrs["color"]
		_, f := attrs["face"]
		_, s := attrs["size"]
		return c || f || s
	}
	return false
}

// actionSame reports whether a form's action (or a button's formaction)
// provably leads to the page's origin.
func (in *injector) actionSame(action string) bool {
	if cleanRef(action) == "" {
		return true // the document's own URL
	}
	base := ""
	switch {
	case in.baseLocked:
		base = in.origin // a <base> elsewhere is blocked
	case in.baseSeen && in.baseSame:
		base = in.origin
	}
	return in.refSame(action, base)
}

// cleanRef removes what browsers ignore in a URL attribute: leading and
// trailing C0 controls and spaces, tabs and newlines anywhere; and reads
// '\' as '/', as browsers do in http(s) URLs.
func cleanRef(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '\t', '\n', '\r':
			return -1
		case '\\':
			return '/'
		}
		return r
	}, strings.TrimFunc(s, func(r rune) bool { return r <= ' ' }))
}

// refSame reports whether the URL reference ref, resolved against a base
// URL of origin base ("" when the base is not known), provably names a
// resource of the page's origin. Anything it cannot tell is not
// same-origin, so that a token never leaves for another site.
func (in *injector) refSame(ref, base string) bool {
	ref = cleanRef(ref)
	if ref == "" || ref[0] == '/' && !strings.HasPrefix(ref, "//") || ref[0] == '?' || ref[0] == '#' {
		return base != "" && base == in.origin
	}
	if !strings.HasPrefix(ref, "//") {
		if i := strings.IndexAny(ref, ":/?#"); i < 0 || ref[i] != ':' {
			return base != "" && base == in.origin // a relative path
		}
	}
	scheme, _, _ := strings.Cut(in.origin, "://")
	if strings.HasPrefix(ref, "//") {
		if base == "" {
			return false
		}
		scheme, _, _ = strings.Cut(base, "://")
		ref = scheme + ":" + ref
	}
	u, err := url.Parse(ref)
	if err != nil || u.Host == "" || u.User != nil || u.Opaque != "" {
		return false
	}
	a, ok := normalizeOrigin(strings.ToLower(u.Scheme) + "://" + u.Host)
	if !ok {
		return false
	}
	b, ok := normalizeOrigin(in.origin)
	return ok && a == b
}

// cspLocksBase reports whether the response's Content-Security-Policy
// headers keep the document's base URL on its own origin: some policy has
// a base-uri directive whose sources are only 'self' or 'none'.
func cspLocksBase(policies []string) bool {
	for _, p := range policies {
		for d := range strings.SplitSeq(p, ";") {
			f := strings.Fields(d)
			if len(f) < 2 || !strings.EqualFold(f[0], "base-uri") {
				continue
			}
			locked := true
			for _, s := range f[1:] {
				if !strings.EqualFold(s, "'self'") && !strings.EqualFold(s, "'none'") {
					locked = false
				}
			}
			if locked {
				return true
			}
		}
	}
	return false
}

// rewriteBody is a response body passed through an injector, and through
// gzip again when the backend's body was gzip-encoded.
type rewriteBody struct {
	upstream io.Closer
	inj      io.Reader
	zw       *gzip.Writer // nil for an identity body
	out      bytes.Buffer
	chunk    []byte
	err      error // the final error, io.EOF when done
}

func newRewriteBody(upstream io.Closer, inj io.Reader, gz bool) *rewriteBody {
	b := &rewriteBody{upstream: upstream, inj: inj}
	if gz {
		b.zw = gzip.NewWriter(&b.out)
		b.chunk = make([]byte, 32<<10)
	}
	return b
}

// Read returns the rewritten body. For gzip, what the injector produced is
// compressed and flushed at once, so that a streamed page reaches the
// client as it is produced.
func (b *rewriteBody) Read(p []byte) (int, error) {
	if b.zw == nil {
		return b.inj.Read(p)
	}
	for b.out.Len() == 0 {
		if b.err != nil {
			return 0, b.err
		}
		n, err := b.inj.Read(b.chunk)
		if n > 0 {
			if _, werr := b.zw.Write(b.chunk[:n]); werr != nil && err == nil {
				err = werr
			}
		}
		switch {
		case err == io.EOF:
			if cerr := b.zw.Close(); cerr != nil {
				err = cerr
			}
		case err == nil:
			if ferr := b.zw.Flush(); ferr != nil {
				err = ferr
			}
		}
		if err != nil {
			b.err = err
		}
	}
	return b.out.Read(p)
}

func (b *rewriteBody) Close() error { return b.upstream.Close() }
