// Command forgeproof runs the forgeproof CSRF gateway, its demo, and its
// scanner.
//
// Usage:
//
//	forgeproof demo     [--addr ADDR] [--admin-addr ADDR]
//	forgeproof serve    --config FILE | --upstream URL [flags]
//	forgeproof validate --config FILE
//	forgeproof keygen
//	forgeproof scan     --target URL [flags]
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
}

var order = []string{"demo", "serve", "validate", "keygen", "scan"}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "forgeproof: error: unknown command %q\n", args[0])
		fmt.Fprintf(stderr, "forgeproof: hint: run \"forgeproof help\" for the list of commands\n")
		return 2
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
