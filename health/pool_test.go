package health

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

const ms = time.Millisecond

// testPool returns a pool over n upstreams named a, b, c… in that
// preference order, with a fake clock.
func testPool(t testing.TB, n int, cfg Config) (*Pool, []*Upstream, *FakeClock) {
	t.Helper()
	ups := make([]*Upstream, n)
	for i := range ups {
		ups[i] = &Upstream{Name: string(rune('a' + i)), Rank: i}
	}
	clock := &FakeClock{}
	return NewPool(ups, cfg, clock), ups, clock
}

func ok(d time.Duration) Outcome {
	return Outcome{Status: http.StatusOK, FirstByte: d, Total: 2 * d}
}

func fail(kind FailureKind) Outcome {
	return Outcome{Failure: kind, Err: errors.New(string(kind))}
}

// orderOf returns the pool's candidate order as a string such as "b,a".
func orderOf(p *Pool) string {
	var names []string
	for _, u := range p.Candidates() {
		names = append(names, u.Name)
	}
	return strings.Join(names, ",")
}

func wantOrder(t *testing.T, p *Pool, want string) {
	t.Helper()
	if got := orderOf(p); got != want {
		t.Fatalf("Candidates() = %s, want %s\n%s", got, want, dump(p))
	}
}

func status(p *Pool, u *Upstream) Status {
	for _, s := range p.Snapshot() {
		if s.Upstream == u {
			return s
		}
	}
	panic("no status for " + u.Name)
}

func wantState(t *testing.T, p *Pool, u *Upstream, want State) Status {
	t.Helper()
	s := status(p, u)
	if s.State != want {
		t.Fatalf("%s: state %s, want %s\n%s", u.Name, s.State, want, dump(p))
	}
	return s
}

func dump(p *Pool) string {
	var b strings.Builder
	for _, s := range p.Snapshot() {
		fmt.Fprintf(&b, "  %s: %s since %v until %v score %v known %v ewma %v err %.2f n %d consec %d backoff %v\n",
			s.Upstream.Name, s.State, s.Since, s.Until, s.Score, s.ScoreKnown, s.EWMA, s.ErrorRate,
			s.Samples, s.ConsecutiveFailures, s.Backoff)
	}
	return b.String()
}

func report(p *Pool, u *Upstream, o Outcome, times int) {
	for range times {
		p.Report(u, o)
	}
}

func TestBreakerClosedOpenHalfOpenClosed(t *testing.T) {
	p, ups, clock := testPool(t, 2, Config{FailureThreshold: 3, OpenBackoff: 10 * time.Second, HalfOpenSuccesses: 2})
	a, b := ups[0], ups[1]
	report(p, b, ok(50*ms), 1)
	wantOrder(t, p, "a,b")

	report(p, a, fail(FailRefused), 2)
	wantState(t, p, a, StateDegraded) // two failures are not enough to open
	wantOrder(t, p, "b,a")            // but they make its score worse
	report(p, a, fail(FailRefused), 1)
	s := wantState(t, p, a, StateOpen)
	if s.ConsecutiveFailures != 3 || s.Backoff != 10*time.Second || !s.Until.Equal(clock.Now().Add(10*time.Second)) {
		t.Fatalf("open: %+v", s)
	}
	if s.LastFailure != FailRefused || s.LastError == nil || !s.LastErrorAt.Equal(clock.Now()) || s.Requests != 3 || s.Failures != 3 {
		t.Fatalf("last error: %+v", s)
	}
	wantOrder(t, p, "b,a")

	clock.Advance(10*time.Second - 1)
	wantOrder(t, p, "b,a")
	wantState(t, p, a, StateOpen)

	clock.Advance(1)
	wantOrder(t, p, "a,b") // the trial
	wantState(t, p, a, StateHalfOpen)
	wantOrder(t, p, "b,a") // one trial at a time
	report(p, a, ok(40*ms), 1)
	wantState(t, p, a, StateHalfOpen)
	wantOrder(t, p, "a,b")
	report(p, a, Outcome{Status: http.StatusNotFound, FirstByte: 40 * ms}, 1) // a 404 is an answer
	s = wantState(t, p, a, StateHealthy)
	if s.Backoff != 0 || s.ConsecutiveFailures != 0 || s.ErrorRate != 0 || s.Samples != 2 {
		t.Fatalf("closed again: %+v", s)
	}
	wantOrder(t, p, "a,b")
	wantOrder(t, p, "a,b")
}

