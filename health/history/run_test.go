package history

import (
	"context"
	"testing"
	"time"

	"github.com/gofailover/gofailover/health"
)

func TestRunSavesOnShutdown(t *testing.T) {
	store := newMemStore()
	h := New(Config{Store: store})
	clock := health.NewFakeClock(t0().Add(5 * time.Second))
	u := upstreams("a")[0]
	sampled := make(chan struct{}, 1)
	source := func() []health.Status {
		select {
		case sampled <- struct{}{}:
		default:
		}
		return []health.Status{status(u, 4)}
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.Run(ctx, source, clock)
	}()
	<-sampled
	cancel()
	<-done
	got := New(Config{Store: store}).Series("a", t0(), t0())
	if len(got) != 1 || got[0].Requests != 4 {
		t.Errorf("after Run stopped, the store shows %+v, want the sample taken", got)
	}
}

func TestUntilSample(t *testing.T) {
	step := 10 * time.Second
	for _, c := range []struct{ into, want time.Duration }{
		{0, 5 * time.Second},
		{time.Second, 4 * time.Second},
		{5 * time.Second, 10 * time.Second},
		{9 * time.Second, 6 * time.Second},
	} {
		if got := untilSample(t0().Add(c.into), step); got != c.want {
			t.Errorf("untilSample(%v into an interval) = %v, want %v", c.into, got, c.want)
		}
	}
}
