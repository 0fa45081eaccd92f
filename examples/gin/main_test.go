package main

import (
	"testing"

	"github.com/forgeproof/forgeproof/internal/exampletest"
)

// TestExample runs the example over real HTTP: a page of the application
// fetches a token and transfers; forged requests are refused with their
// reason and never reach the handler.
func TestExample(t *testing.T) {
	h, err := newApp()
	if err != nil {
		t.Fatal(err)
	}
	exampletest.Run(t, h)
}
