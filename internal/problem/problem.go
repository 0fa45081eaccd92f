// Package problem writes HTTP problem details, the
// application/problem+json format of RFC 9457. It imports the standard
// library only, so the forgeproof library can use it.
//
// Bodies are meant to be built once, with [Marshal], and written many
// times, with [WriteBody]: the rejection path of a middleware then costs no
// allocation.
package problem

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// ContentType is the media type of a problem details body.
const ContentType = "application/problem+json"

// Details are the standard members of a problem details object. A zero
// member is omitted.
type Details struct {
	// Type is a URI reference that identifies the problem type; it
	// should lead to human-readable documentation.
	Type string
	// Title is a short summary of the problem type.
	Title string
	// Status is the HTTP status code.
	Status int
	// Detail explains this occurrence; it should tell the client what to
	// do.
	Detail string
	// Instance is a URI reference that identifies this occurrence.
	Instance string
}

// A Member is an extension member with a string value, such as
// {"reason", "origin-mismatch"}.
type Member struct {
	Name, Value string
}

// Marshal returns the JSON object for d followed by the extension members,
// in that order, and a final newline. Extension members that repeat a
// standard member's name are dropped, as RFC 9457 reserves those names.
func Marshal(d Details, ext ...Member) []byte {
	b := []byte{'{'}
	first := true
	add := func(name string, value []byte) {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = appendString(b, name)
		b = append(b, ':')
		b = append(b, value...)
	}
	str := func(s string) []byte { return appendString(nil, s) }
	if d.Type != "" {
		add("type", str(d.Type))
	}
	if d.Title != "" {
		add("title", str(d.Title))
	}
	if d.Status != 0 {
		add("status", strconv.AppendInt(nil, int64(d.Status), 10))
	}
	if d.Detail != "" {
		add("detail", str(d.Detail))
	}
	if d.Instance != "" {
		add("instance", str(d.Instance))
	}
	for _, m := range ext {
		switch m.Name {
		case "type", "title", "status", "detail", "instance":
			continue
		}
		add(m.Name, str(m.Value))
	}
	return append(b, '}', '\n')
}

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte {
	q, err := json.Marshal(s)
	if err != nil { // json.Marshal of a string cannot fail
		panic(err)
	}
	return append(b, q...)
}

// Shared header values. Assigning these slices (len == cap) to a header
// costs no allocation; a later Add copies them instead of writing into
// them.
var (
	contentTypeValue = []string{ContentType}
	nosniffValue     = []string{"nosniff"}
	noStoreValue     = []string{"no-store"}
)

// WriteBody writes a problem response with the given status and a body
// made by [Marshal]. It sets Content-Type, X-Content-Type-Options: nosniff
// and Cache-Control: no-store, and does not allocate.
func WriteBody(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h["Content-Type"] = contentTypeValue
	h["X-Content-Type-Options"] = nosniffValue
	h["Cache-Control"] = noStoreValue
	delete(h, "Content-Length")
	w.WriteHeader(status)
	w.Write(body)
}

// Write writes d as a problem response, with the extension members. It
// is for rare responses (a gateway's 502 or 504); use [WriteBody] with a
// body marshalled once for frequent ones. If d.Status is zero, it is 500,
// and the title defaults to the status text.
func Write(w http.ResponseWriter, d Details, ext ...Member) {
	if d.Status == 0 {
		d.Status = http.StatusInternalServerError
	}
	if d.Title == "" {
		d.Title = http.StatusText(d.Status)
	}
	WriteBody(w, d.Status, Marshal(d, ext...))
}
