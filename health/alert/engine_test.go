package alert

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gofailover/gofailover/health"
)

const (
	healthy     = health.StateHealthy
	degraded    = health.StateDegraded
	open        = health.StateOpen
	halfOpen    = health.StateHalfOpen
	quarantined = health.StateQuarantined
)

func TestPendingFiresOnlyAfterFor(t *testing.T) {
	rec := new(recorder)
	e := NewEngine(Config{For: time.Minute}, rec, nil)
	ups := testUpstreams(2)
	down := statuses(ups, open, healthy)

	wantMoves(t, "0s", e.Evaluate(at(0), down), "upstream_down 0 inactive→pending P1")
	wantMoves(t, "59s", e.Evaluate(at(59*time.Second), down))
	if n := len(rec.got()); n != 0 {
		t.Fatalf("notified %d times while pending", n)
	}
	got := e.Evaluate(at(time.Minute), down)
	wantMoves(t, "1m", got, "upstream_down 0 pending→firing P1")
	wantMoves(t, "notified", rec.got(), "upstream_down 0 pending→firing P1")
	wantMoves(t, "2m", e.Evaluate(at(2*time.Minute), down))

	as := e.Alerts(at(2 * time.Minute))
	if len(as) != 1 {
		t.Fatalf("Alerts = %+v, want one", as)
	}
	a := as[0]
	if a.State != Firing || !a.ActiveAt.Equal(at(0)) || !a.FiredAt.Equal(at(time.Minute)) ||
		!a.Since.Equal(at(time.Minute)) || a.Upstream != ups[0].Name || a.Value != 1 || a.Threshold != 1 ||
		!strings.Contains(a.Summary, ups[0].Name) {
		t.Errorf("alert = %+v", a)
	}
}

func TestBlipNeverFires(t *testing.T) {
	rec := new(recorder)
	e := NewEngine(Config{For: time.Minute}, rec, nil)
	ups := testUpstreams(2)
	e.Evaluate(at(0), statuses(ups, open, healthy))
	wantMoves(t, "cleared", e.Evaluate(at(30*time.Second), statuses(ups, healthy, healthy)),
		"upstream_down 0 pending→inactive P1")
	wantMoves(t, "later", e.Evaluate(at(5*time.Minute), statuses(ups, healthy, healthy)))
	if got := rec.got(); len(got) != 0 {
		t.Errorf("a blip notified %v", moves(got))
	}
	if as := e.Alerts(at(5 * time.Minute)); len(as) != 0 {
		t.Errorf("Alerts after a blip = %+v", as)
	}
}

func TestResolvedKeptForRetention(t *testing.T) {
	rec := new(recorder)
	e := NewEngine(Config{For: time.Minute, ResolvedRetention: time.Hour}, rec, nil)
	ups := testUpstreams(2)
	down, up := statuses(ups, healthy, open), statuses(ups, healthy, healthy)
	e.Evaluate(at(0), down)
	e.Evaluate(at(time.Minute), down)
	wantMoves(t, "recovered", e.Evaluate(at(3*time.Minute), up), "upstream_down 1 firing→resolved P2")
	wantMoves(t, "notified", rec.got(), "upstream_down 1 pending→firing P2", "upstream_down 1 firing→resolved P2")

	as := e.Alerts(at(3*time.Minute + 59*time.Minute))
	if len(as) != 1 || as[0].State != Resolved || !as[0].ResolvedAt.Equal(at(3*time.Minute)) ||
		!as[0].FiredAt.Equal(at(time.Minute)) || as[0].Value != 1 {
		t.Fatalf("Alerts within retention = %+v", as)
	}
	if as := e.Alerts(at(3*time.Minute + time.Hour)); len(as) != 0 {
		t.Errorf("Alerts after retention = %+v", as)
	}
	wantMoves(t, "expiry", e.Evaluate(at(3*time.Minute+time.Hour), up))
	if len(e.resolved) != 0 {
		t.Errorf("expired alert still kept: %+v", e.resolved)
	}
}

