package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestAPIClient runs the example over real HTTP with the API client: it
// signs in (the token rotates), posts a note, and refreshes a token the
// API refuses.
func TestAPIClient(t *testing.T) {
	h, err := newApp()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	c := NewClient(srv.URL)

	if status, reason, err := c.Post("/api/login", map[string]string{"user": "alice", "password": "wonderland"}, nil); err != nil || status != 200 {
		t.Fatalf("login: %d %s %v", status, reason, err)
	}
	var out struct{ Notes []string }
	if status, reason, err := c.Post("/api/notes", map[string]string{"text": "first"}, &out); err != nil || status != 201 || len(out.Notes) != 1 {
		t.Fatalf("note with the token rotated at login: %d %s %v %v", status, reason, out, err)
	}
	if c.Refreshes != 1 {
		t.Errorf("the client fetched a token %d times; want 1 (the login answer carries the rotated one)", c.Refreshes)
	}
	// A stale token (from before a rotation, or expired) is refused once,
	// refreshed, and the retry passes.
	c.token = "c3RhbGU"
	if status, reason, err := c.Post("/api/notes", map[string]string{"text": "second"}, &out); err != nil || status != 201 || len(out.Notes) != 2 {
		t.Fatalf("note with a stale token: %d %s %v %v", status, reason, out, err)
	}
	if c.Refreshes != 2 {
		t.Errorf("the client fetched a token %d times; want 2", c.Refreshes)
	}
}

// TestForged sends what a hostile page could make a signed-in browser
// send: every one is refused with its reason.
func TestForged(t *testing.T) {
	h, err := newApp()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	c := NewClient(srv.URL)
	if status, _, err := c.Post("/api/login", map[string]string{"user": "alice", "password": "wonderland"}, nil); err != nil || status != 200 {
		t.Fatalf("login: %d %v", status, err)
	}
	tests := []struct {
		name, origin, contentType, body string
		withToken                       bool
		reason                          string
	}{
		{"cross-site fetch with the token", "https://evil.example", "application/json", `{"text":"x"}`, true, "origin-mismatch"},
		{"cross-site form", "https://evil.example", "application/x-www-form-urlencoded", "text=x", false, "origin-mismatch"},
		{"text/plain body from the same origin", srv.URL, "text/plain", `{"text":"x"}`, true, "content-type-not-allowed"},
		{"same-origin JSON without the token", srv.URL, "application/json", `{"text":"x"}`, false, "token-missing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("POST", srv.URL+"/api/notes", strings.NewReader(tt.body))
			req.Header.Set("Origin", tt.origin)
			req.Header.Set("Content-Type", tt.contentType)
			if tt.withToken {
				req.Header.Set(c.header, c.token)
			}
			resp, err := c.HTTP.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var p struct{ Reason string }
			json.Unmarshal(body, &p)
			if resp.StatusCode != 403 || p.Reason != tt.reason {
				t.Errorf("%d %s; want 403 %s", resp.StatusCode, body, tt.reason)
			}
		})
	}
}
