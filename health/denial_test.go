package health

import (
	"net/http"
	"reflect"
	"testing"
	"time"
)

const deniedPath = "/example.com/m/@v/v1.2.3.info"

// okPath is a 200 for path, taking d.
func okPath(path string, d time.Duration) Outcome {
	o := ok(d)
	o.Path = path
	return o
}

// deniedPool returns a pool over a and b, both answering in 10ms, a
// leading by preference, and a denial of deniedPath by a with status.
func deniedPool(t *testing.T, status int) (*Pool, []*Upstream, *FakeClock) {
	t.Helper()
	p, ups, clock := testPool(t, 2, Config{Window: time.Minute, EWMAWeight: 1})
	a, b := ups[0], ups[1]
	p.Report(a, ok(10*ms))
	p.Report(b, ok(10*ms))
	wantOrder(t, p, "a,b")
	p.ReportDenial(a, deniedPath, status, b.Name)
	return p, ups, clock
}

func TestDenialMarksTheDenyingUpstream(t *testing.T) {
	for _, c := range []struct {
		status int
		reason DenialReason
	}{
		{http.StatusForbidden, DenialMisconfigured},
		{http.StatusNotFound, DenialStale},
		{http.StatusGone, DenialStale},
	} {
		p, ups, clock := deniedPool(t, c.status)
		a, b := ups[0], ups[1]
		wantOrder(t, p, "b,a") // behind the peer it led
		s := wantState(t, p, a, StateDegraded)
		want := Denial{Path: deniedPath, Status: c.status, ServedBy: b.Name, At: clock.Now()}
		if s.Denial == nil || *s.Denial != want {
			t.Fatalf("%d: Denial = %+v, want %+v", c.status, s.Denial, want)
		}
		if got := s.Denial.Reason(); got != c.reason {
			t.Errorf("%d: Reason() = %q, want %q", c.status, got, c.reason)
		}
		if !s.Since.Equal(clock.Now()) {
			t.Errorf("%d: degraded since %v, want %v", c.status, s.Since, clock.Now())
		}
		if want := 10*ms + DefaultConfig().StalePenalty; s.Score != want {
			t.Errorf("%d: score %v, want %v", c.status, s.Score, want)
		}
		s.Denial.Path = "changed" // the caller's copy
		if s := status(p, a); s.Denial.Path != deniedPath {
			t.Fatal("changing a snapshot's Denial changed the pool's")
		}
		if s := status(p, b); s.Denial != nil || s.State != StateHealthy {
			t.Fatalf("%d: the serving upstream is marked: %+v", c.status, s)
		}
	}
}

func TestDenialOnePenaltyWithStale(t *testing.T) {
	p, ups, _ := deniedPool(t, http.StatusNotFound)
	a := ups[0]
	p.SetStale(a, []string{"v1.2.3"})
	if s, want := status(p, a), 10*ms+DefaultConfig().StalePenalty; s.Score != want {
		t.Fatalf("stale and denying: score %v, want %v (one penalty)", s.Score, want)
	}
	p.SetStale(a, nil)
	if s, want := status(p, a), 10*ms+DefaultConfig().StalePenalty; s.Score != want || s.State != StateDegraded {
		t.Fatalf("denying only: score %v, state %s, want %v, degraded", s.Score, s.State, want)
	}
}

func TestDenialClearsWhenThePathIsServed(t *testing.T) {
	p, ups, _ := deniedPool(t, http.StatusNotFound)
	a := ups[0]
	for _, o := range []Outcome{
		okPath("/example.com/m/@v/list", 10*ms),                                   // another path
		{Path: deniedPath, Status: http.StatusNotFound, FirstByte: 10 * ms},       // denied again
		{Path: deniedPath, Status: http.StatusOK, Failure: FailBadContent},        // not served
		{Path: deniedPath, Status: http.StatusOK, Failure: FailTooLarge},          // not served
		{Path: deniedPath, Status: http.StatusPartialContent, FirstByte: 10 * ms}, // not a 200
		ok(10 * ms), // no path
	} {
		p.Report(a, o)
		if s := status(p, a); s.Denial == nil {
			t.Fatalf("after %+v the denial is gone", o)
		}
	}
	p, ups, clock := deniedPool(t, http.StatusNotFound)
	a = ups[0]
	clock.Advance(10 * time.Second)
	p.Report(a, okPath(deniedPath, 10*ms))
	s := wantState(t, p, a, StateHealthy)
	if s.Denial != nil || s.Score != 10*ms || !s.Since.Equal(clock.Now()) {
		t.Fatalf("after serving the path: %+v", s)
	}
	wantOrder(t, p, "a,b")
}

