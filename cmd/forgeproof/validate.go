package main

import (
	"context"
	"io"
)

// SKELETON: owned by the helper that builds "forgeproof validate".
func runValidate(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	panic("SKELETON")
}