func TestBackoffDoublesUpToCap(t *testing.T) {
	p, ups, clock := testPool(t, 2, Config{FailureThreshold: 1, OpenBackoff: 10 * time.Second, MaxOpenBackoff: 35 * time.Second, HalfOpenSuccesses: 1})
	a := ups[0]
	report(p, a, fail(FailStatus5xx), 1)
	for i, want := range []time.Duration{10, 20, 35, 35} {
		want *= time.Second
		s := wantState(t, p, a, StateOpen)
		if s.Backoff != want || s.Until.Sub(clock.Now()) != want {
			t.Fatalf("opening %d: backoff %v, until now+%v, want %v", i, s.Backoff, s.Until.Sub(clock.Now()), want)
		}
		clock.Advance(want - time.Second)
		wantOrder(t, p, "b,a")
		clock.Advance(time.Second)
		wantOrder(t, p, "a,b")
		// The failed trial reopens with the longer backoff.
		report(p, a, fail(FailTimeout), 1)
		wantOrder(t, p, "b,a")
	}
	// A success closes it, and the next opening starts from the base again.
	clock.Advance(35 * time.Second)
	wantOrder(t, p, "a,b")
	report(p, a, ok(10*ms), 1)
	wantState(t, p, a, StateHealthy)
	report(p, a, fail(FailTimeout), 1)
	if s := wantState(t, p, a, StateOpen); s.Backoff != 10*time.Second {
		t.Fatalf("backoff after closing: %v, want 10s", s.Backoff)
	}
}

func TestFailedTrialReopens(t *testing.T) {
	p, ups, clock := testPool(t, 2, Config{FailureThreshold: 2, OpenBackoff: time.Second, HalfOpenSuccesses: 3})
	a := ups[0]
	report(p, a, fail(FailReset), 2)
	clock.Advance(time.Second)
	wantOrder(t, p, "a,b")
	report(p, a, ok(10*ms), 2) // two good trials
	wantState(t, p, a, StateHalfOpen)
	report(p, a, fail(FailReset), 1) // then a bad one
	s := wantState(t, p, a, StateOpen)
	if s.Backoff != 2*time.Second || !s.Until.Equal(clock.Now().Add(2*time.Second)) {
		t.Fatalf("reopened: %+v", s)
	}
	wantOrder(t, p, "b,a")
	clock.Advance(time.Second)
	wantOrder(t, p, "b,a")
	clock.Advance(time.Second)
	wantOrder(t, p, "a,b")
	// The successes before the failed trial do not count any more.
	report(p, a, ok(10*ms), 2)
	wantState(t, p, a, StateHalfOpen)
	report(p, a, ok(10*ms), 1)
	wantState(t, p, a, StateHealthy)
}

func TestTrialsLimitedAndTimedOut(t *testing.T) {
	p, ups, clock := testPool(t, 3, Config{FailureThreshold: 1, OpenBackoff: time.Second, HalfOpenTrials: 2, TrialTimeout: time.Minute})
	a := ups[0]
	report(p, a, fail(FailDNS), 1)
	clock.Advance(time.Second)
	wantOrder(t, p, "a,b,c")
	wantOrder(t, p, "a,b,c")
	wantOrder(t, p, "b,c,a") // two trials out, none reported
	wantOrder(t, p, "b,c,a")
	clock.Advance(time.Minute - 1)
	wantOrder(t, p, "b,c,a")
	clock.Advance(1) // the trials were never reported: forget them
	wantOrder(t, p, "a,b,c")
}

