package forgeproof

import (
	"testing"
	"time"
)

// stoppedClock returns a stopped clock whose timer, once started, is
// stopped when the test ends.
func stoppedClock(t *testing.T) *secondClock {
	c := new(secondClock)
	t.Cleanup(func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.timer != nil {
			c.timer.Stop()
		}
	})
	return c
}

// TestSecondClock checks that the clock of the token layer tells the
// second of time.Now, keeps ticking while it is read, and stops when a
// tick finds that it was not.
func TestSecondClock(t *testing.T) {
	c := stoppedClock(t)
	within := func(when string) {
		t.Helper()
		before := time.Now().Truncate(time.Second)
		got := c.now()
		after := time.Now()
		if got.Before(before) || got.After(after) || !got.Equal(got.Truncate(time.Second)) {
			t.Fatalf("%s: now = %v, want a whole second within [%v, %v]", when, got, before, after)
		}
	}

	within("stopped") // starts the clock
	if c.unix.Load() == 0 {
		t.Fatal("the first reading did not start the clock")
	}
	within("started")
	if !c.used.Load() {
		t.Fatal("a reading of the running clock was not recorded")
	}

	// A tick after readings stores the second again and keeps running.
	c.unix.Store(1)
	c.used.Store(true) // as the reading above did, should the timer have ticked since
	c.tick()
	if s := c.unix.Load(); s == 0 || s == 1 {
		t.Fatalf("a tick after a reading left the second at %d", s)
	}
	within("after a tick")

	// A tick with no reading since the last one stops the clock, and the
	// next reading starts it again from time.Now.
	c.tick() // the reading above: keeps running
	c.tick() // no reading since: stops
	if s := c.unix.Load(); s != 0 {
		t.Fatalf("an idle tick left the clock running at %d", s)
	}
	within("restarted")
	if c.unix.Load() == 0 {
		t.Fatal("a reading did not restart the clock")
	}
}

// TestSecondClockTicks waits for the timer itself: read once a tenth of a
// second, the clock moves on with time.Now.
func TestSecondClockTicks(t *testing.T) {
	c := stoppedClock(t)
	first := c.now()
	deadline := time.Now().Add(5 * time.Second)
	for c.now().Equal(first) {
		if time.Now().After(deadline) {
			t.Fatalf("the clock still reads %v after 5s", first)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got, want := c.now(), time.Now().Truncate(time.Second); got.Before(want.Add(-time.Second)) {
		t.Errorf("now = %v, more than a second behind %v", got, want)
	}
}
