package health

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"reflect"
	"testing"
	"time"
)

// peekClock reads a FakeClock shifted by off, so that a test can look at a
// pool at another instant than the one its writes happen at.
type peekClock struct {
	base *FakeClock
	off  time.Duration
}

func (c *peekClock) Now() time.Time { return c.base.Now().Add(c.off) }

// TestReadsDoNotWrite feeds two pools over the same upstreams the same
// outcomes, stale lists, candidate requests and passage of time, and
// observes one of them heavily in between (Snapshot and LatencyP95, at the
// current instant and at later ones) and the other not at all: the order
// of candidates must be the same at every step, and so must a snapshot at
// the end. Denials come and go too.
func TestReadsDoNotWrite(t *testing.T) {
	cfg := Config{
		Window: time.Minute, WindowSamples: 16, FailureThreshold: 3, MinSamples: 6,
		OpenBackoff: 2 * time.Second, MaxOpenBackoff: 20 * time.Second, HalfOpenSuccesses: 2,
		Quarantine: 45 * time.Second, MaxRetryAfter: 10 * time.Second, TrialTimeout: 5 * time.Second,
		Refresh: 500 * ms,
	}
	steps := []time.Duration{0, 0, ms, 10 * ms, 100 * ms, 499 * ms, time.Second, 2 * time.Second, 5 * time.Second, 20 * time.Second, time.Minute}
	for seed := range uint64(40) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 1))
			ups := make([]*Upstream, 3)
			for i := range ups {
				ups[i] = &Upstream{Name: string(rune('a' + i)), Rank: i}
			}
			quietClock, busyClock := &FakeClock{}, &FakeClock{}
			peek := &peekClock{base: busyClock}
			quiet := NewPool(ups, cfg, quietClock)
			busy := NewPool(ups, cfg, peek)
			errs := make(map[FailureKind]error)
			paths := []string{"/x/@v/list", "/x/@v/v1.0.0.info", "/y/@latest"}
			outcome := func() Outcome {
				switch n := rng.IntN(20); {
				case n < 10:
					return okPath(paths[rng.IntN(len(paths))], time.Duration(1+rng.IntN(200))*ms)
				case n < 12:
					return Outcome{Status: http.StatusNotFound, FirstByte: time.Duration(1+rng.IntN(50)) * ms}
				case n == 12:
					return Outcome{Status: http.StatusTooManyRequests, FirstByte: ms, Failure: FailRateLimit,
						RetryAfter: time.Duration(1+rng.IntN(15)) * time.Second}
				case n == 13 && rng.IntN(4) == 0:
					return Outcome{Status: http.StatusOK, FirstByte: ms, Failure: FailBadContent}
				default:
					kind := []FailureKind{FailRefused, FailTimeout, FailStatus5xx, FailReset}[rng.IntN(4)]
					if errs[kind] == nil {
						errs[kind] = errors.New(string(kind))
					}
					return Outcome{Failure: kind, Err: errs[kind], Status: 503 * rng.IntN(2)}
				}
			}
			observe := func() {
				for range rng.IntN(4) {
					peek.off = []time.Duration{0, 0, ms, time.Second, 30 * time.Second, 10 * time.Minute}[rng.IntN(6)]
					busy.Snapshot()
					for _, u := range ups {
						busy.LatencyP95(u)
					}
				}
				peek.off = 0
			}
			for step := range 400 {
				observe()
				d := steps[rng.IntN(len(steps))]
				quietClock.Advance(d)
				busyClock.Advance(d)
				observe()
				switch n := rng.IntN(11); {
				case n == 10:
					u, path := ups[rng.IntN(len(ups))], paths[rng.IntN(len(paths))]
					status := []int{http.StatusForbidden, http.StatusNotFound, http.StatusGone, http.StatusBadRequest}[rng.IntN(4)]
					quiet.ReportDenial(u, path, status, "peer")
					observe()
					busy.ReportDenial(u, path, status, "peer")
				case n < 6: // a request to the first candidate
					q, b := quiet.Candidates(), busy.Candidates()
					if !reflect.DeepEqual(q, b) {
						t.Fatalf("step %d: candidates %s (observed) and %s (not)", step, names(b), names(q))
					}
					o := outcome()
					quiet.Report(q[0], o)
					observe()
					busy.Report(b[0], o)
				case n < 8:
					u, o := ups[rng.IntN(len(ups))], outcome()
					o.Probe = true
					quiet.Report(u, o)
					busy.Report(u, o)
				case n == 8:
					u := ups[rng.IntN(len(ups))]
					var missing []string
					if rng.IntN(2) == 0 {
						missing = []string{"v1.0.0"}
					}
					quiet.SetStale(u, missing)
					busy.SetStale(u, missing)
				default:
					if q, b := quiet.Candidates(), busy.Candidates(); !reflect.DeepEqual(q, b) {
						t.Fatalf("step %d: candidates %s (observed) and %s (not)", step, names(b), names(q))
					}
				}
			}
			q, b := quiet.Snapshot(), busy.Snapshot()
			if !reflect.DeepEqual(q, b) {
				t.Fatalf("after the steps, the observed pool shows\n%s\nand the other\n%s", dump(busy), dump(quiet))
			}
		})
	}
}