func TestQuarantineOutlastsOpen(t *testing.T) {
	cfg := Config{FailureThreshold: 1, OpenBackoff: time.Second, MaxOpenBackoff: time.Minute, Quarantine: 10 * time.Minute}
	p, ups, clock := testPool(t, 3, cfg)
	a, b := ups[0], ups[1]
	p.Report(a, Outcome{Status: http.StatusOK, FirstByte: ms, Failure: FailBadContent, Err: errors.New("checksum mismatch")})
	s := wantState(t, p, a, StateQuarantined)
	if !s.Until.Equal(clock.Now().Add(10*time.Minute)) || s.LastFailure != FailBadContent {
		t.Fatalf("quarantined: %+v", s)
	}
	p.Report(b, fail(FailRefused))
	wantOrder(t, p, "c,b,a") // open before quarantined, both after the usable one

	clock.Advance(cfg.MaxOpenBackoff) // far longer than any open breaker
	wantState(t, p, a, StateQuarantined)
	wantOrder(t, p, "b,c,a") // b's trial
	wantOrder(t, p, "c,b,a")

	clock.Advance(10*time.Minute - cfg.MaxOpenBackoff)
	wantState(t, p, a, StateHalfOpen)
	wantOrder(t, p, "a,c,b")
}

func TestRetryAfterHonoured(t *testing.T) {
	p, ups, clock := testPool(t, 2, Config{MaxRetryAfter: time.Hour})
	a := ups[0]
	wantOrder(t, p, "a,b") // cached before the 429
	p.Report(a, Outcome{Status: http.StatusTooManyRequests, FirstByte: ms, Failure: FailRateLimit, RetryAfter: 30 * time.Second})
	s := wantState(t, p, a, StateOpen)
	if !s.Until.Equal(clock.Now().Add(30 * time.Second)) {
		t.Fatalf("held until %v, want now+30s", s.Until)
	}
	wantOrder(t, p, "b,a")
	clock.Advance(30*time.Second - 1)
	wantOrder(t, p, "b,a")
	clock.Advance(1) // no Report in between: the deadline alone reorders
	wantOrder(t, p, "a,b")
	wantState(t, p, a, StateDegraded) // it failed since its last success

	// A huge Retry-After is capped.
	p.Report(a, Outcome{Status: http.StatusServiceUnavailable, Failure: FailStatus5xx, RetryAfter: 1000 * time.Hour})
	if s := status(p, a); !s.Until.Equal(clock.Now().Add(time.Hour)) {
		t.Fatalf("held until now+%v, want now+1h", s.Until.Sub(clock.Now()))
	}
}

func TestPercentilesAndEWMA(t *testing.T) {
	p, ups, _ := testPool(t, 1, Config{EWMAWeight: 0.5, WindowSamples: 200})
	a := ups[0]
	// Known samples: 1ms…100ms, shuffled deterministically.
	for i := range 100 {
		p.Report(a, ok(time.Duration((i*37)%100+1)*ms))
	}
	s := status(p, a)
	if s.P50 != 50*ms || s.P95 != 95*ms || s.P99 != 99*ms || s.Samples != 100 {
		t.Fatalf("p50 %v p95 %v p99 %v n %d, want 50ms 95ms 99ms 100", s.P50, s.P95, s.P99, s.Samples)
	}

	p, ups, _ = testPool(t, 1, Config{EWMAWeight: 0.5})
	a = ups[0]
	for _, c := range []struct{ sample, ewma time.Duration }{{100 * ms, 100 * ms}, {200 * ms, 150 * ms}, {100 * ms, 125 * ms}, {25 * ms, 75 * ms}} {
		p.Report(a, ok(c.sample))
		if s := status(p, a); s.EWMA != c.ewma {
			t.Fatalf("after %v: EWMA %v, want %v", c.sample, s.EWMA, c.ewma)
		}
	}
	// A failure without a response adds no latency sample.
	p.Report(a, fail(FailTimeout))
	if s := status(p, a); s.EWMA != 75*ms || s.ErrorRate != 0.2 || s.Score != 75*ms+200*ms {
		t.Fatalf("after a timeout: EWMA %v error rate %v score %v", s.EWMA, s.ErrorRate, s.Score)
	}
}

