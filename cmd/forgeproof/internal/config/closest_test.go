package config

import "testing"

func TestClosest(t *testing.T) {
	commands := []string{"demo", "serve", "validate", "keygen", "scan", "authz", "version"}
	tests := []struct{ word, want string }{
		{"sevre", "serve"},
		{"serv", "serve"},
		{"valdate", "validate"},
		{"VALIDATE", "validate"},
		{"keygn", "keygen"},
		{"versoin", "version"},
		{"auth", "authz"},
		{"deploy", ""},
		{"x", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := Closest(tt.word, commands); got != tt.want {
			t.Errorf("Closest(%q) = %q; want %q", tt.word, got, tt.want)
		}
	}
	if got := Closest("upstrem", []string{"config", "upstream", "addr", "admin-addr"}); got != "upstream" {
		t.Errorf("Closest(upstrem) = %q; want upstream", got)
	}
	if got := Closest("anything", nil); got != "" {
		t.Errorf("Closest with no names = %q", got)
	}
}
