package health

import (
	"context"
	"sync"
	"time"
)

// Clock tells a Pool the time. Every time-based decision in the pool (stats
// expiry, breaker backoffs, quarantine, Retry-After) reads it, so a FakeClock
// makes them deterministic in tests.
type Clock interface {
	Now() time.Time
}

// SystemClock is the real Clock: time.Now.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// FakeClock is a Clock that moves only when told to. Its zero value starts at
// an arbitrary fixed instant; it is safe for concurrent use.
type FakeClock struct {
	mu  sync.Mutex
	now time.Time
}

// fakeEpoch is where a zero FakeClock starts.
func fakeEpoch() time.Time { return time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC) }

// NewFakeClock returns a FakeClock set to t.
func NewFakeClock(t time.Time) *FakeClock { return &FakeClock{now: t} }

// Now returns the fake time.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.now.IsZero() {
		c.now = fakeEpoch()
	}
	return c.now
}

// Advance moves the fake time forward by d.
func (c *FakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.now.IsZero() {
		c.now = fakeEpoch()
	}
	c.now = c.now.Add(d)
}

// Sleep waits d on a real timer, or until ctx is done; it reports whether
// d passed.
func Sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
