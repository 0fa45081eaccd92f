package forgeproof

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
)

// maxFieldBytes bounds the value of the token field read from a multipart
// part; a genuine token is a few hundred bytes.
const maxFieldBytes = 1024

// formToken looks for the token field in r's body, when the body is a form
// (application/x-www-form-urlencoded or multipart/form-data). It reads at
// most limit bytes of the body and then restores r.Body, so that the next
// handler reads the whole original body, however long. It returns the
// field's value, or ReasonTokenMissing when the field is absent, or
// ReasonBodyUnreadable when the form is malformed or the field is not
// within the first limit bytes of a longer body.
func formToken(r *http.Request, field string, limit int64) (string, Reason) {
	if r.PostForm != nil { // the form was parsed already
		if vs := r.PostForm[field]; len(vs) > 0 {
			return vs[0], ReasonNone
		}
		return "", ReasonTokenMissing
	}
	if r.Body == nil || r.Body == http.NoBody {
		return "", ReasonTokenMissing
	}
	ct := r.Header["Content-Type"]
	if len(ct) == 0 {
		return "", ReasonTokenMissing
	}
	mt, params, err := mime.ParseMediaType(ct[0])
	if err != nil {
		return "", ReasonTokenMissing
	}
	switch mt {
	case "application/x-www-form-urlencoded":
		return urlencodedToken(r, field, limit)
	case "multipart/form-data":
		boundary := params["boundary"]
		if boundary == "" {
			return "", ReasonBodyUnreadable
		}
		return multipartToken(r, field, boundary, limit)
	}
	return "", ReasonTokenMissing
}

// urlencodedToken finds field in an urlencoded body. It reads the body in
// chunks and stops at the end of the field's pair.
func urlencodedToken(r *http.Request, field string, limit int64) (string, Reason) {
	rec := &recorder{src: r.Body, limit: limit}
	defer restoreBody(r, rec)
	chunk := make([]byte, 4<<10)
	scanned := 0 // rec.buf[:scanned] holds whole pairs without the field
	for {
		_, err := rec.Read(chunk)
		if err != nil && err != io.EOF {
			return "", ReasonBodyUnreadable
		}
		final := err == io.EOF && !rec.more
		value, found, n, ok := findURLEncoded(rec.buf[scanned:rec.n], field, final)
		scanned += n
		switch {
		case !ok:
			return "", ReasonBodyUnreadable
		case found:
			return value, ReasonNone
		case err == nil:
			continue
		case rec.more:
			return "", ReasonBodyUnreadable
		}
		return "", ReasonTokenMissing
	}
}

// findURLEncoded looks for the first field called name among the pairs of
// an urlencoded form body. Unless final is set, body may end inside a
// pair, which is left for later: n is the length of the whole pairs
// scanned. ok is false when the field or a name before it has a malformed
// escape.
func findURLEncoded(body []byte, name string, final bool) (value string, found bool, n int, ok bool) {
	for n < len(body) {
		pair, _, more := bytes.Cut(body[n:], []byte("&"))
		if !more && !final {
			break
		}
		n += len(pair)
		if more {
			n++
		}
		k, v, _ := bytes.Cut(pair, []byte("="))
		key, err := url.QueryUnescape(string(k))
		if err != nil {
			return "", false, n, false
		}
		if key != name {
			continue
		}
		value, err := url.QueryUnescape(string(v))
		if err != nil {
			return "", false, n, false
		}
		return value, true, n, true
	}
	return "", false, n, true
}

// multipartToken finds field among the parts of a multipart body. It stops
// at the field; parts before it (files included) are read through but kept
// only up to the bound.
func multipartToken(r *http.Request, field, boundary string, limit int64) (string, Reason) {
	rec := &recorder{src: r.Body, limit: limit}
	defer restoreBody(r, rec)
	mr := multipart.NewReader(rec, boundary)
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return "", ReasonTokenMissing
		}
		if err != nil {
			return "", ReasonBodyUnreadable
		}
		if part.FormName() != field || part.FileName() != "" {
			continue
		}
		var buf bytes.Buffer
		_, err = io.Copy(&buf, io.LimitReader(part, maxFieldBytes+1))
		if err != nil {
			return "", ReasonBodyUnreadable
		}
		if buf.Len() > maxFieldBytes {
			return "", ReasonTokenInvalid
		}
		return buf.String(), ReasonNone
	}
}

