package forgeproof

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"testing/iotest"
)

// multipartBody builds a multipart/form-data body from parts, each a
// field name, a file name ("" for a plain field) and content.
func multipartBody(t testing.TB, parts ...[3]string) (body []byte, contentType string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		var w io.Writer
		var err error
		if p[1] != "" {
			w, err = mw.CreateFormFile(p[0], p[1])
		} else {
			w, err = mw.CreateFormField(p[0])
		}
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(w, p[2])
	}
	mw.Close()
	return buf.Bytes(), mw.FormDataContentType()
}

func TestFormToken(t *testing.T) {
	const limit = 2 << 10
	big := strings.Repeat("x", 4*limit)
	type test struct {
		name        string
		contentType string
		body        string
		want        string // the field's value when found
		reason      Reason
	}
	tests := []test{
		{"urlencoded, field first", "application/x-www-form-urlencoded", "forgeproof_token=tok&to=bob", "tok", ReasonNone},
		{"urlencoded, field last", "application/x-www-form-urlencoded", "to=bob&amount=5&forgeproof_token=tok", "tok", ReasonNone},
		{"urlencoded, escaped name and value", "application/x-www-form-urlencoded", "to=bob&forgeproof%5Ftoken=a%2Bb+c", "a+b c", ReasonNone},
		{"urlencoded, first of two", "application/x-www-form-urlencoded", "forgeproof_token=one&forgeproof_token=two", "one", ReasonNone},
		{"urlencoded, charset parameter", "application/x-www-form-urlencoded; charset=utf-8", "forgeproof_token=tok", "tok", ReasonNone},
		{"urlencoded, empty value", "application/x-www-form-urlencoded", "forgeproof_token=", "", ReasonNone},
		{"urlencoded, absent", "application/x-www-form-urlencoded", "to=bob", "", ReasonTokenMissing},
		{"urlencoded, empty body", "application/x-www-form-urlencoded", "", "", ReasonTokenMissing},
		{"urlencoded, malformed name", "application/x-www-form-urlencoded", "%zz=1&forgeproof_token=tok", "", ReasonBodyUnreadable},
		{"urlencoded, malformed field value", "application/x-www-form-urlencoded", "forgeproof_token=%zz", "", ReasonBodyUnreadable},
		{"urlencoded, malformed value elsewhere (as net/http.ParseForm)", "application/x-www-form-urlencoded", "to=%zz&forgeproof_token=tok", "tok", ReasonNone},
		{"urlencoded, field within bound of a long body", "application/x-www-form-urlencoded", "forgeproof_token=tok&pad=" + big, "tok", ReasonNone},
		{"urlencoded, field beyond the bound", "application/x-www-form-urlencoded", "pad=" + big + "&forgeproof_token=tok", "", ReasonBodyUnreadable},
		{"urlencoded, field cut by the bound", "application/x-www-form-urlencoded", "pad=" + strings.Repeat("y", limit-12) + "&forgeproof_token=tokentokentoken", "", ReasonBodyUnreadable},
		{"urlencoded, exactly the bound", "application/x-www-form-urlencoded", "forgeproof_token=tok&p=" + strings.Repeat("z", limit-12), "tok", ReasonNone},
		{"JSON is not searched", "application/json", `{"forgeproof_token":"tok"}`, "", ReasonTokenMissing},
		{"text/plain is not searched", "text/plain", "forgeproof_token=tok", "", ReasonTokenMissing},
		{"no content type", "", "forgeproof_token=tok", "", ReasonTokenMissing},
		{"unparseable content type", "multipart/form-data; boundary", "forgeproof_token=tok", "", ReasonTokenMissing},
		{"multipart without boundary", "multipart/form-data", "forgeproof_token=tok", "", ReasonBodyUnreadable},
	}
	mp := func(name string, parts ...[3]string) (string, string) {
		body, ct := multipartBody(t, parts...)
		return string(body), ct
	}
	add := func(name string, want string, reason Reason, parts ...[3]string) {
		body, ct := mp(name, parts...)
		tests = append(tests, test{name, ct, body, want, reason})
	}
	add("multipart, field first", "tok", ReasonNone, [3]string{"forgeproof_token", "", "tok"}, [3]string{"to", "", "bob"})
	add("multipart, after a small file", "tok", ReasonNone, [3]string{"doc", "a.txt", "hello"}, [3]string{"forgeproof_token", "", "tok"})
	add("multipart, file named like the field is skipped", "tok", ReasonNone, [3]string{"forgeproof_token", "evil.txt", "file"}, [3]string{"forgeproof_token", "", "tok"})
	add("multipart, before a big file", "tok", ReasonNone, [3]string{"forgeproof_token", "", "tok"}, [3]string{"doc", "big.bin", big})
	add("multipart, after a big file", "", ReasonBodyUnreadable, [3]string{"doc", "big.bin", big}, [3]string{"forgeproof_token", "", "tok"})
	add("multipart, absent", "", ReasonTokenMissing, [3]string{"to", "", "bob"})
	add("multipart, oversized field", "", ReasonTokenInvalid, [3]string{"forgeproof_token", "", strings.Repeat("t", maxFieldBytes+1)})
	tests = append(tests, test{"multipart, truncated", "multipart/form-data; boundary=XX", "--XX\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nvalue", "", ReasonBodyUnreadable})

	for _, tt := range tests {
		for _, reader := range []struct {
			name string
			wrap func(io.Reader) io.Reader
		}{
			{"whole", func(r io.Reader) io.Reader { return r }},
			{"one byte at a time", iotest.OneByteReader},
		} {
			t.Run(tt.name+"/"+reader.name, func(t *testing.T) {
				r := httptest.NewRequest("POST", "/", nil)
				closed := false
				r.Body = &closeRecorder{Reader: reader.wrap(strings.NewReader(tt.body)), closed: &closed}
				if tt.contentType != "" {
					r.Header.Set("Content-Type", tt.contentType)
				}
				got, reason := formToken(r, "forgeproof_token", limit)
				if got != tt.want || reason != tt.reason {
					t.Errorf("formToken = %.20q, %q; want %.20q, %q", got, reason, tt.want, tt.reason)
				}
				rest, err := io.ReadAll(r.Body)
				if err != nil || string(rest) != tt.body {
					t.Errorf("next handler read %d bytes (err %v), want the original %d", len(rest), err, len(tt.body))
				}
				r.Body.Close()
				if !closed {
					t.Error("closing the restored body did not close the original")
				}
			})
		}
	}
}

