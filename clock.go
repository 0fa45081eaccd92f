package forgeproof

import (
	"sync"
	"sync/atomic"
	"time"
)

// A secondClock tells the time to the second, which is all that tokens
// counting their age in seconds (and allowing a minute of skew) need,
// without reading a clock on every call. Reading one costs a verification
// as much as a fifth of its HMAC on virtual machines (kvm-clock), so
// instead a timer stores the current Unix second once a second, just after
// the second begins, and now returns that. The timer runs only while the
// clock is read: a tick that finds no reading since the one before stops
// it, and the next reading starts it again, reading time.Now itself. A
// reading so lags the true second by the timer's latency at most (well
// under a second, unless the process is starved), and is never ahead. A
// secondClock is safe for concurrent use; its zero value is stopped.
type secondClock struct {
	unix  atomic.Int64 // the current Unix second, or 0 while stopped
	used  atomic.Bool  // whether the clock was read since the last tick
	mu    sync.Mutex   // serializes start and tick
	timer *time.Timer  // the ticking timer, created by the first start
}

// clock is the clock of the token layer.
var clock secondClock

// now returns the current time, truncated to the second.
func (c *secondClock) now() time.Time {
	if s := c.unix.Load(); s != 0 {
		if !c.used.Load() { // a load first: most readers need not write
			c.used.Store(true)
		}
		return time.Unix(s, 0)
	}
	return c.start()
}

// start reads time.Now, stores its second and sets the timer for the
// next, unless another reader started the clock first.
func (c *secondClock) start() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.unix.Load(); s != 0 {
		return time.Unix(s, 0)
	}
	return c.set()
}

// tick stores the new second and sets the timer for the next, or stops
// the clock if it was not read since the last tick.
func (c *secondClock) tick() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.used.Swap(false) {
		c.unix.Store(0)
		return
	}
	c.set()
}

// set stores the second of time.Now and sets the timer for the beginning
// of the next one. c.mu must be held.
func (c *secondClock) set() time.Time {
	now := time.Now()
	c.unix.Store(now.Unix())
	next := now.Truncate(time.Second).Add(time.Second).Sub(now)
	if c.timer == nil {
		c.timer = time.AfterFunc(next, c.tick)
	} else {
		c.timer.Reset(next)
	}
	return time.Unix(now.Unix(), 0)
}
