package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/forgeproof/forgeproof"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/authz"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/config"
)

const authzUsage = `Usage: forgeproof authz [--config FILE] [flags]

Authz answers the forward-auth subrequests of a proxy already in place, so
that it asks forgeproof whether to let each request through: nginx
auth_request at /auth/nginx, Traefik forwardAuth at /auth/traefik, Caddy
forward_auth at /auth/caddy, Envoy ext_authz (HTTP) with path_prefix
/auth/envoy. It answers 200 to allow, or a problem+json denial naming the
reason (also in the X-Forgeproof-Reason header). Pages fetch tokens at
/.forgeproof/token, which the proxy routes to it. Proxies send headers, not
bodies: tokens must travel in the X-CSRF-Token header. Configuration
snippets for each proxy are in docs/FORWARD-AUTH.md.

Listen where only the proxy can reach it. Logs are JSON lines on stderr.

Flags:
`

// repeated is a flag that may be given several times.
type repeated []string

func (r *repeated) String() string     { return strings.Join(*r, ",") }
func (r *repeated) Set(s string) error { *r = append(*r, s); return nil }

func runAuthz(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := cliFlagSet("authz", authzUsage, stdout)
	file := fs.String("config", "", "take protection and routes from the configuration `FILE` of serve (its upstreams are not used)")
	addr := fs.String("addr", "127.0.0.1:9091", "listen on `ADDR`")
	tokenPath := fs.String("token-path", authz.DefaultTokenPath, "issue tokens at `PATH`")
	session := fs.String("session-cookie", "", "bind tokens to the application's session cookie `NAME`")
	keyEnv := fs.String("key-env", "", "read the base64 token-signing key from the environment variable `NAME` (see forgeproof keygen)")
	var public, trusted repeated
	fs.Var(&public, "public-origin", "the `ORIGIN` browsers reach the application at (repeatable)")
	fs.Var(&trusted, "trusted-origin", "another `ORIGIN` whose pages may send unsafe requests (repeatable)")
	if code, ok := cliParse(fs, args, stderr); !ok {
		return code
	}
	lib := forgeproof.Config{}
	if *file != "" {
		c, err := config.LoadWith(*file, func(c *config.Config) {
			if len(c.Upstreams) == 0 {
				// authz proxies nothing; the validator wants one.
				c.Upstreams = []config.Upstream{{URL: "http://127.0.0.1:1"}}
			}
		})
		if err == nil {
			lib, err = authzLibrary(c)
		}
		if err != nil {
			var list config.ErrorList
			if errors.As(err, &list) {
				for _, e := range list {
					fmt.Fprintln(stderr, e)
				}
				fmt.Fprintf(stderr, "forgeproof: error: %s: %s\n", *file, plural(len(list), "problem"))
				return 1
			}
			fmt.Fprintf(stderr, "forgeproof: error: %v\n", err)
			return 1
		}
	}
	lib.PublicOrigins = append(lib.PublicOrigins, public...)
	lib.TrustedOrigins = append(lib.TrustedOrigins, trusted...)
	if *session != "" {
		lib.SessionCookie = *session
	}
	if *keyEnv != "" {
		v, ok := os.LookupEnv(*keyEnv)
		if !ok {
			return cliError(stderr, fmt.Sprintf("--key-env: environment variable %s is not set", *keyEnv),
				`set it to a key from "forgeproof keygen"`)
		}
		key, err := config.DecodeKey(v)
		if err == nil {
			lib.Keys, err = forgeproof.NewKeyRing(key)
		}
		if err != nil {
			return cliError(stderr, fmt.Sprintf("--key-env: %s: %v", *keyEnv, err), `set it to a key from "forgeproof keygen"`)
		}
	}
	logger := slog.New(slog.NewJSONHandler(stderr, nil))
	if lib.Keys == nil {
		logger.Warn("no signing key: tokens do not survive a restart nor work across instances; set --key-env or protection.keys")
	}
	lib.ErrorLog = log.New(stderr, "", 0)
	svc, err := authz.New(authz.Options{Protection: lib, TokenPath: *tokenPath, Log: logger})
	if err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintf(stderr, "forgeproof: error: %s\n", line)
		}
		return 1
	}
	l, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "forgeproof: error: listen on %s: %v\n", *addr, err)
		return 1
	}
	srv := &http.Server{Handler: svc, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(stdout, "forgeproof: forward-auth on http://%s\n", l.Addr())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	select {
	case err = <-done:
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = srv.Shutdown(sctx)
		cancel()
		logger.Info("stopped")
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(stderr, "forgeproof: error: %v\n", err)
		return 1
	}
	return 0
}

// authzLibrary returns the library configuration of c's protection and
// routes.
func authzLibrary(c *config.Config) (forgeproof.Config, error) {
	lib, err := c.Library(nil)
	if err != nil {
		return lib, err
	}
	opts, err := c.Gateway(lib)
	if err != nil {
		return lib, err
	}
	for _, r := range opts.Routes {
		rt := r.Protect
		rt.Pattern = r.Pattern
		lib.Routes = append(lib.Routes, rt)
	}
	return lib, nil
}
