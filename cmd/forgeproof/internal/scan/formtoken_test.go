package scan_test

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestPrecedingPageToken scans an application that hands out the token of
// an operation only in the form of the page that precedes it (a per-form
// token, as Rails' per_form_csrf_tokens does), under a field name that the
// home page never shows: the baseline must carry it, and the protected
// operation must yield no finding and no "no baseline" note.
func TestPrecedingPageToken(t *testing.T) {
	const formToken = "per-form-3f9c2a7d1e"
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "sid", Value: "s1", HttpOnly: true, SameSite: http.SameSiteLaxMode})
	})
	mux.HandleFunc("GET /settings", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<form method="post" action="/settings/email"><input type="hidden" name="authenticity_token" value="%s"><input name="email"></form>`, formToken)
	})
	mux.HandleFunc("POST /settings/email", func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie("sid"); err != nil || c.Value != "s1" {
			http.Error(w, "sign in", http.StatusUnauthorized)
			return
		}
		if subtle.ConstantTimeCompare([]byte(r.PostFormValue("authenticity_token")), []byte(formToken)) != 1 {
			http.Error(w, "invalid authenticity token", http.StatusForbidden)
			return
		}
		fmt.Fprintln(w, "email changed")
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	code, stdout, stderr := run("--target", srv.URL, "--login", "/login", "--rate", "0", "--format", "json",
		"--endpoint", "GET /settings", "--endpoint", "POST /settings/email email=a@example.com")
	if code != 0 {
		t.Errorf("exit %d, want 0\n%s\n%s", code, stderr, stdout)
	}
	if strings.Contains(stdout, "no baseline") {
		t.Errorf("the baseline lacked the form's token:\n%s", stdout)
	}
}
