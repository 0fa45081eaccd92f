package config

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/forgeproof/forgeproof"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/gateway"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/redact"
)

// Library returns the library configuration of c, with store as its token
// store (nil for an in-memory one). c must be valid. The hooks
// (OnDecision, DenyHandler, ErrorLog) are left for the caller to set.
func (c *Config) Library(store forgeproof.Store) (forgeproof.Config, error) {
	p := c.Protection
	lib := c.libraryConfig()
	lib.Store = store
	if len(p.Keys) > 0 {
		keys := make([][]byte, len(p.Keys))
		for i, s := range p.Keys {
			k, err := DecodeKey(s.Value())
			if err != nil {
				return lib, fmt.Errorf("protection.keys[%d]: %v", i, err)
			}
			keys[i] = k
		}
		ring, err := forgeproof.NewKeyRing(keys...)
		if err != nil {
			return lib, err
		}
		lib.Keys = ring
	}
	return lib, nil
}

// Gateway returns the gateway options of c around the library
// configuration lib. c must be valid.
func (c *Config) Gateway(lib forgeproof.Config) (gateway.Options, error) {
	opts := gateway.Options{
		Protection:     lib,
		ReservedPrefix: c.ReservedPrefix,
		MaxBodyBytes:   c.Limits.MaxBodyBytes,
		MaxHeaderBytes: int64(c.Limits.MaxHeaderBytes),
		FlushInterval:  c.FlushInterval,
		Cookies:        cookieRules(c.Cookies),
		Headers:        headers(&c.Headers),
		CORS:           cors(c.CORS),
		InjectHTML:     c.InjectHTML,
		ReauthVerify:   c.ReauthVerify,
		ReauthSuccess:  gateway.ReauthSuccess{Status: c.ReauthSuccess.Status, Header: c.ReauthSuccess.Header, Value: c.ReauthSuccess.Value},

		TokenResponseHeader: c.TokenResponseHeader,
	}
	for i, u := range c.Upstreams {
		pu, err := url.Parse(u.URL)
		if err != nil {
			return opts, fmt.Errorf("upstreams[%d].url: %s", i, redact.Error(err))
		}
		opts.Upstreams = append(opts.Upstreams, gateway.Upstream{
			Name:                  u.Name,
			URL:                   pu,
			Hosts:                 u.Hosts,
			PathPrefix:            u.PathPrefix,
			PreserveHost:          u.PreserveHost,
			DialTimeout:           u.DialTimeout,
			ResponseHeaderTimeout: u.ResponseHeaderTimeout,
		})
	}
	// The operations of the OpenAPI description follow the configured
	// routes: each validates its requests, with a route of its own or on
	// the configured route of its shape.
	routes := c.Routes[:len(c.Routes):len(c.Routes)]
	validators := map[int]gateway.RequestValidator{}
	for _, or := range c.OperationRoutes() {
		if or.Configured >= 0 {
			validators[or.Configured] = or.Operation
			continue
		}
		validators[len(routes)] = or.Operation
		routes = append(routes, or.Route)
	}
	if c.api != nil {
		opts.MaxValidatedBodyBytes = c.OpenAPI.MaxBodyBytes
		switch c.OpenAPI.UnknownPaths {
		case "report":
			opts.UnknownPaths = gateway.UnknownReport
		case "deny":
			opts.UnknownPaths = gateway.UnknownDeny
		}
	}
	for i, r := range routes {
		gr := gateway.Route{
			Pattern:    r.Pattern,
			Protect:    libraryRoute(&r),
			Cookies:    cookieRules(r.Cookies),
			CORS:       cors(r.CORS),
			InjectHTML: r.InjectHTML,
			Roles:      r.Roles,
			Validator:  validators[i],
		}
		if r.Headers != nil {
			h := headers(r.Headers)
			gr.Headers = &h
		}
		opts.Routes = append(opts.Routes, gr)
	}
	opts.Identity = c.Identity.options()
	return opts, nil
}

func tokenMode(s string) forgeproof.TokenMode {
	switch s {
	case "signed":
		return forgeproof.SignedTokens
	case "synchronizer":
		return forgeproof.SynchronizerTokens
	case "off":
		return forgeproof.TokensOff
	}
	return forgeproof.TokensDefault
}

func cookieRules(cs []Cookie) []gateway.CookieRule {
	if cs == nil {
		return nil
	}
	rules := make([]gateway.CookieRule, len(cs))
	for i, c := range cs {
		r := gateway.CookieRule{
			Name:     c.Name,
			Secure:   flag(c.Secure),
			HttpOnly: flag(c.HTTPOnly),
			Skip:     c.Skip,
		}
		if r.Name == "*" {
			r.Name = ""
		}
		switch c.SameSite {
		case "lax":
			r.SameSite = http.SameSiteLaxMode
		case "strict":
			r.SameSite = http.SameSiteStrictMode
		case "none":
			r.SameSite = http.SameSiteNoneMode
		case "keep":
			r.SameSite = http.SameSiteDefaultMode
		}
		rules[i] = r
	}
	return rules
}

func flag(s string) gateway.Flag {
	switch s {
	case "set":
		return gateway.FlagSet
	case "keep":
		return gateway.FlagKeep
	}
	return gateway.FlagAuto
}

func headers(h *Headers) gateway.Headers {
	return gateway.Headers{
		ContentSecurityPolicy: h.ContentSecurityPolicy,
		FrameAncestors:        h.FrameAncestors,
		ReferrerPolicy:        h.ReferrerPolicy,
		Override:              h.Override,
		Disable:               h.Disable,
	}
}

func cors(c *CORS) *gateway.CORS {
	if c == nil {
		return nil
	}
	return &gateway.CORS{
		AllowOrigins:     c.AllowOrigins,
		AllowMethods:     c.AllowMethods,
		AllowHeaders:     c.AllowHeaders,
		ExposeHeaders:    c.ExposeHeaders,
		AllowCredentials: c.AllowCredentials,
		MaxAge:           c.MaxAge,
	}
}
