package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/config"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/server"
)

const serveUsage = `Usage: forgeproof serve --config FILE [flags]
       forgeproof serve --upstream URL [flags]

Serve runs the gateway in front of a backend: every request is checked by
forgeproof's CSRF defenses, and the ones that pass are proxied to the
upstream. The configuration comes from a YAML file (see
docs/CONFIGURATION.md), from flags, or both: flags override the file.

Logs are JSON lines on stderr; every refused request is logged once.
/livez, /readyz and /metrics are served on the admin address.

Signals: SIGHUP reloads the configuration file (an invalid one is refused
and the running configuration kept); SIGINT and SIGTERM shut down
gracefully, letting requests in flight finish.

Flags:
`

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := cliFlagSet("serve", serveUsage, stdout)
	file := fs.String("config", "", "read the configuration from `FILE`")
	upstream := fs.String("upstream", "", "proxy every request to the backend at `URL` (replaces the file's upstreams)")
	addr := fs.String("addr", "", "listen on `ADDR` (default "+config.DefaultAddr+")")
	adminAddr := fs.String("admin-addr", "", "serve /livez, /readyz and /metrics on `ADDR` (default "+config.DefaultAdminAddr+")")
	session := fs.String("session-cookie", "", "bind tokens to the backend's session cookie `NAME`")
	preset := fs.String("preset", "", "the backend's `FRAMEWORK`: django, flask, express, rails, laravel or spring (sets its session cookie)")
	cert := fs.String("tls-cert", "", "serve HTTPS with the PEM certificate chain in `FILE`")
	key := fs.String("tls-key", "", "the PEM private key `FILE` of --tls-cert")
	openapi := fs.String("openapi", "", "take routes and request validation from the OpenAPI description in `FILE` (see docs/OPENAPI.md)")
	selfSigned := fs.Bool("tls-self-signed", false, "serve HTTPS with a throwaway self-signed certificate for localhost (development only)")
	if code, ok := cliParse(fs, args, stderr); !ok {
		return code
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	switch {
	case *file == "" && *upstream == "":
		return cliError(stderr, "serve needs a configuration file or an upstream",
			`run "forgeproof serve --config FILE" or "forgeproof serve --upstream http://127.0.0.1:3000"`)
	case *selfSigned && (*cert != "" || *key != ""):
		return cliError(stderr, "--tls-self-signed cannot be combined with --tls-cert and --tls-key",
			"use a certificate of your own, or the throwaway one, not both")
	case (*cert == "") != (*key == ""):
		return cliError(stderr, "--tls-cert and --tls-key go together", "give both files, or neither")
	}

	if *upstream != "" && *file == "" && !set["preset"] && !set["session-cookie"] {
		// Nothing says which framework the backend runs: ask it once.
		if p, cookie, ok := detectPreset(ctx, *upstream, *selfSigned || *cert != ""); ok {
			*preset = p
			set["preset"] = true
			fmt.Fprintf(stdout, "forgeproof: the backend set the cookie %s: %s detected, using --preset %s (pass --preset or --session-cookie to choose)\n", cookie, p, p)
			if p == "rails" {
				fmt.Fprintf(stdout, "forgeproof: tokens are not bound to %s: Rails's cookie store encrypts it anew on every response; pass --session-cookie %s only with a server-side session store\n", cookie, cookie)
			}
		} else {
			fmt.Fprintln(stdout, "forgeproof: no framework recognized from the backend's cookies: tokens are bound to no session; pass --preset or --session-cookie")
		}
	}

	override := func(c *config.Config) {
		if set["preset"] {
			c.Preset = *preset
			c.SetFlag("preset", "--preset")
		}
		if set["upstream"] {
			c.Upstreams = []config.Upstream{{URL: *upstream}}
			c.SetFlag("upstreams", "--upstream")
			c.SetFlag("upstreams[0]", "--upstream")
			c.SetFlag("upstreams[0].url", "--upstream")
		}
		if set["addr"] {
			c.Addr = *addr
			c.SetFlag("addr", "--addr")
		}
		if set["admin-addr"] {
			c.Admin.Addr = *adminAddr
			c.SetFlag("admin.addr", "--admin-addr")
		}
		if set["session-cookie"] {
			c.Protection.SessionCookie = *session
			c.SetFlag("protection.session_cookie", "--session-cookie")
		}
		if set["tls-cert"] {
			c.TLS = config.TLS{Cert: *cert, Key: *key}
			c.SetFlag("tls", "--tls-cert")
			c.SetFlag("tls.cert", "--tls-cert")
			c.SetFlag("tls.key", "--tls-key")
		}
		if set["openapi"] {
			c.OpenAPI.File = *openapi
			c.SetFlag("openapi.file", "--openapi")
		}
		if *selfSigned {
			c.TLS = config.TLS{SelfSigned: true}
			c.SetFlag("tls.self_signed", "--tls-self-signed")
		}
	}
	load := func() (*config.Config, error) { return config.LoadWith(*file, override) }

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	reload := make(chan struct{})
	go func() {
		for range hup {
			select {
			case reload <- struct{}{}:
			case <-ctx.Done():
				return
			}
		}
	}()

	err := server.Run(ctx, server.Options{
		Load:   load,
		Reload: reload,
		Log:    stderr,
		SelfSigned: func(fingerprint string) {
			fmt.Fprintf(stdout, "forgeproof: throwaway self-signed certificate for %s, SHA-256 fingerprint %s\n",
				strings.Join(server.SelfSignedHosts, ", "), fingerprint)
		},
		Started: func(url, adminURL string) {
			fmt.Fprintf(stdout, "forgeproof: serving on %s, admin on %s\n", url, adminURL)
		},
	})
	if err == nil {
		return 0
	}
	var list config.ErrorList
	if errors.As(err, &list) {
		for _, e := range list {
			fmt.Fprintln(stderr, e)
		}
		name := *file
		if name == "" {
			name = "configuration"
		}
		fmt.Fprintf(stderr, "forgeproof: error: %s: %s\n", name, plural(len(list), "problem"))
		if inFile(list, *file) {
			fmt.Fprintln(stderr, `forgeproof: hint: "forgeproof validate --config FILE" checks a file without serving`)
		}
		return 1
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintf(stderr, "forgeproof: error: %s\n", line)
	}
	if strings.Contains(err.Error(), "address already in use") {
		fmt.Fprintln(stderr, "forgeproof: hint: another program uses the port; choose another with --addr or --admin-addr")
	}
	return 1
}

