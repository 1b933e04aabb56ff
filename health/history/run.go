package history

import (
	"context"
	"time"

	"github.com/gofailover/gofailover/health"
)

// shutdownSave bounds the save Run makes when its context is done.
const shutdownSave = 5 * time.Second

// Run records source() at once and then every Step, and saves every
// SaveEvery, until ctx is done; then it saves once more, within a few
// seconds, and returns. Samples are taken in the middle of the fine tier's
// intervals, so that timer jitter neither skips an interval nor takes two
// in one. source is typically health.Pool.Snapshot; clock stamps the
// samples (nil means health.SystemClock), while waiting uses real timers.
// Run starts no goroutines.
func (h *History) Run(ctx context.Context, source func() []health.Status, clock health.Clock) {
	if clock == nil {
		clock = health.SystemClock{}
	}
	h.Record(clock.Now(), source())
	sample := time.NewTimer(untilSample(clock.Now(), h.cfg.Step))
	defer sample.Stop()
	save := time.NewTicker(h.cfg.SaveEvery)
	defer save.Stop()
	for {
		select {
		case <-ctx.Done():
			sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownSave)
			if err := h.Save(sctx); err != nil {
				h.log.Error("health history not saved at shutdown", "err", err)
			}
			cancel()
			return
		case <-sample.C:
			h.Record(clock.Now(), source())
			sample.Reset(untilSample(clock.Now(), h.cfg.Step))
		case <-save.C:
			if err := h.Save(ctx); err != nil {
				h.log.Warn("health history not saved", "err", err)
			}
		}
	}
}

// untilSample returns the time from now to the next middle of an interval
// of step.
func untilSample(now time.Time, step time.Duration) time.Duration {
	into := time.Duration(now.UnixNano() % int64(step))
	if into < 0 {
		into += step
	}
	d := step/2 - into
	if d <= 0 {
		d += step
	}
	return d
}
