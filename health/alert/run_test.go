package alert

import (
	"context"
	"testing"
	"time"

	"github.com/gofailover/gofailover/health"
)

// fixedSource is a Source whose health never changes.
type fixedSource []health.Status

func (s fixedSource) Snapshot() []health.Status { return s }

// chanNotifier sends every transition on a channel.
type chanNotifier chan Transition

func (c chanNotifier) Notify(t Transition) { c <- t }

func TestEngineRunEvaluatesAtOnceAndStops(t *testing.T) {
	got := make(chanNotifier, 10)
	e := NewEngine(Config{For: -1, Interval: time.Hour}, got, nil)
	clock := health.NewFakeClock(at(0))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.Run(ctx, fixedSource(statuses(testUpstreams(2), healthy, open)), clock)
	}()
	tr := <-got
	if tr.To != Firing || tr.Alert.Rule != UpstreamDown || !tr.At.Equal(at(0)) {
		t.Errorf("first notification = %+v", tr)
	}
	cancel()
	<-done
}
