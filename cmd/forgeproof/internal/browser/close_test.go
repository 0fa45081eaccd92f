package browser

import (
	"context"
	"errors"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/forgeproof/forgeproof/internal/testenv"
)

// TestCloseStopsEverything checks that Close leaves no browser process and
// no user data directory behind, even with profiles still open.
func TestCloseStopsEverything(t *testing.T) {
	path := testenv.Chromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := Launch(ctx, Options{ExecPath: path})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.NewProfile(); err != nil { // left open on purpose
		b.Close()
		t.Fatal(err)
	}
	proc := chromedp.FromContext(b.ctx).Browser.Process()
	if proc == nil {
		b.Close()
		t.Fatal("no browser process")
	}
	if err := b.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := proc.Signal(syscall.Signal(0)); !errors.Is(err, os.ErrProcessDone) {
		t.Errorf("browser process %d still running after Close (signal 0: %v)", proc.Pid, err)
	}
	if _, err := os.Stat(b.dataDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("user data directory %s still there after Close: %v", b.dataDir, err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}