// inFile reports whether some problem of list is in the configuration file
// (not in a flag), so that checking the file with validate would help.
func inFile(list config.ErrorList, file string) bool {
	for _, e := range list {
		if file != "" && e.Pos.File == file {
			return true
		}
	}
	return false
}

// detectPreset asks the backend at upstream for its root page once and
// names the framework whose cookies it set, with the cookie that told.
// When the gateway serves HTTPS, the request says so in
// X-Forwarded-Proto, as the proxied ones will: a backend that redirects
// plain HTTP to HTTPS (Rails's force_ssl) would otherwise answer with a
// redirect and no cookie.
func detectPreset(ctx context.Context, upstream string, https bool) (preset, cookie string, ok bool) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(upstream, "/")+"/", nil)
	if err != nil {
		return "", "", false
	}
	req.Header.Set("Accept", "text/html")
	if https {
		req.Header.Set("X-Forwarded-Proto", "https")
	}
	client := &http.Client{
		Transport: &http.Transport{Proxy: nil},
		// A redirect (to a login page) may carry the cookies itself.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", "", false
	}
	resp.Body.Close()
	var names []string
	for _, c := range resp.Cookies() {
		names = append(names, c.Name)
	}
	p, session, ok := config.DetectPreset(names)
	if !ok {
		return "", "", false
	}
	cookie = session
	for _, c := range p.Cookies {
		if slices.Contains(names, c) {
			cookie = c
			break
		}
	}
	return p.Name, cookie, true
}