func TestDenialExpiresAfterTheWindow(t *testing.T) {
	p, ups, clock := deniedPool(t, http.StatusForbidden)
	a, b := ups[0], ups[1]
	deniedAt := clock.Now()
	for range 6 {
		clock.Advance(10*time.Second - ms) // keep the scores known
		p.Report(a, ok(10*ms))
		p.Report(b, ok(10*ms))
	}
	wantOrder(t, p, "b,a")
	clock.Advance(time.Minute - clock.Now().Sub(deniedAt) - 1)
	wantOrder(t, p, "b,a")
	wantState(t, p, a, StateDegraded)
	clock.Advance(1)
	wantOrder(t, p, "a,b") // the expiry is a deadline of the order
	s := wantState(t, p, a, StateHealthy)
	if s.Denial != nil || !s.Since.Equal(deniedAt.Add(time.Minute)) {
		t.Fatalf("after the window: %+v", s)
	}

	// A later denial replaces the earlier one, and its window starts over.
	p.ReportDenial(a, "/first", http.StatusNotFound, b.Name)
	clock.Advance(30 * time.Second)
	p.ReportDenial(a, "/second", http.StatusForbidden, b.Name)
	clock.Advance(30 * time.Second)
	if s := status(p, a); s.Denial == nil || s.Denial.Path != "/second" || s.Denial.Reason() != DenialMisconfigured {
		t.Fatalf("after two denials: %+v", s.Denial)
	}
	p.Report(a, okPath("/first", ms)) // the earlier one's path does not clear it
	if s := status(p, a); s.Denial == nil {
		t.Fatal("serving the earlier denied path cleared the later denial")
	}
	clock.Advance(30 * time.Second)
	if s := status(p, a); s.Denial != nil {
		t.Fatalf("the later denial outlived its window: %+v", s.Denial)
	}
}

// TestDenialReadersNeverClearIt checks that readers work out whether a
// denial still holds but leave clearing it to the writers: however often
// they look, before or after it ends, the pool holds it until a write.
func TestDenialReadersNeverClearIt(t *testing.T) {
	p, ups, clock := deniedPool(t, http.StatusNotFound)
	a := ups[0]
	m := p.byUp[a]
	for range 59 {
		clock.Advance(time.Second)
		if s := status(p, a); s.Denial == nil {
			t.Fatal("the denial ended early")
		}
		p.LatencyP95(a)
	}
	clock.Advance(time.Second)
	for range 3 {
		if s := status(p, a); s.Denial != nil || s.State != StateHealthy {
			t.Fatalf("after the window a reader sees %+v", s)
		}
		p.LatencyP95(a)
	}
	if m.denial == nil {
		t.Fatal("a reader cleared the denial")
	}
	p.Candidates() // a write
	if m.denial != nil {
		t.Fatal("a write after the window kept the denial")
	}
}

func TestDenialIgnored(t *testing.T) {
	p, ups, _ := testPool(t, 2, Config{})
	a, b := ups[0], ups[1]
	p.ReportDenial(a, deniedPath, http.StatusBadRequest, b.Name) // not a denial
	p.ReportDenial(a, deniedPath, http.StatusInternalServerError, b.Name)
	p.ReportDenial(a, "", http.StatusNotFound, b.Name)
	stranger := &Upstream{Name: "a"}
	p.ReportDenial(stranger, deniedPath, http.StatusNotFound, b.Name)
	for _, s := range p.Snapshot() {
		if s.Denial != nil || s.State != StateHealthy {
			t.Fatalf("%s: %+v", s.Upstream.Name, s)
		}
	}
	wantOrder(t, p, "a,b")
	if !reflect.DeepEqual(p.Snapshot(), NewPool(ups, Config{}, &FakeClock{}).Snapshot()) {
		t.Fatal("ignored denials changed the pool")
	}
}
