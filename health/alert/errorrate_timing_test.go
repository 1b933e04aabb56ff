package alert

import (
	"cmp"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/gofailover/gofailover/health"
)

// outage drives a real health.Pool on a health.FakeClock the way a
// running server does: every 15 s (the default probe interval) a probe
// round of each upstream and a few users' requests, each tried on the
// pool's candidates in order until one answers, then one evaluation of
// the Engine. Upstream 0 dies at dieAt and heals at healAt.
type outage struct {
	// refused: the dead mirror refuses connections, so a probe round
	// stops after its first request; otherwise it answers 503 to all.
	refused bool
	// requests is how many users' requests are made per 15 s.
	requests int
	// dieAt and healAt are when upstream 0 dies and heals.
	dieAt, healAt time.Duration
	// end is how long the run lasts.
	end time.Duration
	// cfg configures the Engine.
	cfg Config
}

// timeline is what an outage run saw of error_rate_high on upstream 0:
// when it went pending, fired and resolved (negative if it did not), and
// every transition.
type timeline struct {
	pending, firing, resolved time.Duration
	moves                     []string
}

// probeRound is the number of requests in a probe round of a mirror that
// answers (the checksum database's supported, then @v/list, .info, .mod,
// .zip and @latest of the probe module).
const probeRound = 6

func (o outage) run(t *testing.T) timeline {
	t.Helper()
	start := at(0)
	clock := health.NewFakeClock(start)
	ups := testUpstreams(2)
	pool := health.NewPool(ups, health.Config{}, clock)
	rec := new(recorder)
	e := NewEngine(o.cfg, rec, nil)
	dead := func(now time.Duration) bool { return now >= o.dieAt && now < o.healAt }
	answer := func(u *health.Upstream, now time.Duration, probe bool) health.Outcome {
		if u != ups[0] || !dead(now) {
			return health.Outcome{Status: http.StatusOK, FirstByte: 20 * time.Millisecond, Total: 30 * time.Millisecond, Probe: probe}
		}
		if o.refused {
			return health.Outcome{Failure: health.FailRefused, Err: fmt.Errorf("connection refused"), Probe: probe}
		}
		return health.Outcome{Status: http.StatusServiceUnavailable, Failure: health.FailStatus5xx,
			FirstByte: 5 * time.Millisecond, Total: 5 * time.Millisecond, Probe: probe}
	}
	tl := timeline{pending: -1, firing: -1, resolved: -1}
	for now := time.Duration(0); now <= o.end; now += 15 * time.Second {
		clock.Advance(start.Add(now).Sub(clock.Now()))
		for _, u := range ups {
			for range probeRound {
				out := answer(u, now, true)
				pool.Report(u, out)
				if out.Status == 0 {
					break // unreachable: the prober skips the rest of the round
				}
			}
		}
		for range o.requests {
			for _, u := range pool.Candidates() {
				out := answer(u, now, false)
				pool.Report(u, out)
				if out.Failure == health.FailNone {
					break
				}
			}
		}
		for _, tr := range e.Evaluate(clock.Now(), pool.Snapshot()) {
			if tr.Alert.Rule != ErrorRateHigh || tr.Alert.Upstream != ups[0].Name {
				continue
			}
			tl.moves = append(tl.moves, fmt.Sprintf("%v %s→%s", now, tr.From, tr.To))
			switch {
			case tr.To == Pending && tl.pending < 0:
				tl.pending = now
			case tr.To == Firing && tl.firing < 0:
				tl.firing = now
			case tr.To == Resolved && tl.resolved < 0:
				tl.resolved = now
			}
		}
	}
	return tl
}

// TestErrorRateHighOnTimeForADeadMirror: a mirror that dies (every probe
// and request to it failing) makes error_rate_high pending at the first
// evaluation after its first failures, within one probe interval, and
// firing Config.For later; it stays firing, without flapping, for as
// long as the mirror is dead, through every breaker trial, and resolves
// once it has healed.
func TestErrorRateHighOnTimeForADeadMirror(t *testing.T) {
	const interval = 15 * time.Second
	for _, tc := range []struct {
		name string
		o    outage
		// within is how soon after the death it must be pending;
		// zero means one probe interval.
		within time.Duration
	}{
		{"503 with traffic", outage{requests: 5}, 0},
		{"503 probes only", outage{requests: 0}, 0},
		{"refused with traffic", outage{refused: true, requests: 5}, 0},
		{"refused with traffic, for 3m", outage{refused: true, requests: 5, cfg: Config{For: 3 * time.Minute}}, 0},
		// Probed once a round and no traffic: its second failure comes
		// with the next round.
		{"refused probes only", outage{refused: true, requests: 0}, 2 * interval},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.o
			o.dieAt, o.healAt, o.end = 100*time.Second, 15*time.Minute, 25*time.Minute
			tl := o.run(t)
			forDur := o.cfg.withDefaults().For
			t.Logf("died at %v: pending at %v (+%v), firing at %v (+%v), healed at %v, resolved at %v; %q",
				o.dieAt, tl.pending, tl.pending-o.dieAt, tl.firing, tl.firing-o.dieAt, o.healAt, tl.resolved, tl.moves)
			within := cmp.Or(tc.within, interval)
			if tl.pending < o.dieAt || tl.pending-o.dieAt > within {
				t.Errorf("pending %v after the mirror died, want within %v", tl.pending-o.dieAt, within)
			}
			if tl.firing-tl.pending < forDur || tl.firing-tl.pending >= forDur+interval {
				t.Errorf("firing %v after pending, want %v (up to one evaluation later)", tl.firing-tl.pending, forDur)
			}
			if len(tl.moves) != 3 {
				t.Errorf("transitions %q, want pending, firing and resolved, once each", tl.moves)
			}
			if tl.resolved < o.healAt || tl.resolved-o.healAt > 5*time.Minute {
				t.Errorf("resolved at %v, want after the heal at %v, within the health window", tl.resolved, o.healAt)
			}
		})
	}
}
