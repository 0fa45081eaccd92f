package config

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/forgeproof/forgeproof"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/gateway"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/operations"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/operations/rule"
)

// Defaults of the openapi section.
const (
	// DefaultUnknownPaths proxies requests that match no operation.
	DefaultUnknownPaths = "pass"
	// DefaultOpenAPIMaxBodyBytes bounds a body held to be validated
	// (1 MiB).
	DefaultOpenAPIMaxBodyBytes = gateway.DefaultMaxValidatedBodyBytes
)

// OpenAPI takes the gateway's routes from the API's OpenAPI description.
type OpenAPI struct {
	// File is the OpenAPI 3.0 or 3.1 description, YAML or JSON.
	File string `yaml:"file"`
	// UnknownPaths is pass, report or deny: what happens to requests
	// that match no operation and no route.
	UnknownPaths string `yaml:"unknown_paths" enum:"pass,report,deny"`
	// MaxBodyBytes bounds a request body held in memory to be validated.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
}

// openapi loads the description, if any, and reports its problems at
// their lines in the description.
func (v *validator) openapi() {
	c := v.c
	c.api = nil
	o := c.OpenAPI
	if o.File == "" {
		if o.UnknownPaths != "" && o.UnknownPaths != DefaultUnknownPaths {
			v.errorf("openapi.unknown_paths", "applies to the operations of an OpenAPI description: set openapi.file too")
		}
		return
	}
	if v.c.bad["openapi.file"] {
		return
	}
	d, err := operations.Load(context.Background(), o.File)
	if d == nil {
		v.errorf("openapi.file", "%v", err)
		return
	}
	var joined interface{ Unwrap() []error }
	if errors.As(err, &joined) {
		for _, e := range joined.Unwrap() {
			var p *operations.Problem
			if !errors.As(e, &p) {
				v.errorf("openapi.file", "%v", e)
				continue
			}
			msg := p.Msg
			if p.Key != "" && strings.HasPrefix(msg, "unknown key") {
				if s := Closest(p.Key, rule.Keys()); s != "" {
					msg = fmt.Sprintf("unknown key %q (did you mean %q?); the keys are %s", p.Key, s, strings.Join(rule.Keys(), ", "))
				}
			}
			v.errs = append(v.errs, &Error{Pos: Pos{File: p.File, Line: p.Line, Col: p.Col}, Path: p.Path, Msg: msg})
		}
	}
	c.api = d
	if c.Identity.JWT == nil && c.Identity.Header == nil {
		for _, op := range d.Operations {
			if len(op.Rule.Roles) > 0 {
				v.errs = append(v.errs, &Error{Pos: Pos{File: d.File, Line: op.Line, Col: op.Col}, Path: op.Pattern + " roles",
					Msg: "roles need a source of identities: set identity.jwt (tokens from your identity provider) or identity.header (an authenticating proxy's header)"})
			}
		}
	}
}

// An OperationRoute is the effective route of one operation of the
// OpenAPI description.
type OperationRoute struct {
	// Operation is the operation, which validates its requests.
	Operation *operations.Operation
	// Route holds the rules that apply to the operation.
	Route Route
	// From says where the rules come from: "x-forgeproof", "inferred",
	// "x-forgeproof, inferred", "defaults", or "routes[i]" when a
	// configured route governs the operation.
	From string
	// Configured is the index of the configured route whose pattern has
	// the operation's shape, which then carries the operation's
	// validation; -1 when the operation has a route of its own.
	Configured int
}

// OperationRoutes returns the effective route of every operation of the
// OpenAPI description, in the description's order, or nil without one. c
// must be valid. A configured route wins over an operation: when the
// library would dispatch the operation's path to a configured route, the
// operation takes that route's rules.
func (c *Config) OperationRoutes() []OperationRoute {
	if c.api == nil {
		return nil
	}
	lib := forgeproof.Config{}
	for i := range c.Routes {
		lib.Routes = append(lib.Routes, libraryRoute(&c.Routes[i]))
	}
	configured, err := forgeproof.New(lib)
	if err != nil {
		return nil // c is not valid
	}
	index := map[string]int{}
	for i, r := range c.Routes {
		index[r.Pattern] = i
	}
	var out []OperationRoute
	for _, op := range c.api.Operations {
		or := OperationRoute{Operation: op, Configured: -1}
		_, p, _ := forgeproof.SplitPattern(op.Pattern)
		if cp := configured.RoutePattern(op.Method, strings.TrimSuffix(p, "{$}")); cp != "" {
			i := index[cp]
			or.Route = c.Routes[i]
			or.From = fmt.Sprintf("routes[%d]", i)
			if sameShape(cp, op.Pattern) {
				or.Configured = i
			}
			or.Route.Pattern = op.Pattern
			out = append(out, or)
			continue
		}
		r := op.Rule
		or.Route = Route{
			Pattern:          op.Pattern,
			Tokens:           r.Tokens,
			OneTimeTokens:    r.OneTimeTokens,
			JSONOnly:         r.JSONOnly,
			RequireHeader:    r.RequireHeader,
			CheckSafeMethods: r.Unsafe,
			ReportOnly:       r.ReportOnly,
			ReauthMaxAge:     r.ReauthMaxAge,
			InsecureBypass:   r.Bypass,
			Roles:            r.Roles,
		}
		var from []string
		if len(op.Declared) > 0 {
			from = append(from, rule.Extension)
		}
		if len(op.Inferred) > 0 {
			from = append(from, "inferred")
		}
		or.From = strings.Join(from, ", ")
		if or.From == "" {
			or.From = "defaults"
		}
		out = append(out, or)
	}
	return out
}

// sameShape reports whether two valid route patterns match the same
// requests, by the library's own rule: it refuses two such routes.
func sameShape(a, b string) bool {
	_, err := forgeproof.New(forgeproof.Config{Routes: []forgeproof.Route{{Pattern: a}, {Pattern: b}}})
	return err != nil
}

// operationWarnings adds the operations of the description whose own
// rules turn protection off or down, at their lines of the description.
func (c *Config) operationWarnings(v *validator) {
	for _, or := range c.OperationRoutes() {
		if or.From == "" || strings.HasPrefix(or.From, "routes[") {
			continue // a configured route, warned about above
		}
		op := or.Operation
		at := func(msg string) {
			v.errs = append(v.errs, &Error{Pos: Pos{File: c.api.File, Line: op.Line, Col: op.Col}, Path: op.Pattern, Msg: msg})
		}
		if or.Route.InsecureBypass {
			at("the operation has no CSRF protection at all (x-forgeproof bypass)")
		}
		if or.Route.ReportOnly && !c.Protection.ReportOnly {
			at("the operation is report-only: its requests are never refused")
		}
	}
}
