package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/config"
	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/gateway"
)

const validateUsage = `Usage: forgeproof validate --config FILE [--openapi FILE]

Validate checks a configuration file for "forgeproof serve": unknown or
misspelt keys, values of the wrong type, invalid values, missing secrets
(environment variables and files it references) and unreadable TLS files.
It lists every problem with its line and column and exits 1, or prints
"FILE: ok" and exits 0, after a warning for each risky setting (protection
turned off or down, secrets written in the file, an admin listener
reachable from the network).

With an OpenAPI description (openapi.file in the configuration, or
--openapi), its x-forgeproof extensions are checked too, each problem at
its line of the description, and the effective rule of every operation is
printed to stdout as a table (see docs/OPENAPI.md).

Flags:
`

func runValidate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := cliFlagSet("validate", validateUsage, stdout)
	file := fs.String("config", "", "the configuration `FILE` to check")
	openapi := fs.String("openapi", "", "check the OpenAPI description in `FILE` with it (replaces openapi.file)")
	if code, ok := cliParse(fs, args, stderr); !ok {
		return code
	}
	if *file == "" {
		return cliError(stderr, "validate needs a configuration file",
			`run "forgeproof validate --config FILE"`)
	}
	c, err := config.LoadWith(*file, func(c *config.Config) {
		if *openapi != "" {
			c.OpenAPI.File = *openapi
			c.SetFlag("openapi.file", "--openapi")
		}
	})
	if err != nil {
		var list config.ErrorList
		if !errors.As(err, &list) {
			fmt.Fprintf(stderr, "forgeproof: error: %v\n", err)
			return 1
		}
		for _, e := range list {
			fmt.Fprintln(stderr, e)
		}
		fmt.Fprintf(stderr, "forgeproof: error: %s: %s\n", *file, plural(len(list), "problem"))
		return 1
	}
	// Build the gateway as serve would (with an in-memory store, so that
	// validating never connects to Redis), for the checks that only the
	// library and the gateway make.
	if err := buildGateway(c); err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintf(stderr, "forgeproof: error: %s: %s\n", *file, line)
		}
		return 1
	}
	for _, w := range c.Warnings() {
		fmt.Fprintf(stderr, "%s: warning: %s: %s\n", w.Pos, w.Path, w.Msg)
	}
	if ops := c.OperationRoutes(); ops != nil {
		printOperations(stdout, c, ops)
	}
	fmt.Fprintf(stderr, "%s: ok\n", *file)
	return 0
}

// printOperations writes the effective rule of every operation as a
// table.
func printOperations(w io.Writer, c *config.Config, ops []config.OperationRoute) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "OPERATION\tCHECKED\tTOKENS\tJSON_ONLY\tREQUIRE_HEADER\tONE_TIME\tREAUTH\tROLES\tREPORT_ONLY\tVALIDATED\tFROM")
	yes := func(b bool) string {
		if b {
			return "yes"
		}
		return "-"
	}
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	for _, or := range ops {
		r := or.Route
		op := or.Operation
		checked := "no"
		switch {
		case r.InsecureBypass:
			checked = "bypass"
		case !safeMethod(op.Method):
			checked = "yes"
		case r.CheckSafeMethods:
			checked = "yes (unsafe)"
		}
		tokens := r.Tokens
		if tokens == "" {
			tokens = c.Protection.Tokens
		}
		reauth := "-"
		if r.ReauthMaxAge > 0 {
			reauth = strings.TrimSuffix(strings.TrimSuffix(r.ReauthMaxAge.String(), "0s"), "0m")
		}
		validated := "no"
		if checked != "no" {
			validated = "yes"
		}
		if r.InsecureBypass {
			tokens = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			op.Pattern, checked, tokens, yes(r.JSONOnly), dash(r.RequireHeader), yes(r.OneTimeTokens),
			reauth, dash(strings.Join(r.Roles, ",")), yes(r.ReportOnly || c.Protection.ReportOnly), validated, or.From)
	}
	tw.Flush()
}

// safeMethod reports whether the library leaves requests of method m
// unchecked unless a route asks otherwise.
func safeMethod(m string) bool {
	switch m {
	case "GET", "HEAD", "OPTIONS", "TRACE":
		return true
	}
	return false
}

// buildGateway builds the library configuration and the gateway of c.
func buildGateway(c *config.Config) error {
	lib, err := c.Library(nil)
	if err != nil {
		return err
	}
	opts, err := c.Gateway(lib)
	if err != nil {
		return err
	}
	_, err = gateway.New(opts)
	return err
}

// cliFlagSet returns a flag set for the subcommand name whose help text,
// printed to stdout on --help, is usage followed by the flag defaults. Both
// -flag and --flag work.
func cliFlagSet(name, usage string, stdout io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		fs.SetOutput(stdout)
		fmt.Fprint(stdout, usage)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	return fs
}

// cliParse parses args into fs. When it returns ok false, the command
// returns code: 0 after --help (printed once, to the flag set's stdout), 2
// after a usage error (already reported, with the closest flag when one
// was mistyped).
func cliParse(fs *flag.FlagSet, args []string, stderr io.Writer) (code int, ok bool) {
	help := fs.Usage
	fs.Usage = func() {} // Parse calls it on -h and on every error
	err := fs.Parse(args)
	fs.Usage = help
	hint := fmt.Sprintf(`run "forgeproof %s --help" for the flags`, fs.Name())
	switch {
	case errors.Is(err, flag.ErrHelp):
		help()
		return 0, false
	case err != nil:
		msg := strings.TrimPrefix(err.Error(), "flag ")
		if name, ok := strings.CutPrefix(msg, "provided but not defined: -"); ok {
			if s := closestFlag(fs, name); s != "" {
				msg += fmt.Sprintf(" (did you mean --%s?)", s)
			}
		}
		return cliError(stderr, msg, hint), false
	case fs.NArg() > 0:
		return cliError(stderr, fmt.Sprintf("unexpected argument %q", fs.Arg(0)), hint), false
	}
	return 0, true
}

// closestFlag returns the flag of fs that name is likely a typo of, or "".
func closestFlag(fs *flag.FlagSet, name string) string {
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	return config.Closest(strings.TrimPrefix(name, "-"), names)
}

// cliError reports a usage error with a hint and returns exit code 2.
func cliError(stderr io.Writer, msg, hint string) int {
	fmt.Fprintf(stderr, "forgeproof: error: %s\n", msg)
	if hint != "" {
		fmt.Fprintf(stderr, "forgeproof: hint: %s\n", hint)
	}
	return 2
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
