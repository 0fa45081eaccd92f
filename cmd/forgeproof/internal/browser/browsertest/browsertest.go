// Package browsertest starts the system Chromium for tests, as
// net/http/httptest starts servers: each browser and profile it makes is
// closed when the test ends.
package browsertest

import (
	"context"
	"testing"
	"time"

	"github.com/forgeproof/forgeproof/cmd/forgeproof/internal/browser"
	"github.com/forgeproof/forgeproof/internal/testenv"
)

// Launch starts Chromium with opts, its binary found by testenv.Chromium
// unless opts names one, and closes it when the test ends. A test fails
// if Chromium does not start within 60 seconds.
func Launch(t testing.TB, opts browser.Options) *browser.Browser {
	t.Helper()
	if opts.ExecPath == "" {
		opts.ExecPath = testenv.Chromium(t)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b, err := browser.Launch(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// Tab launches Chromium as Launch does and returns the tab of a new
// profile of it.
func Tab(t testing.TB, opts browser.Options) *browser.Tab {
	t.Helper()
	p, err := Launch(t, opts).NewProfile()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p.Tab()
}