func names(us []*Upstream) string {
	s := ""
	for i, u := range us {
		if i > 0 {
			s += ","
		}
		s += u.Name
	}
	return s
}

// TestReadsAtAnyInstant checks that a snapshot at an instant shows what a
// write at that instant settles, however often and whenever it was taken:
// a state that time alone ended is shown to have ended when it did.
func TestReadsAtAnyInstant(t *testing.T) {
	t.Run("an error rate that ages out", func(t *testing.T) {
		p, ups, clock := testPool(t, 2, Config{Window: time.Minute})
		a := ups[0]
		failedAt := clock.Now()
		p.Report(a, fail(FailTimeout))
		clock.Advance(10 * time.Second)
		p.Report(a, ok(10*ms)) // one failure in two: degraded
		s := wantState(t, p, a, StateDegraded)
		if !s.Since.Equal(failedAt) {
			t.Fatalf("degraded since %v, want %v", s.Since, failedAt)
		}
		healed := failedAt.Add(time.Minute) // the failure ages out
		clock.Advance(healed.Sub(clock.Now()) - 1)
		wantState(t, p, a, StateDegraded)
		for range 3 {
			clock.Advance(7 * time.Second)
			s := wantState(t, p, a, StateHealthy)
			if !s.Since.Equal(healed) {
				t.Fatalf("healthy since %v, want %v", s.Since, healed)
			}
		}
		p.Candidates() // a write settles what the readers showed
		clock.Advance(time.Second)
		if s := wantState(t, p, a, StateHealthy); !s.Since.Equal(healed) {
			t.Fatalf("after a write, healthy since %v, want %v", s.Since, healed)
		}
	})
	t.Run("a hold that ends", func(t *testing.T) {
		p, ups, clock := testPool(t, 2, Config{})
		a := ups[0]
		p.Report(a, Outcome{Status: http.StatusTooManyRequests, Failure: FailRateLimit, RetryAfter: 20 * time.Second})
		heldAt := clock.Now()
		clock.Advance(10 * time.Second)
		if s := wantState(t, p, a, StateOpen); !s.Since.Equal(heldAt) {
			t.Fatalf("held since %v, want %v", s.Since, heldAt)
		}
		clock.Advance(15 * time.Second)
		// It failed since its last success: degraded from the hold's end.
		if s := wantState(t, p, a, StateDegraded); !s.Since.Equal(heldAt.Add(20 * time.Second)) {
			t.Fatalf("degraded since %v, want %v", s.Since, heldAt.Add(20*time.Second))
		}
	})
	t.Run("a breaker that turns half-open", func(t *testing.T) {
		p, ups, clock := testPool(t, 2, Config{FailureThreshold: 1, OpenBackoff: 5 * time.Second})
		a := ups[0]
		p.Report(a, fail(FailRefused))
		opened := clock.Now()
		if s := wantState(t, p, a, StateOpen); !s.Since.Equal(opened) {
			t.Fatalf("open since %v, want %v", s.Since, opened)
		}
		clock.Advance(8 * time.Second)
		for range 2 {
			s := wantState(t, p, a, StateHalfOpen)
			if !s.Since.Equal(opened.Add(5*time.Second)) || s.Samples != 0 || s.ScoreKnown {
				t.Fatalf("half-open: %+v", s)
			}
			if _, ok := p.LatencyP95(a); ok {
				t.Fatal("a half-open upstream's latency is known before a trial")
			}
		}
		wantOrder(t, p, "a,b") // the trial: the reads did not take it
	})
}

