package forgeproof

import (
	"sync/atomic"
	"time"
)

// A wallClock tells the time as time.Now does, at the cost of one reading
// of the monotonic clock instead of two readings (wall and monotonic): it
// adds the monotonic time elapsed since its last reading of time.Now, and
// reads time.Now again once a second of monotonic time has passed. A step
// of the wall clock (a correction, a resume from suspend) so shows within
// a second, which tokens that count in seconds and allow a minute of skew
// do not notice. On virtual machines, where reading a clock can cost as
// much as a tenth of a token's HMAC, this halves what a verification
// spends on the time. A wallClock is safe for concurrent use.
type wallClock struct {
	last atomic.Pointer[time.Time] // the last reading of time.Now
}

// clock is the clock of the token layer.
var clock wallClock

// now returns the current time.
func (c *wallClock) now() time.Time {
	if last := c.last.Load(); last != nil {
		if d := time.Since(*last); 0 <= d && d < time.Second {
			return last.Add(d)
		}
	}
	t := time.Now()
	c.last.Store(&t)
	return t
}
