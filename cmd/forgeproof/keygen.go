package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"

	"github.com/forgeproof/forgeproof"
)

const keygenUsage = `Usage: forgeproof keygen

Keygen prints a fresh random token-signing key, base64-encoded, on one line.
Put it in the environment and reference it from the configuration file:

	protection:
	  keys:
	    - {env: FORGEPROOF_KEY}

The first key of the list signs; all of them verify. To rotate, put the new
key first and keep the old one until the tokens it signed have expired.

Flags:
`

func runKeygen(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := cliFlagSet("keygen", keygenUsage, stdout)
	if code, ok := cliParse(fs, args, stderr); !ok {
		return code
	}
	fmt.Fprintln(stdout, base64.StdEncoding.EncodeToString(forgeproof.GenerateKey()))
	return 0
}