func TestConditionBackAfterResolveStartsPending(t *testing.T) {
	rec := new(recorder)
	e := NewEngine(Config{For: time.Minute}, rec, nil)
	ups := testUpstreams(1)
	down, up := statuses(ups, open), statuses(ups, healthy)
	e.Evaluate(at(0), down)
	e.Evaluate(at(time.Minute), down)
	e.Evaluate(at(2*time.Minute), up)
	wantMoves(t, "back", e.Evaluate(at(3*time.Minute), down),
		"upstream_down 0 resolved→pending P1", "all_upstreams_down pool resolved→pending P0")
	as := e.Alerts(at(3 * time.Minute))
	var states []State
	for _, a := range as {
		states = append(states, a.State)
	}
	if !slices.Equal(states, []State{Pending, Pending, Resolved, Resolved}) {
		t.Errorf("Alerts states = %v, want the new pending ones and the recently resolved ones", states)
	}
	if as[0].Rule != AllUpstreamsDown || !as[0].ActiveAt.Equal(at(3*time.Minute)) {
		t.Errorf("first alert = %+v, want the new P0 pending since 3m", as[0])
	}
	wantMoves(t, "fires again", e.Evaluate(at(4*time.Minute), down),
		"upstream_down 0 pending→firing P1", "all_upstreams_down pool pending→firing P0")
}

func TestRulesAndSeverities(t *testing.T) {
	ups := testUpstreams(3)
	failing := func(s []health.Status, i int, rate float64, samples int) []health.Status {
		s[i].ErrorRate, s[i].Samples = rate, samples
		return s
	}
	tests := []struct {
		name string
		in   []health.Status
		want []string
	}{
		{"all healthy", statuses(ups, healthy, healthy, healthy), nil},
		{"degraded alone is no alert", statuses(ups, degraded, degraded, healthy), nil},
		{"preferred open", statuses(ups, open, healthy, healthy),
			[]string{"upstream_down 0 pending→firing P1"}},
		{"preferred half-open", statuses(ups, halfOpen, healthy, healthy),
			[]string{"upstream_down 0 pending→firing P1"}},
		{"other open", statuses(ups, healthy, healthy, open),
			[]string{"upstream_down 2 pending→firing P2"}},
		{"other quarantined", statuses(ups, healthy, quarantined, healthy),
			[]string{"upstream_quarantined 1 pending→firing P1"}},
		{"preferred failing", failing(statuses(ups, degraded, healthy, healthy), 0, 0.5, 20),
			[]string{"error_rate_high 0 pending→firing P1"}},
		{"other failing", failing(statuses(ups, healthy, degraded, healthy), 1, 0.21, 10),
			[]string{"error_rate_high 1 pending→firing P2"}},
		{"failing on too few samples", failing(statuses(ups, healthy, degraded, healthy), 1, 1, 9), nil},
		{"error rate at the threshold", failing(statuses(ups, healthy, degraded, healthy), 1, 0.2, 50), nil},
		{"all down", statuses(ups, open, halfOpen, quarantined), []string{
			"upstream_down 0 pending→firing P1",
			"upstream_down 1 pending→firing P2",
			"upstream_quarantined 2 pending→firing P1",
			"all_upstreams_down pool pending→firing P0",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := new(recorder)
			e := NewEngine(Config{For: -1}, rec, nil)
			e.Evaluate(at(0), tt.in)
			wantMoves(t, "notified", rec.got(), tt.want...)
		})
	}
}

func TestNoUpstreamsNoAlert(t *testing.T) {
	e := NewEngine(Config{For: -1}, nil, nil)
	wantMoves(t, "empty pool", e.Evaluate(at(0), nil))
}

func TestMissingUpstreamResolves(t *testing.T) {
	e := NewEngine(Config{For: -1}, nil, nil)
	ups := testUpstreams(2)
	e.Evaluate(at(0), statuses(ups, healthy, open))
	wantMoves(t, "gone", e.Evaluate(at(time.Minute), statuses(ups[:1], healthy)),
		"upstream_down 1 firing→resolved P2")
}

func TestAlertsOrder(t *testing.T) {
	e := NewEngine(Config{For: time.Minute}, nil, nil)
	ups := testUpstreams(3)
	e.Evaluate(at(0), statuses(ups, healthy, open, healthy))
	e.Evaluate(at(time.Minute), statuses(ups, healthy, open, healthy)) // fires P2
	e.Evaluate(at(2*time.Minute), statuses(ups, quarantined, open, healthy))
	e.Evaluate(at(3*time.Minute), statuses(ups, quarantined, open, open)) // fires P1 quarantine; pending P2 down
	e.Evaluate(at(4*time.Minute), statuses(ups, healthy, healthy, open))  // resolves 1 and quarantine
	var got []string
	for _, a := range e.Alerts(at(4 * time.Minute)) {
		got = append(got, string(a.State)+" "+string(a.Severity)+" "+string(a.Rule))
	}
	want := []string{
		"firing P2 upstream_down",
		"resolved P1 upstream_quarantined",
		"resolved P2 upstream_down",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Alerts order\n got %q\nwant %q", got, want)
	}
}

