// Package gateway is a reverse proxy that puts forgeproof's CSRF defenses in
// front of a backend that cannot be changed.
package gateway

import (
	"errors"
	"net/http"
)

// Gateway is an http.Handler that checks every request with one
// forgeproof.Protection and proxies the ones that pass to an upstream.
// Create one with [New]; it is safe for concurrent use.
type Gateway struct {
	opts Options
}

// New returns a Gateway for opts, or an error naming every field that is
// wrong.
func New(opts Options) (*Gateway, error) {
	if len(opts.Upstreams) == 0 {
		return nil, errors.New("gateway: no upstream: set Options.Upstreams")
	}
	return &Gateway{opts: opts}, nil
}

// ServeHTTP checks r and proxies it, or answers it itself.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	http.Error(w, "gateway: not yet implemented", http.StatusNotImplemented)
}
