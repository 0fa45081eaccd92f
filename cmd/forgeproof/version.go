package main

import (
	"context"
	"fmt"
	"io"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/version"
)

const versionUsage = `Usage: forgeproof version

Version prints the version of forgeproof (its module version, or (devel)
for a build from a checkout), the commit it was built from, and the Go
version that built it. Scan reports (JSON and SARIF) carry the same
version.

Flags:
`

func runVersion(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := cliFlagSet("version", versionUsage, stdout)
	if code, ok := cliParse(fs, args, stderr); !ok {
		return code
	}
	v := version.Get()
	fmt.Fprintf(stdout, "forgeproof %s\n", v.Module)
	if v.Commit != "" {
		dirty := ""
		if v.Modified {
			dirty = " (modified)"
		}
		fmt.Fprintf(stdout, "commit %s%s %s\n", v.Commit, dirty, v.Time)
	}
	if v.Go != "" {
		fmt.Fprintf(stdout, "built with %s\n", v.Go)
	}
	return 0
}