func TestWindowBounded(t *testing.T) {
	p, ups, clock := testPool(t, 1, Config{WindowSamples: 10, Window: time.Minute, FailureThreshold: 100})
	a := ups[0]
	for i := range 100 {
		p.Report(a, ok(time.Duration(i+1)*ms))
	}
	s := status(p, a)
	if s.Samples != 10 || s.P50 != 95*ms || s.P99 != 100*ms || s.Requests != 100 {
		t.Fatalf("last 10 of 100: n %d p50 %v p99 %v requests %d", s.Samples, s.P50, s.P99, s.Requests)
	}
	clock.Advance(30 * time.Second)
	report(p, a, fail(FailTimeout), 5)
	if s := status(p, a); s.Samples != 10 || s.ErrorRate != 0.5 {
		t.Fatalf("n %d error rate %v, want 10 and 0.5", s.Samples, s.ErrorRate)
	}
	clock.Advance(30 * time.Second) // the successes age out
	if s := status(p, a); s.Samples != 5 || s.ErrorRate != 1 || s.EWMA != 0 {
		t.Fatalf("n %d error rate %v ewma %v, want 5, 1 and 0", s.Samples, s.ErrorRate, s.EWMA)
	}
	clock.Advance(30 * time.Second) // everything aged out
	if s := status(p, a); s.Samples != 0 || s.ScoreKnown || s.ErrorRate != 0 {
		t.Fatalf("empty window: %+v", s)
	}
}

func TestErrorRateTripNeedsMinSamples(t *testing.T) {
	p, ups, _ := testPool(t, 2, Config{FailureThreshold: 100, MinSamples: 10, ErrorRateThreshold: 0.5})
	a := ups[0]
	for i := range 9 { // f,o,f,o,f,o,f,o,f: 5 of 9 failed, too few samples
		if i%2 == 0 {
			p.Report(a, fail(FailStatus5xx))
		} else {
			p.Report(a, Outcome{Status: http.StatusNotFound, FirstByte: ms}) // a 404 is a success
		}
	}
	wantState(t, p, a, StateDegraded)
	p.Report(a, ok(ms)) // 10 samples, 50%, but a success does not trip
	wantState(t, p, a, StateDegraded)
	p.Report(a, fail(FailStatus5xx)) // 6 of 11
	wantState(t, p, a, StateOpen)
	wantOrder(t, p, "b,a")
}

func TestOrderByScore(t *testing.T) {
	p, ups, _ := testPool(t, 4, Config{EWMAWeight: 1})
	wantOrder(t, p, "a,b,c,d") // nothing known: preference order
	p.Report(ups[0], ok(300*ms))
	p.Report(ups[1], ok(50*ms))
	p.Report(ups[2], ok(100*ms))
	p.Report(ups[3], ok(90*ms))
	wantOrder(t, p, "b,c,d,a") // c and d are near: preference decides
	// Errors count: 20% of 1s makes b 250ms, near a's 300ms.
	report(p, ups[1], ok(50*ms), 3)
	p.Report(ups[1], fail(FailReset))
	wantOrder(t, p, "c,d,a,b")
}

func TestNearTiesFollowPreference(t *testing.T) {
	for _, c := range []struct {
		a    time.Duration
		want string
	}{{55 * ms, "a,b"}, {70 * ms, "a,b"}, {71 * ms, "b,a"}} { // 50ms×1.2+10ms = 70ms
		p, ups, _ := testPool(t, 2, Config{EWMAWeight: 1})
		p.Report(ups[0], ok(c.a))
		p.Report(ups[1], ok(50*ms))
		wantOrder(t, p, c.want)
	}
}

