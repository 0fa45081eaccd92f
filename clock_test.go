package forgeproof

import (
	"testing"
	"time"
)

// TestWallClock checks that the clock of the token layer agrees with
// time.Now, before and after it reads time.Now again.
func TestWallClock(t *testing.T) {
	var c wallClock
	for i := 0; i < 3; i++ {
		before := time.Now()
		got := c.now()
		after := time.Now()
		if got.Before(before) || got.After(after) {
			t.Fatalf("reading %d: now = %v, not within [%v, %v]", i, got, before, after)
		}
		if i == 1 {
			// Past a second, the clock reads time.Now again.
			c.last.Store(new(before.Add(-2 * time.Second)))
		}
	}
}
