package proxy

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// errUpstreamBusy reports an attempt not made because the upstream already
// had as many requests in flight as it may. It says nothing about the
// upstream's health.
var errUpstreamBusy = errors.New("upstream at its concurrent request limit")

// upstreamLimits caps the requests in flight to each upstream, so that a
// burst of misses cannot pile onto one mirror.
type upstreamLimits struct {
	max  int
	wait time.Duration

	mu    sync.Mutex
	slots map[string]chan struct{}
}

// acquire takes one of the upstream's request slots, waiting up to l.wait
// for one, and returns the function that gives it back.
func (l *upstreamLimits) acquire(ctx context.Context, upstream string) (release func(), err error) {
	if l.max <= 0 {
		return func() {}, nil
	}
	l.mu.Lock()
	slots := l.slots[upstream]
	if slots == nil {
		if l.slots == nil {
			l.slots = make(map[string]chan struct{})
		}
		slots = make(chan struct{}, l.max)
		l.slots[upstream] = slots
	}
	l.mu.Unlock()

	select {
	case slots <- struct{}{}:
		return func() { <-slots }, nil
	default:
	}
	timer := time.NewTimer(l.wait)
	defer timer.Stop()
	select {
	case slots <- struct{}{}:
		return func() { <-slots }, nil
	case <-timer.C:
		return nil, fmt.Errorf("%w (%d) for %v", errUpstreamBusy, l.max, l.wait)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
