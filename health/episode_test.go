package health

import (
	"errors"
	"net/http"
	"testing"
	"time"
)

// TestEpisodeSpansBreakerTrials kills an upstream for 13 minutes, probed
// every 10 seconds: its episode starts at the first failure and stays
// there through every open and half-open turn of the breaker, while Since
// follows each turn; once it recovers, its episode starts at the recovery.
// A pool observed at every step shows the same as one never observed.
func TestEpisodeSpansBreakerTrials(t *testing.T) {
	cfg := Config{
		Window: time.Minute, WindowSamples: 16, FailureThreshold: 3, MinSamples: 6,
		OpenBackoff: 5 * time.Second, MaxOpenBackoff: time.Minute, HalfOpenSuccesses: 2,
		TrialTimeout: 5 * time.Second,
	}
	ups := []*Upstream{{Name: "a"}, {Name: "b", Rank: 1}}
	clock := NewFakeClock(time.Date(2026, 11, 29, 20, 30, 0, 0, time.UTC))
	quietClock := NewFakeClock(clock.Now())
	p, quiet := NewPool(ups, cfg, clock), NewPool(ups, cfg, quietClock)
	start := clock.Now()
	ok := Outcome{Status: http.StatusOK, FirstByte: 20 * time.Millisecond, Probe: true}
	bad := Outcome{Failure: FailRefused, Err: errors.New("connection refused"), Probe: true}
	report := func(o Outcome) {
		p.Report(ups[0], o)
		quiet.Report(ups[0], o)
	}
	step := func() {
		clock.Advance(10 * time.Second)
		quietClock.Advance(10 * time.Second)
	}
	for range 6 {
		report(ok)
		step()
	}
	died := clock.Now()
	sinces := map[time.Time]bool{}
	for range 13 * 6 {
		report(bad)
		st := p.Snapshot()[0]
		if !st.State.Down() && st.ConsecutiveFailures >= cfg.FailureThreshold {
			t.Fatalf("at %v: state %s after %d failures", clock.Now(), st.State, st.ConsecutiveFailures)
		}
		if st.State.Down() {
			if !st.EpisodeSince.Equal(died) {
				t.Fatalf("at %v, %s since %v: episode since %v, want the first failure %v", clock.Now(), st.State, st.Since, st.EpisodeSince, died)
			}
			sinces[st.Since] = true
		}
		step()
		if st := p.Snapshot()[0]; st.State.Down() && !st.EpisodeSince.Equal(died) {
			t.Fatalf("between writes at %v (%s): episode since %v, want %v", clock.Now(), st.State, st.EpisodeSince, died)
		}
	}
	if len(sinces) < 3 {
		t.Errorf("Since took %d values over the outage, want the breaker's turns", len(sinces))
	}
	if got := p.Snapshot()[0]; got.EpisodeSince != quiet.Snapshot()[0].EpisodeSince {
		t.Errorf("observed pool: episode since %v, unobserved one %v", got.EpisodeSince, quiet.Snapshot()[0].EpisodeSince)
	}
	// Recovery: successes until the breaker closes.
	var back time.Time
	for range 30 {
		report(ok)
		if st := p.Snapshot()[0]; !st.State.Down() {
			back = clock.Now()
			if !st.EpisodeSince.Equal(back) {
				t.Fatalf("recovered at %v: episode since %v", back, st.EpisodeSince)
			}
			break
		}
		step()
	}
	if back.IsZero() {
		t.Fatal("the upstream never recovered")
	}
	step()
	if st := p.Snapshot()[0]; !st.EpisodeSince.Equal(back) || st.State.Down() {
		t.Errorf("after recovery: %s, episode since %v, want up since %v", st.State, st.EpisodeSince, back)
	}
	if st := p.Snapshot()[1]; !st.EpisodeSince.Equal(start) {
		t.Errorf("untouched upstream: episode since %v, want the pool's creation %v", st.EpisodeSince, start)
	}
}