func TestHysteresis(t *testing.T) {
	p, ups, _ := testPool(t, 2, Config{EWMAWeight: 1})
	a, b := ups[0], ups[1]
	p.Report(a, ok(100*ms))
	wantOrder(t, p, "a,b") // a leads
	p.Report(b, ok(70*ms))
	wantOrder(t, p, "a,b") // b is better, but not by the margins
	p.Report(b, ok(65*ms))
	wantOrder(t, p, "a,b") // without hysteresis b would win below 75ms
	p.Report(b, ok(60*ms))
	wantOrder(t, p, "b,a") // clearly better: it takes over
	// Now b leads, and a must be clearly better to come back, although it
	// is preferred.
	p.Report(a, ok(75*ms))
	wantOrder(t, p, "b,a") // near b's 60ms, not near its favoured 50ms
	p.Report(a, ok(71*ms))
	wantOrder(t, p, "b,a")
	p.Report(b, ok(62*ms))
	p.Report(a, ok(61*ms))
	wantOrder(t, p, "a,b") // back to the preferred one
	for range 10 {         // and it does not flap
		p.Report(a, ok(66*ms))
		p.Report(b, ok(60*ms))
		wantOrder(t, p, "a,b")
	}
}

func TestTrafficReturnsToPreferred(t *testing.T) {
	t.Run("after its breaker closes", func(t *testing.T) {
		p, ups, clock := testPool(t, 2, Config{FailureThreshold: 2, OpenBackoff: time.Second, HalfOpenSuccesses: 2})
		a, b := ups[0], ups[1]
		report(p, a, ok(20*ms), 3)
		report(p, b, ok(40*ms), 3)
		report(p, a, fail(FailRefused), 2)
		wantOrder(t, p, "b,a")
		for range 5 {
			p.Report(b, ok(40*ms))
			wantOrder(t, p, "b,a")
		}
		clock.Advance(time.Second)
		for range 2 {
			if got := p.Candidates()[0]; got != a {
				t.Fatalf("trial went to %s", got.Name)
			}
			p.Report(a, ok(20*ms))
		}
		wantState(t, p, a, StateHealthy)
		for range 5 {
			p.Report(b, ok(40*ms))
			wantOrder(t, p, "a,b")
		}
	})
	t.Run("after it was slow", func(t *testing.T) {
		p, ups, clock := testPool(t, 2, Config{Window: time.Minute})
		a, b := ups[0], ups[1]
		report(p, a, ok(300*ms), 5)
		report(p, b, ok(40*ms), 5)
		wantOrder(t, p, "b,a")
		for range 59 {
			clock.Advance(time.Second)
			p.Report(b, ok(40*ms))
			wantOrder(t, p, "b,a")
		}
		clock.Advance(time.Second) // a's slow samples age out: try it again
		wantOrder(t, p, "a,b")
		p.Report(a, ok(35*ms)) // it has recovered: it keeps the traffic
		p.Report(b, ok(40*ms))
		wantOrder(t, p, "a,b")
	})
}

