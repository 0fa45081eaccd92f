// Command forgeproof runs the forgeproof CSRF gateway, its demo, and its
// scanner, and answers the forward-auth requests of other proxies.
//
// Usage:
//
//	forgeproof demo     [--addr ADDR] [--admin-addr ADDR]
//	forgeproof serve    --config FILE | --upstream URL [flags]
//	forgeproof validate --config FILE
//	forgeproof keygen
//	forgeproof scan     --target URL [flags]
//	forgeproof authz    [--config FILE] [flags]
//	forgeproof version
//
// Run "forgeproof COMMAND --help" for the flags of a command.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/config"
)

// A command runs one subcommand with its arguments and returns the exit code.
type command func(ctx context.Context, args []string, stdout, stderr io.Writer) int

var commands = map[string]struct {
	run     command
	summary string
}{
	"demo":     {runDemo, "run a demo bank behind the gateway, with in-memory state"},
	"serve":    {runServe, "run the gateway in front of a backend"},
	"validate": {runValidate, "check a configuration file and list every problem"},
	"keygen":   {runKeygen, "print a fresh token-signing key"},
	"scan":     {runScan, "audit an API for CSRF weaknesses"},
	"authz":    {runAuthz, "answer forward-auth requests of nginx, Traefik, Caddy or Envoy"},
	"version":  {runVersion, "print the version, commit and Go version"},
}

var order = []string{"demo", "serve", "validate", "keygen", "scan", "authz", "version"}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	switch {
	case len(args) == 0:
		usage(stderr)
		return 2
	case args[0] == "help" && len(args) > 1:
		// "forgeproof help serve" is "forgeproof serve --help".
		return run(ctx, []string{args[1], "--help"}, stdout, stderr)
	case args[0] == "help" || args[0] == "-h" || args[0] == "-help" || args[0] == "--help":
		usage(stdout)
		return 0
	case args[0] == "-version" || args[0] == "--version":
		args = []string{"version"}
	}
	c, ok := commands[args[0]]
	if !ok {
		msg := fmt.Sprintf("unknown command %q", args[0])
		if s := config.Closest(args[0], order); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		return cliError(stderr, msg, `run "forgeproof help" for the list of commands`)
	}
	return c.run(ctx, args[1:], stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Usage: forgeproof COMMAND [flags]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Commands:")
	for _, name := range order {
		fmt.Fprintf(w, "  %-9s %s\n", name, commands[name].summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, `Run "forgeproof COMMAND --help" for the flags of a command.`)
}
