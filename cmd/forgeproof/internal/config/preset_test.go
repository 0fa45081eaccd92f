package config_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/config"
)

func TestPresetsMatchTheEnum(t *testing.T) {
	f, _ := reflect.TypeFor[config.Config]().FieldByName("Preset")
	var names []string
	for _, p := range config.Presets {
		names = append(names, p.Name)
	}
	if got := strings.Join(names, ","); got != f.Tag.Get("enum") {
		t.Fatalf("presets %s, enum tag %s", got, f.Tag.Get("enum"))
	}
}

func TestDetectPreset(t *testing.T) {
	tests := []struct {
		cookies         []string
		preset, session string
	}{
		{[]string{"csrftoken"}, "django", "sessionid"},
		{[]string{"sessionid"}, "django", "sessionid"},
		{[]string{"session"}, "flask", "session"},
		{[]string{"__Host-psifi.x-csrf-token", "connect.sid"}, "express", "connect.sid"},
		{[]string{"_shop_session"}, "rails", "_shop_session"},
		{[]string{"XSRF-TOKEN", "laravel_session"}, "laravel", "laravel_session"},
		{[]string{"JSESSIONID"}, "spring", "JSESSIONID"},
		{[]string{"__session", "theme"}, "", ""},
		{nil, "", ""},
	}
	for _, tt := range tests {
		p, session, ok := config.DetectPreset(tt.cookies)
		if p.Name != tt.preset || session != tt.session || ok != (tt.preset != "") {
			t.Errorf("DetectPreset(%q) = %q, %q, %v; want %q, %q", tt.cookies, p.Name, session, ok, tt.preset, tt.session)
		}
	}
}

func TestPresetSetsSessionCookie(t *testing.T) {
	for _, tt := range []struct{ file, want string }{
		{"preset: django\nupstreams: [{url: http://127.0.0.1:8000}]\n", "sessionid"},
		{"preset: express\nprotection: {session_cookie: sid}\nupstreams: [{url: http://127.0.0.1:3000}]\n", "sid"},
		// Rails's cookie store changes the cookie's value on every response.
		{"preset: rails\nupstreams: [{url: http://127.0.0.1:3000}]\n", ""},
	} {
		c, err := config.Parse("f.yaml", []byte(tt.file))
		if err != nil {
			t.Fatal(err)
		}
		if c.Protection.SessionCookie != tt.want {
			t.Errorf("%q: session cookie %q, want %q", tt.file, c.Protection.SessionCookie, tt.want)
		}
	}
	if _, err := config.Parse("f.yaml", []byte("preset: struts\nupstreams: [{url: http://127.0.0.1:8000}]\n")); err == nil || !strings.Contains(err.Error(), "preset") {
		t.Errorf("unknown preset: %v", err)
	}
}
