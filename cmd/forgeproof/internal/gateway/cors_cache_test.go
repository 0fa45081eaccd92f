package gateway

import "testing"

// TestCORSVerdictCache checks that the cached verdict on the last origin
// that needed normalizing never answers for another origin.
func TestCORSVerdictCache(t *testing.T) {
	c, err := compileCORS(&CORS{AllowOrigins: []string{"https://app.example.com"}, AllowCredentials: true}, "X-Token")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ origin, want string }{
		{"https://app.example.com", "https://app.example.com"},
		{"HTTPS://APP.example.com:443", "HTTPS://APP.example.com:443"},
		{"https://evil.example", ""},
		{"HTTPS://APP.example.com:443", "HTTPS://APP.example.com:443"},
		{"HTTPS://APP.example.com:443", "HTTPS://APP.example.com:443"},
		{"https://app.example.com:8443", ""},
		{"https://evil.example", ""},
		{"https://APP.example.com", "https://APP.example.com"},
		{"null", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := c.allowed(tt.origin); got != tt.want {
			t.Errorf("allowed(%q) = %q, want %q", tt.origin, got, tt.want)
		}
	}
}
