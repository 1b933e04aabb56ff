package alert

import (
	"context"
	"time"

	"github.com/gofailover/gofailover/health"
)

// Source gives the health of every upstream; *health.Pool is one.
type Source interface {
	Snapshot() []health.Status
}

// Run evaluates src's health at once and then every Config.Interval until
// ctx is done, taking the time of each evaluation from clock (nil means
// health.SystemClock; the wait between evaluations uses a real ticker). It
// starts no goroutine and returns when ctx is done.
func (e *Engine) Run(ctx context.Context, src Source, clock health.Clock) {
	if clock == nil {
		clock = health.SystemClock{}
	}
	tick := time.NewTicker(e.cfg.Interval)
	defer tick.Stop()
	for {
		if ctx.Err() != nil {
			return
		}
		e.Evaluate(clock.Now(), src.Snapshot())
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
