// Command caddy is a minimal Caddy built from its Go module for the gateway
// benchmark (../run.sh): the standard modules, reverse_proxy among them,
// and nothing else. It is the same program as the caddy release with the
// same version, without plugins.
//
// Usage: as caddy, such as `caddy run --config Caddyfile --adapter caddyfile`.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"
)

func main() {
	caddycmd.Main()
}
