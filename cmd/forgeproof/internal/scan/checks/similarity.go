package checks

import (
	"bytes"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
)

// AcceptSimilarity is the least similarity to the baseline's response at
// which a probe with the same status class counts as accepted.
const AcceptSimilarity = 0.7

// Judge sets ex's Similarity to the baseline and decides whether the
// server accepted ex like base: the same status class, no forgeproof
// rejection reason, and a similarity of at least [AcceptSimilarity].
// Redirects compare by their Location alone: their bodies are boilerplate
// that net/http writes for GET and not for POST.
func Judge(base, ex *Exchange) {
	ex.Similarity = Similarity(comparable(base), comparable(ex))
	ex.Accepted = ex.Reason == "" && ex.Status/100 == base.Status/100 && ex.Similarity >= AcceptSimilarity
}

func comparable(ex *Exchange) []byte {
	if loc := ex.Header.Get("Location"); loc != "" && ex.Status/100 == 3 {
		return []byte("location " + loc)
	}
	return ex.Body
}

// Similarity compares two response bodies and returns a number from 0
// (nothing in common) to 1 (the same words). Bodies are split into words;
// digit runs and long random-looking words (ids, tokens, timestamps) are
// normalised, so that two answers to the same action compare as equal. The
// measure is the weighted Jaccard index of the word counts.
func Similarity(a, b []byte) float64 {
	if len(bytes.TrimSpace(a)) == 0 && len(bytes.TrimSpace(b)) == 0 {
		return 1
	}
	ca, cb := words(a), words(b)
	var min, max int
	for w, n := range ca {
		m := cb[w]
		if n < m {
			min += n
			max += m
		} else {
			min += m
			max += n
		}
	}
	for w, m := range cb {
		if _, ok := ca[w]; !ok {
			max += m
		}
	}
	if max == 0 {
		return 1
	}
	return float64(min) / float64(max)
}

// maxWords bounds the work Similarity does on a large body.
const maxWords = 4096

func words(b []byte) map[string]int {
	counts := map[string]int{}
	n := 0
	start := -1
	flush := func(end int) {
		if start < 0 {
			return
		}
		counts[normWord(b[start:end])]++
		n++
		start = -1
	}
	for i, c := range b {
		if n >= maxWords {
			break
		}
		word := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c >= 0x80
		if word && start < 0 {
			start = i
		} else if !word {
			flush(i)
		}
	}
	if n < maxWords {
		flush(len(b))
	}
	return counts
}

func normWord(w []byte) string {
	digits := 0
	for _, c := range w {
		if c >= '0' && c <= '9' {
			digits++
		}
	}
	switch {
	case digits == len(w):
		return "0"
	case len(w) >= 16 && digits > 0:
		return "~"
	}
	return strings.ToLower(string(w))
}

// DumpRequest formats r for evidence: request line, headers in a fixed
// order with cookie values redacted, a blank line, the body.
func DumpRequest(r *Request) string {
	if r == nil {
		return ""
	}
	var b strings.Builder
	b.WriteString(r.Method + " " + r.URL.RequestURI() + " HTTP/1.1\r\nHost: " + r.URL.Host + "\r\n")
	keys := make([]string, 0, len(r.Header))
	for k := range r.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		for _, v := range r.Header[k] {
			if k == "Cookie" {
				v = redactCookies(v)
			}
			b.WriteString(k + ": " + v + "\r\n")
		}
	}
	b.WriteString("\r\n")
	b.Write(r.Body)
	return b.String()
}

// redactCookies keeps the names of the cookies in a Cookie header and
// hides their values.
func redactCookies(v string) string {
	cs, err := http.ParseCookie(v)
	if err != nil {
		return "[redacted]"
	}
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.Name + "=…"
	}
	return strings.Join(names, "; ")
}

var stateVerbRE = regexp.MustCompile(`(?i)(^|[^a-z])(delete|remove|destroy|transfer|pay|send|create|update|add|set|reset|logout|approve|cancel|withdraw)`)

// StateVerb reports whether a path or operation name says it changes
// state. Names are a hint only: the scanner judges GETs by effect.
func StateVerb(s string) bool { return stateVerbRE.MatchString(s) }

// sameOrigin reports whether u is on the target's origin.
func sameOrigin(u, target *url.URL) bool {
	return u != nil && sameOriginString(u.Scheme+"://"+u.Host, target)
}
