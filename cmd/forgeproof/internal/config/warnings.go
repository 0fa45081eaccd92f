package config

import (
	"fmt"
	"net"
	"net/url"
)

// Warnings returns the risky but valid settings of c, each at its
// position: settings that turn protection off or down, and secrets or
// endpoints exposed more than they need to be. They do not stop the
// gateway; "forgeproof validate" prints them and "forgeproof serve" logs
// them at start and on every reload. c must be valid.
func (c *Config) Warnings() ErrorList {
	v := &validator{c: c}
	if c.Protection.ReportOnly {
		v.errorf("protection.report_only", "report-only mode: no request is refused, denials are only logged and counted")
	}
	for i, r := range c.Routes {
		path := fmt.Sprintf("routes[%d]", i)
		if r.InsecureBypass {
			v.errorf(path+".insecure_bypass", "route %q has no CSRF protection at all", r.Pattern)
		}
		if r.ReportOnly && !c.Protection.ReportOnly {
			v.errorf(path+".report_only", "route %q is report-only: its requests are never refused", r.Pattern)
		}
	}
	c.operationWarnings(v)
	for i, k := range c.Protection.Keys {
		if k.IsLiteral() {
			v.errorf(fmt.Sprintf("protection.keys[%d]", i), "the key is written in the file: prefer {env: NAME} or {file: PATH}")
		}
	}
	if c.Store.IsLiteral() {
		if u, err := url.Parse(c.Store.Value()); err == nil && u.User != nil {
			v.errorf("store", "the store URL holds a password written in the file: prefer {env: NAME} or {file: PATH}")
		}
	}
	if host, _, err := net.SplitHostPort(c.Admin.Addr); err == nil && !isLoopback(host) {
		v.errorf("admin.addr", "the admin listener is reachable from the network: /metrics and /dashboard/ reveal traffic")
	}
	v.errs.Sort()
	return v.errs
}

// isLoopback reports whether host names only the loopback interface.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
