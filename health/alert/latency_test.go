package alert

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gofailover/gofailover/health"
)

// latencyFeed makes statuses of one upstream with a given latency EWMA,
// each with new outcomes reported since the previous one.
type latencyFeed struct {
	ups []*health.Upstream
	n   uint64
}

func (f *latencyFeed) status(i int, ewma time.Duration) []health.Status {
	f.n++
	s := statuses(f.ups, healthy, healthy)
	s[i].EWMA, s[i].ScoreKnown, s[i].Requests = ewma, true, f.n
	return s
}

// noisy returns base with uniform noise of ±spread.
func noisy(r *rand.Rand, base, spread time.Duration) time.Duration {
	return base + time.Duration((2*r.Float64()-1)*float64(spread))
}

const every = 15 * time.Second

func TestLatencySteadyBaselineDoesNotFire(t *testing.T) {
	rec := new(recorder)
	e := NewEngine(Config{For: time.Minute}, rec, nil)
	f := &latencyFeed{ups: testUpstreams(2)}
	r := rand.New(rand.NewPCG(1, 2))
	for d := time.Duration(0); d < 3*time.Hour; d += every {
		if ts := e.Evaluate(at(d), f.status(0, noisy(r, 700*time.Millisecond, 60*time.Millisecond))); len(ts) != 0 {
			t.Fatalf("at %v: %v", d, moves(ts))
		}
	}
}

func TestLatencyStepFiresAndKeepsFiring(t *testing.T) {
	for _, i := range []int{0, 1} {
		rec := new(recorder)
		e := NewEngine(Config{For: time.Minute}, rec, nil)
		f := &latencyFeed{ups: testUpstreams(2)}
		r := rand.New(rand.NewPCG(3, 4))
		d := time.Duration(0)
		for ; d < time.Hour; d += every {
			e.Evaluate(at(d), f.status(i, noisy(r, 200*time.Millisecond, 20*time.Millisecond)))
		}
		sev := []string{"P1", "P2"}[i]
		who := []string{"0", "1"}[i]
		// A slowdown to 2s, well above the floor and the baseline, for
		// longer than the baseline window.
		slow := func() []health.Status { return f.status(i, noisy(r, 2*time.Second, 100*time.Millisecond)) }
		wantMoves(t, "slowdown", e.Evaluate(at(d), slow()), "latency_high "+who+" inactive→pending "+sev)
		start := d
		var fired []Transition
		for d += every; d < start+3*time.Hour; d += every {
			fired = append(fired, e.Evaluate(at(d), slow())...)
		}
		wantMoves(t, "sustained slowdown", fired, "latency_high "+who+" pending→firing "+sev)
		if !fired[0].At.Equal(at(start + time.Minute)) {
			t.Errorf("fired at %v, want %v", fired[0].At, at(start+time.Minute))
		}
		a := fired[0].Alert
		if a.Value < 1.8 || a.Threshold != 0.5 {
			t.Errorf("value %v, threshold %v; want about 2s, and the 500ms floor", a.Value, a.Threshold)
		}
		wantMoves(t, "recovery", e.Evaluate(at(d), f.status(i, 210*time.Millisecond)),
			"latency_high "+who+" firing→resolved "+sev)
	}
}

func TestLatencyThresholdAboveFloor(t *testing.T) {
	// A baseline of 1s ± 100ms: 1.4s is above the floor but within
	// mean + 3σ (σ at least 10% of the mean), so it does not fire; 2s does.
	e := NewEngine(Config{For: -1}, nil, nil)
	f := &latencyFeed{ups: testUpstreams(2)}
	r := rand.New(rand.NewPCG(5, 6))
	d := time.Duration(0)
	for ; d < time.Hour; d += every {
		e.Evaluate(at(d), f.status(0, noisy(r, time.Second, 100*time.Millisecond)))
	}
	d += every
	wantMoves(t, "1.2s", e.Evaluate(at(d), f.status(0, 1200*time.Millisecond)))
	d += every
	ts := e.Evaluate(at(d), f.status(0, 2*time.Second))
	wantMoves(t, "2s", ts, "latency_high 0 inactive→pending P1", "latency_high 0 pending→firing P1")
	if thr := ts[1].Alert.Threshold; thr < 1.25 || thr > 1.5 {
		t.Errorf("threshold %vs, want about mean + 3 × 10%% of the mean", thr)
	}
}

func TestLatencyBelowFloorNeverFires(t *testing.T) {
	e := NewEngine(Config{For: -1, LatencyFloor: 500 * time.Millisecond}, nil, nil)
	f := &latencyFeed{ups: testUpstreams(2)}
	r := rand.New(rand.NewPCG(7, 8))
	d := time.Duration(0)
	for ; d < time.Hour; d += every {
		e.Evaluate(at(d), f.status(0, noisy(r, 50*time.Millisecond, 5*time.Millisecond)))
	}
	// Eight times the baseline, but under the floor.
	for end := d + time.Hour; d < end; d += every {
		if ts := e.Evaluate(at(d), f.status(0, 450*time.Millisecond)); len(ts) != 0 {
			t.Fatalf("under the floor: %v", moves(ts))
		}
	}
}

func TestLatencyNeedsBaseline(t *testing.T) {
	e := NewEngine(Config{For: -1}, nil, nil)
	f := &latencyFeed{ups: testUpstreams(2)}
	d := time.Duration(0)
	for range 8 {
		e.Evaluate(at(d), f.status(0, 100*time.Millisecond))
		d += every
	}
	// A reading that repeats without new outcomes is no new evidence: this
	// makes nine readings, not ten.
	s := f.status(0, 100*time.Millisecond)
	e.Evaluate(at(d), s)
	e.Evaluate(at(d+every), s)
	d += 2 * every
	if ts := e.Evaluate(at(d), f.status(0, 10*time.Second)); len(ts) != 0 {
		t.Fatalf("with 9 readings of baseline: %v", moves(ts))
	}
	// With no threshold the slow reading did not hold, so it joined the
	// baseline, loosening its threshold, though not to 10s.
	d += every
	e.Evaluate(at(d), f.status(0, 100*time.Millisecond))
	d += every
	wantMoves(t, "with a baseline", e.Evaluate(at(d), f.status(0, 10*time.Second)),
		"latency_high 0 inactive→pending P1", "latency_high 0 pending→firing P1")
}

func TestBaselineWindow(t *testing.T) {
	var b baseline
	for i := range 20 {
		b.add(at(time.Duration(i)*time.Minute), float64(i), 10*time.Minute)
	}
	if len(b.points) != 10 || b.points[0].seconds != 10 {
		t.Fatalf("baseline kept %d points from %v, want the last 10 minutes", len(b.points), b.points[0].seconds)
	}
	for i := range 2 * maxBaselinePoints {
		b.add(at(time.Hour+time.Duration(i)*time.Millisecond), 1, time.Hour)
	}
	if len(b.points) != maxBaselinePoints {
		t.Errorf("baseline kept %d points, want at most %d", len(b.points), maxBaselinePoints)
	}
}