// A recorder reads at most limit bytes of src, keeping them, and then
// reports io.EOF. It also reads (and keeps) one byte more, to tell whether
// src went on.
type recorder struct {
	src   io.Reader
	limit int64
	buf   []byte // the bytes read from src: n, plus one if more
	n     int    // bytes handed out
	more  bool   // src had more than limit bytes
	err   error  // the error src returned, other than io.EOF
	done  bool   // src returned io.EOF or an error
}

func (rc *recorder) Read(p []byte) (int, error) {
	if rc.done {
		if rc.err != nil {
			return 0, rc.err
		}
		return 0, io.EOF
	}
	room := rc.limit - int64(rc.n)
	if room <= 0 {
		// Probe for one more byte, then stop.
		var b [1]byte
		n, err := io.ReadFull(rc.src, b[:])
		if n == 1 {
			rc.buf = append(rc.buf, b[0])
			rc.more = true
		} else if err != nil && err != io.EOF {
			rc.err = err
		}
		rc.done = true
		return rc.Read(p)
	}
	if int64(len(p)) > room {
		p = p[:room]
	}
	n, err := rc.src.Read(p)
	rc.buf = append(rc.buf, p[:n]...)
	rc.n += n
	if err != nil {
		rc.done = true
		if err != io.EOF {
			rc.err = err
		}
		if n > 0 {
			return n, nil
		}
		return rc.Read(p)
	}
	return n, nil
}

// restoreBody makes r.Body read what rec recorded followed by the rest of
// the original body. Closing it closes the original body.
func restoreBody(r *http.Request, rec *recorder) {
	r.Body = &replayBody{
		Reader: io.MultiReader(bytes.NewReader(rec.buf), r.Body),
		closer: r.Body,
	}
}

// A replayBody is a request body whose first bytes were read ahead.
type replayBody struct {
	io.Reader
	closer io.Closer
}

func (b *replayBody) Close() error { return b.closer.Close() }

// methodField is the form field through which frameworks (Rails, Laravel,
// Symfony, Spring, ASP.NET Core) let an HTML form claim another method.
const methodField = "_method"

// hasFormBody reports whether r carries a body whose Content-Type is a
// form's (application/x-www-form-urlencoded or multipart/form-data).
func hasFormBody(r *http.Request) bool {
	if r.Body == nil || r.Body == http.NoBody {
		return r.PostForm != nil
	}
	ct := r.Header["Content-Type"]
	if len(ct) == 0 {
		return false
	}
	mt, _, _ := strings.Cut(ct[0], ";")
	mt = strings.TrimSpace(mt)
	return strings.EqualFold(mt, "application/x-www-form-urlencoded") || strings.EqualFold(mt, "multipart/form-data")
}

// formMethods returns every value of the _method field of r's form body,
// reading at most limit bytes and then restoring r.Body as formToken does.
// complete is false when the form is malformed or goes on past the bound:
// a field hidden there would be seen by the backend and not here.
func formMethods(r *http.Request, limit int64) (values []string, complete bool) {
	if r.PostForm != nil {
		return r.PostForm[methodField], true
	}
	ct := r.Header["Content-Type"]
	if len(ct) == 0 {
		return nil, true
	}
	mt, params, err := mime.ParseMediaType(ct[0])
	if err != nil {
		return nil, false
	}
	rec := &recorder{src: r.Body, limit: limit}
	defer restoreBody(r, rec)
	switch mt {
	case "application/x-www-form-urlencoded":
		body, err := io.ReadAll(rec)
		if err != nil || rec.more {
			return nil, false
		}
		for len(body) > 0 {
			var pair []byte
			pair, body, _ = bytes.Cut(body, []byte("&"))
			k, v, _ := bytes.Cut(pair, []byte("="))
			key, err := url.QueryUnescape(string(k))
			if err != nil {
				return values, false
			}
			if key != methodField {
				continue
			}
			value, err := url.QueryUnescape(string(v))
			if err != nil {
				return values, false
			}
			values = append(values, value)
		}
		return values, true
	case "multipart/form-data":
		if params["boundary"] == "" {
			return nil, false
		}
		mr := multipart.NewReader(rec, params["boundary"])
		for {
			part, err := mr.NextPart()
			if err == io.EOF {
				return values, !rec.more
			}
			if err != nil {
				return values, false
			}
			if part.FormName() != methodField || part.FileName() != "" {
				continue
			}
			var buf bytes.Buffer
			if _, err := io.Copy(&buf, io.LimitReader(part, maxFieldBytes+1)); err != nil {
				return values, false
			}
			values = append(values, buf.String())
		}
	}
	return nil, true
}