type closeRecorder struct {
	io.Reader
	closed *bool
}

func (c *closeRecorder) Close() error { *c.closed = true; return nil }

func TestFormTokenParsedForm(t *testing.T) {
	r := httptest.NewRequest("POST", "/", strings.NewReader("forgeproof_token=tok"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.ParseForm()
	if got, reason := formToken(r, "forgeproof_token", 10); got != "tok" || reason != ReasonNone {
		t.Errorf("formToken after ParseForm = %q, %q; want tok", got, reason)
	}
}

// TestFormHandlerReadsBody runs the whole middleware and checks that the
// application sees the form exactly as sent.
func TestFormHandlerReadsBody(t *testing.T) {
	clock := &testClock{}
	p := newTokenProtection(t, Config{SessionCookie: "session", MaxFormBytes: 64 << 10}, clock)
	b := newBrowser("https://bank.test", "alice")
	tok := b.token(t, p)
	upload := strings.Repeat("0123456789", 20<<10) // 200 KiB, beyond the bound
	body, ct := multipartBody(t, [3]string{"forgeproof_token", "", tok}, [3]string{"to", "", "bob"}, [3]string{"doc", "statement.pdf", upload})
	var seen struct {
		to, doc string
		calls   int
	}
	h := p.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.calls++
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			t.Errorf("ParseMultipartForm: %v", err)
			return
		}
		seen.to = r.FormValue("to")
		f, _, err := r.FormFile("doc")
		if err != nil {
			t.Errorf("FormFile: %v", err)
			return
		}
		data, _ := io.ReadAll(f)
		seen.doc = string(data)
	}))
	r := b.request("POST", "/transfer", bytes.NewReader(body))
	r.Header.Set("Content-Type", ct)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 200 || seen.calls != 1 {
		t.Fatalf("status %d, handler calls %d; body %s", w.Code, seen.calls, w.Body)
	}
	if seen.to != "bob" || seen.doc != upload {
		t.Errorf("handler saw to=%q and a %d-byte upload; want bob and %d bytes", seen.to, len(seen.doc), len(upload))
	}

	form := url.Values{"to": {"bob"}, "amount": {"10"}, "forgeproof_token": {tok}}.Encode()
	h = p.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		data, _ := io.ReadAll(r.Body)
		if string(data) != form {
			t.Errorf("handler read %q, want %q", data, form)
		}
	}))
	r = b.request("POST", "/transfer", strings.NewReader(form))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 200 {
		t.Errorf("urlencoded: status %d, body %s", w.Code, w.Body)
	}
}

