package main

import (
	"context"
	"io"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/scan"
)

// runScan runs "forgeproof scan"; see internal/scan.Command.
func runScan(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return scan.Command(ctx, args, stdout, stderr)
}
