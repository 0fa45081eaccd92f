package config

import (
	"slices"
	"strings"
)

// A Preset is what the gateway needs to know about a web framework to sit
// in front of an unchanged application built on it.
type Preset struct {
	// Name is the value of the preset key and of serve's --preset flag.
	Name string
	// Framework is the framework's name, for logs.
	Framework string
	// SessionCookie is the framework's default session cookie, which
	// tokens are bound to; "" for Rails, whose default cookie store
	// encrypts the session anew (a new cookie value) on every response
	// that reads it: bound to it, a token would be refused as soon as
	// another tab made a request. Tokens are then bound to the gateway's
	// own token cookie.
	SessionCookie string
	// Cookies are cookie names whose presence in the backend's responses
	// identifies the framework, SessionCookie first.
	Cookies []string
}

// Presets are the frameworks the gateway knows. None of their token names
// collide with the gateway's own (X-Forgeproof-Token, forgeproof_token,
// __Host-forgeproof, <meta name="forgeproof-token">), so the framework's
// own CSRF protection keeps working behind the gateway.
var Presets = []Preset{
	{Name: "django", Framework: "Django", SessionCookie: "sessionid", Cookies: []string{"sessionid", "csrftoken"}},
	{Name: "flask", Framework: "Flask", SessionCookie: "session", Cookies: []string{"session"}},
	{Name: "express", Framework: "Express (express-session)", SessionCookie: "connect.sid", Cookies: []string{"connect.sid"}},
	{Name: "rails", Framework: "Ruby on Rails", Cookies: nil},
	{Name: "laravel", Framework: "Laravel", SessionCookie: "laravel_session", Cookies: []string{"laravel_session", "XSRF-TOKEN"}},
	{Name: "spring", Framework: "Spring (servlet container)", SessionCookie: "JSESSIONID", Cookies: []string{"JSESSIONID"}},
}

// LookupPreset returns the preset of that name.
func LookupPreset(name string) (Preset, bool) {
	i := slices.IndexFunc(Presets, func(p Preset) bool { return p.Name == name })
	if i < 0 {
		return Preset{}, false
	}
	return Presets[i], true
}

// railsSession reports whether a cookie name is Rails's default session
// cookie, "_" + the application's name + "_session".
func railsSession(name string) bool {
	return len(name) > len("__session") && strings.HasPrefix(name, "_") && strings.HasSuffix(name, "_session") &&
		!strings.HasPrefix(name, "__")
}

// DetectPreset names the framework that set the given cookies, and its
// session cookie (the preset's, or the Rails session cookie found): the
// first preset one of whose cookies is present, or a Rails session
// cookie. It returns ok false when none matches.
func DetectPreset(cookies []string) (p Preset, session string, ok bool) {
	for _, p := range Presets {
		for _, c := range p.Cookies {
			if slices.Contains(cookies, c) {
				return p, p.SessionCookie, true
			}
		}
	}
	for _, c := range cookies {
		if railsSession(c) {
			p, _ := LookupPreset("rails")
			return p, c, true
		}
	}
	return Preset{}, "", false
}

// applyPreset fills in what the preset sets and the file left unset.
func (c *Config) applyPreset() {
	p, ok := LookupPreset(c.Preset)
	if !ok {
		return
	}
	setDefault(&c.Protection.SessionCookie, p.SessionCookie)
}