// TestSlowedPreferredLosesAndWinsBackTraffic plays the traffic-shift
// scenario with real timing on a fake clock: two mirrors answer in 10 and
// 12 ms and a request arrives every 50 ms. The preferred one turns 300 ms
// slower: traffic must leave it within a few requests. It heals while only
// probes (one round of three requests every 15 s) reach it: traffic must
// come back within two probe rounds.
func TestSlowedPreferredLosesAndWinsBackTraffic(t *testing.T) {
	p, ups, clock := testPool(t, 2, Config{})
	a, b := ups[0], ups[1]
	latency := map[*Upstream]time.Duration{a: 10 * ms, b: 12 * ms}
	probe := func(u *Upstream) {
		for range 3 {
			o := ok(latency[u])
			o.Probe = true
			p.Report(u, o)
		}
	}
	sinceProbe := 15 * time.Second // the prober starts at once
	// request sends one request to the first candidate, probing every 15 s,
	// and returns who served it.
	request := func() *Upstream {
		clock.Advance(50 * ms)
		if sinceProbe += 50 * ms; sinceProbe >= 15*time.Second {
			probe(a)
			probe(b)
			sinceProbe = 0
		}
		u := p.Candidates()[0]
		p.Report(u, ok(latency[u]))
		return u
	}
	for range 100 {
		if u := request(); u != a {
			t.Fatalf("while both are healthy, %s served", u.Name)
		}
	}

	latency[a] = 310 * ms
	moved := 0
	for i := 1; ; i++ {
		if request() == b {
			moved = i
			break
		}
		if i == 20 {
			t.Fatalf("20 requests after the preferred mirror turned slow, it still serves\n%s", dump(p))
		}
	}
	for range 200 {
		if u := request(); u != b {
			t.Fatalf("after moving away (at request %d), traffic went back to the slow mirror\n%s", moved, dump(p))
		}
	}

	latency[a] = 10 * ms
	start := clock.Now()
	for request() != a {
		if waited := clock.Now().Sub(start); waited > 2*15*time.Second {
			t.Fatalf("%v after the preferred mirror healed, it serves nothing\n%s", waited, dump(p))
		}
	}
	back := clock.Now().Sub(start)
	for range 100 {
		if u := request(); u != a {
			t.Fatalf("once back, the preferred mirror lost traffic to %s\n%s", u.Name, dump(p))
		}
	}
	t.Logf("traffic left after %d requests; came back %v after healing", moved, back)
}

func TestEWMAForgetsWithTime(t *testing.T) {
	p, ups, clock := testPool(t, 1, Config{EWMAWeight: 0.2, EWMAHalfLife: 5 * time.Second})
	a := ups[0]
	p.Report(a, ok(100*ms))
	p.Report(a, ok(200*ms)) // no time passed: weight 0.2
	if s := status(p, a); s.EWMA != 120*ms {
		t.Fatalf("EWMA %v, want 120ms", s.EWMA)
	}
	clock.Advance(5 * time.Second) // one half-life: weight 0.5
	p.Report(a, ok(20*ms))
	if s := status(p, a); s.EWMA != 70*ms {
		t.Fatalf("EWMA %v after a half-life, want 70ms", s.EWMA)
	}
}

func TestEveryUpstreamAlwaysReturned(t *testing.T) {
	p, ups, _ := testPool(t, 4, Config{FailureThreshold: 1})
	p.Report(ups[0], fail(FailBadContent))
	p.Report(ups[1], fail(FailTLS))
	p.Report(ups[2], Outcome{Status: http.StatusTooManyRequests, Failure: FailRateLimit, RetryAfter: time.Minute})
	wantOrder(t, p, "d,b,c,a")
	p.Report(ups[3], fail(FailTimeout))
	wantOrder(t, p, "b,c,d,a")
	wantState(t, p, ups[2], StateOpen)
}

func TestUnknownUpstreamIgnored(t *testing.T) {
	p, _, _ := testPool(t, 2, Config{})
	p.Report(&Upstream{Name: "stranger"}, fail(FailRefused))
	wantOrder(t, p, "a,b")
	if empty := NewPool(nil, Config{}, nil); len(empty.Candidates()) != 0 || len(empty.Snapshot()) != 0 {
		t.Fatal("an empty pool has candidates")
	}
}

func TestCandidatesCachedUntilReport(t *testing.T) {
	p, ups, _ := testPool(t, 3, Config{})
	first := p.Candidates()
	if allocs := testing.AllocsPerRun(100, func() { p.Candidates() }); allocs != 0 {
		t.Fatalf("Candidates allocates %v times on the fast path", allocs)
	}
	p.Report(ups[0], ok(ms))
	if second := p.Candidates(); &second[0] != &first[0] {
		t.Fatal("an unchanged order was copied")
	}
}

func TestDefaults(t *testing.T) {
	if got, want := (Config{}).withDefaults(), DefaultConfig(); got != want {
		t.Fatalf("Config{} with defaults = %+v, want %+v", got, want)
	}
	var _ interface {
		Candidates() []*Upstream
		Report(*Upstream, Outcome)
	} = (*Pool)(nil)
}