func TestTransitionsLogged(t *testing.T) {
	log, buf := testLogger()
	e := NewEngine(Config{For: time.Minute}, nil, log)
	ups := testUpstreams(2)
	e.Evaluate(at(0), statuses(ups, open, healthy))
	e.Evaluate(at(time.Minute), statuses(ups, open, healthy))
	e.Evaluate(at(2*time.Minute), statuses(ups, healthy, healthy))
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	want := []string{
		`level=INFO msg="alert pending" rule=upstream_down upstream=http://127.0.0.1:8081 severity=P1 value=1 threshold=1 from=inactive`,
		`level=WARN msg="alert firing" rule=upstream_down upstream=http://127.0.0.1:8081 severity=P1 value=1 threshold=1 from=pending`,
		`level=INFO msg="alert resolved" rule=upstream_down upstream=http://127.0.0.1:8081 severity=P1 value=1 threshold=1 from=firing`,
	}
	if len(lines) != len(want) {
		t.Fatalf("log:\n%s", buf)
	}
	for i, w := range want {
		if !strings.Contains(lines[i], w) {
			t.Errorf("log line %d = %s\nwant it to contain %s", i, lines[i], w)
		}
	}
}

// TestWithPool drives the engine with a real health.Pool under a fake
// clock.
func TestWithPool(t *testing.T) {
	clock := health.NewFakeClock(at(0))
	ups := testUpstreams(2)
	pool := health.NewPool(ups, health.Config{}, clock)
	rec := new(recorder)
	e := NewEngine(Config{For: time.Minute}, rec, nil)

	for range 5 {
		pool.Report(ups[0], health.Outcome{Failure: health.FailRefused})
	}
	// Five failures in a row are too few for the window's error rate,
	// but enough of a streak for error_rate_high (Config.ErrorStreak).
	wantMoves(t, "breaker opens", e.Evaluate(clock.Now(), pool.Snapshot()),
		"upstream_down 0 inactive→pending P1", "error_rate_high 0 inactive→pending P1")
	clock.Advance(time.Minute)
	// The breaker is half-open by now, still down; its window is clean,
	// but the streak goes on.
	wantMoves(t, "a minute on", e.Evaluate(clock.Now(), pool.Snapshot()),
		"upstream_down 0 pending→firing P1", "error_rate_high 0 pending→firing P1")

	pool.Report(ups[1], health.Outcome{Status: 200, Failure: health.FailBadContent})
	wantMoves(t, "bad content", e.Evaluate(clock.Now(), pool.Snapshot()),
		"upstream_quarantined 1 inactive→pending P1", "all_upstreams_down pool inactive→pending P0")
	wantMoves(t, "notified", rec.got(), "upstream_down 0 pending→firing P1", "error_rate_high 0 pending→firing P1")
}

// TestErrorRateHoldsWithoutEnoughSamples: a firing error_rate_high does not
// resolve when the pool's window is emptied (as when the breaker lets a
// still-failing upstream try again with a clean window): too few samples
// say nothing either way. It resolves on enough samples below the rate.
func TestErrorRateHoldsWithoutEnoughSamples(t *testing.T) {
	ups := testUpstreams(2)
	e := NewEngine(Config{For: time.Minute}, nil, nil)
	with := func(rate float64, samples int) []health.Status {
		s := statuses(ups, degraded, healthy)
		s[0].ErrorRate, s[0].Samples = rate, samples
		return s
	}
	wantMoves(t, "failing", e.Evaluate(at(0), with(1, 20)), "error_rate_high 0 inactive→pending P1")
	wantMoves(t, "still failing", e.Evaluate(at(time.Minute), with(1, 20)), "error_rate_high 0 pending→firing P1")
	wantMoves(t, "window emptied", e.Evaluate(at(2*time.Minute), with(0, 0)))
	wantMoves(t, "a few new failures", e.Evaluate(at(3*time.Minute), with(1, 3)))
	wantMoves(t, "recovered", e.Evaluate(at(4*time.Minute), with(0.05, 20)), "error_rate_high 0 firing→resolved P1")
}