// FuzzFormToken checks that form extraction never panics, never returns
// a value that is not in the body, and always restores the body whole.
func FuzzFormToken(f *testing.F) {
	body, ct := multipartBody(f, [3]string{"forgeproof_token", "", "tok"}, [3]string{"f", "a.bin", "data"})
	f.Add(ct, body, int64(64))
	f.Add(ct, body, int64(1<<10))
	f.Add("application/x-www-form-urlencoded", []byte("a=1&forgeproof_token=tok&b=%41"), int64(8))
	f.Add("application/x-www-form-urlencoded", []byte("forgeproof_token=%zz"), int64(100))
	f.Add("multipart/form-data; boundary=XX", []byte("--XX\r\nContent-Disposition: form-data; name=\"forgeproof_token\"\r\n\r\ntok\r\n--XX--\r\n"), int64(100))
	f.Add("multipart/form-data; boundary=\"a b\"", []byte("--a b\r\n\r\n--a b--"), int64(3))
	f.Fuzz(func(t *testing.T, contentType string, body []byte, limit int64) {
		if limit <= 0 || limit > 1<<16 {
			limit = 1 << 10
		}
		r := httptest.NewRequest("POST", "/", bytes.NewReader(body))
		r.Header.Set("Content-Type", contentType)
		got, reason := formToken(r, "forgeproof_token", limit)
		switch reason {
		case ReasonNone, ReasonTokenMissing, ReasonTokenInvalid, ReasonBodyUnreadable:
		default:
			t.Errorf("formToken reason %q, want none, token-missing, token-invalid or body-unreadable", reason)
		}
		if reason != ReasonNone && got != "" {
			t.Errorf("formToken returned %q with reason %q", got, reason)
		}
		rest, err := io.ReadAll(r.Body)
		if err != nil || !bytes.Equal(rest, body) {
			t.Errorf("restored body differs from the original (err %v)", err)
		}
	})
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestFormTokenStopsAtField(t *testing.T) {
	pad := strings.Repeat("p", 512<<10)
	urlencoded := "forgeproof_token=tok&pad=" + pad
	mp, ct := multipartBody(t, [3]string{"forgeproof_token", "", "tok"}, [3]string{"doc", "big.bin", pad})
	for _, tt := range []struct {
		name, contentType, body string
	}{
		{"urlencoded", "application/x-www-form-urlencoded", urlencoded},
		{"multipart", ct, string(mp)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			src := &countingReader{r: strings.NewReader(tt.body)}
			r := httptest.NewRequest("POST", "/", nil)
			r.Body = io.NopCloser(src)
			r.Header.Set("Content-Type", tt.contentType)
			if got, reason := formToken(r, "forgeproof_token", 1<<20); got != "tok" || reason != ReasonNone {
				t.Fatalf("formToken = %q, %q", got, reason)
			}
			if src.n > 16<<10 {
				t.Errorf("read %d bytes to find a field at the start, want at most 16 KiB", src.n)
			}
			rest, _ := io.ReadAll(r.Body)
			if string(rest) != tt.body {
				t.Errorf("restored body differs")
			}
		})
	}
}
