package main

import (
	"context"
	"io"
)

// SKELETON: owned by the helper that builds "forgeproof demo".
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	panic("SKELETON")
}