func TestConcurrentUse(t *testing.T) {
	p, ups, clock := testPool(t, 3, Config{FailureThreshold: 2, OpenBackoff: ms})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				c := p.Candidates()
				if len(c) != len(ups) {
					t.Errorf("got %d candidates", len(c))
					return
				}
				if (i+g)%3 == 0 {
					p.Report(c[0], fail(FailTimeout))
				} else {
					p.Report(c[0], ok(time.Duration(i%50)*ms))
				}
				if i%50 == 0 {
					p.Snapshot()
					clock.Advance(ms)
				}
			}
		})
	}
	wg.Wait()
}

func BenchmarkCandidatesReport(b *testing.B) {
	p, _, _ := testPool(b, 3, Config{})
	o := ok(20 * ms)
	b.ReportAllocs()
	for b.Loop() {
		p.Report(p.Candidates()[0], o)
	}
}

func BenchmarkCandidatesReportSystemClock(b *testing.B) {
	ups := []*Upstream{{Name: "a"}, {Name: "b", Rank: 1}, {Name: "c", Rank: 2}}
	p := NewPool(ups, Config{}, nil)
	o := ok(20 * ms)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			p.Report(p.Candidates()[0], o)
		}
	})
}

func BenchmarkCandidatesCached(b *testing.B) {
	ups := []*Upstream{{Name: "a"}, {Name: "b", Rank: 1}, {Name: "c", Rank: 2}}
	p := NewPool(ups, Config{}, nil)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			p.Candidates()
		}
	})
}

func TestLatencyP95(t *testing.T) {
	clock := NewFakeClock(time.Unix(1700000000, 0))
	ups := []*Upstream{{Name: "a", Rank: 0}, {Name: "b", Rank: 1}}
	p := NewPool(ups, Config{}, clock)
	if _, ok := p.LatencyP95(ups[0]); ok {
		t.Fatal("a latency is known before any report")
	}
	for i := 1; i <= 100; i++ {
		p.Report(ups[0], Outcome{Status: 200, FirstByte: time.Duration(i) * time.Millisecond})
	}
	if got, ok := p.LatencyP95(ups[0]); !ok || got != 95*time.Millisecond {
		t.Errorf("p95 = %v, %v; want 95ms", got, ok)
	}
	if _, ok := p.LatencyP95(&Upstream{Name: "stranger"}); ok {
		t.Error("an upstream outside the pool has a latency")
	}
}

// TestMembersFoundByPointer checks that an upstream's state is found from
// the *Upstream itself: an equal copy of it is a stranger, and one upstream
// in two pools has a separate state in each.
func TestMembersFoundByPointer(t *testing.T) {
	p, ups, _ := testPool(t, 2, Config{FailureThreshold: 1})
	a := ups[0]
	twin := *a // same name, URL and rank, another upstream
	p.Report(&twin, fail(FailRefused))
	p.SetStale(&twin, []string{"v1.0.0"})
	if _, ok := p.LatencyP95(&twin); ok {
		t.Fatal("a copy of an upstream has a latency")
	}
	wantOrder(t, p, "a,b")
	wantState(t, p, a, StateHealthy)

	other := NewPool(ups, Config{FailureThreshold: 1}, &FakeClock{})
	other.Report(a, fail(FailRefused))
	wantState(t, other, a, StateOpen)
	wantOrder(t, other, "b,a")
	wantState(t, p, a, StateHealthy)
	wantOrder(t, p, "a,b")
	p.Report(a, ok(5*ms))
	if _, ok := other.LatencyP95(a); ok {
		t.Fatal("a report to one pool reached the other")
	}
	if got, ok := p.LatencyP95(a); !ok || got != 5*ms {
		t.Fatalf("LatencyP95 = %v, %v; want 5ms", got, ok)
	}
	for i, s := range p.Snapshot() {
		if s.Upstream != ups[i] {
			t.Fatalf("Snapshot()[%d] is %p, want the upstream given to NewPool (%p)", i, s.Upstream, ups[i])
		}
	}
}