// TestSinceIndependentOfWrites feeds two pools the same outcomes and
// passage of time, and one of them also writes that change nothing (a
// stale list set to what it was) at random instants: both must show the
// same at every step, Since included, although only writes settle the
// State shown.
func TestSinceIndependentOfWrites(t *testing.T) {
	cfg := Config{
		Window: 30 * time.Second, WindowSamples: 8, FailureThreshold: 3, MinSamples: 4,
		OpenBackoff: 2 * time.Second, HalfOpenSuccesses: 2, MaxRetryAfter: 10 * time.Second,
		DegradedErrorRate: 0.3,
	}
	for seed := range uint64(40) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 2))
			ups := []*Upstream{{Name: "a"}, {Name: "b", Rank: 1}}
			clock := &FakeClock{}
			plain, busy := NewPool(ups, cfg, clock), NewPool(ups, cfg, clock)
			stale := map[*Upstream][]string{}
			for step := range 300 {
				clock.Advance(time.Duration(rng.IntN(8000)) * ms)
				u := ups[rng.IntN(len(ups))]
				switch n := rng.IntN(11); {
				case n == 10:
					plain.ReportDenial(u, "/p", http.StatusNotFound, "peer")
					busy.ReportDenial(u, "/p", http.StatusNotFound, "peer")
				case n < 4:
					o := okPath([]string{"/p", "/q"}[rng.IntN(2)], time.Duration(1+rng.IntN(100))*ms)
					plain.Report(u, o)
					busy.Report(u, o)
				case n < 7:
					o := fail(FailTimeout)
					if rng.IntN(3) == 0 {
						o = Outcome{Status: http.StatusTooManyRequests, Failure: FailRateLimit, RetryAfter: time.Duration(1+rng.IntN(9)) * time.Second}
					}
					plain.Report(u, o)
					busy.Report(u, o)
				case n == 7:
					stale[u] = nil
					if rng.IntN(2) == 0 {
						stale[u] = []string{"v1.2.3"}
					}
					plain.SetStale(u, stale[u])
					busy.SetStale(u, stale[u])
				}
				for _, u := range ups {
					if rng.IntN(3) == 0 {
						busy.SetStale(u, stale[u]) // settles, changes nothing
					}
				}
				if p, b := plain.Snapshot(), busy.Snapshot(); !reflect.DeepEqual(p, b) {
					t.Fatalf("step %d: the pool written more often shows\n%s\nand the other\n%s", step, dump(busy), dump(plain))
				}
			}
		})
	}
}

// TestReadsShareThePool checks that readers run alongside each other and
// the writers (under -race), and that LatencyP95, which the proxy calls for
// every hedge, does not allocate.
func TestReadsShareThePool(t *testing.T) {
	p, ups, clock := testPool(t, 3, Config{FailureThreshold: 2, OpenBackoff: ms})
	for i := range 200 {
		p.Report(ups[i%3], ok(time.Duration(i%40+1)*ms))
	}
	if allocs := testing.AllocsPerRun(100, func() { p.LatencyP95(ups[1]) }); allocs != 0 {
		t.Fatalf("LatencyP95 allocates %v times", allocs)
	}
	done := make(chan struct{})
	for g := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range 300 {
				switch (g + i) % 3 {
				case 0:
					p.Snapshot()
				case 1:
					p.LatencyP95(ups[i%3])
				default:
					p.Report(p.Candidates()[0], fail(FailTimeout))
					clock.Advance(ms)
				}
			}
		}()
	}
	for range 4 {
		<-done
	}
}
