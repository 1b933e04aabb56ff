package history

import (
	"testing"
	"time"

	"github.com/gofailover/gofailover/health"
)

func TestCounterIncrements(t *testing.T) {
	h := New(Config{})
	u := upstreams("a")[0]
	// Cumulative counters: 10, then 25, then a new pool counting from 0
	// has reached 5, then 7.
	for i, req := range []uint64{10, 25, 5, 7} {
		st := status(u, req)
		st.Failures, st.Probes, st.ProbeFailures = req/5, 2*req, req/10
		h.Record(t0().Add(5*time.Second+time.Duration(i)*10*time.Second), []health.Status{st})
	}
	ps := h.Series("a", t0(), t0().Add(39*time.Second))
	if len(ps) != 4 {
		t.Fatalf("got %d points, want 4", len(ps))
	}
	type counts struct{ req, fail, probes, pfail uint64 }
	want := []counts{{10, 2, 20, 1}, {15, 3, 30, 1}, {5, 1, 10, 0}, {2, 0, 4, 0}}
	for i, p := range ps {
		got := counts{p.Requests, p.Failures, p.Probes, p.ProbeFailures}
		if got != want[i] {
			t.Errorf("point %d: counters %+v, want %+v", i, got, want[i])
		}
	}
}

func TestFinePoint(t *testing.T) {
	h := New(Config{})
	u := upstreams("a")[0]
	st := status(u, 3)
	st.State = health.StateDegraded
	h.Record(t0().Add(5*time.Second), []health.Status{st})
	ps := h.Series("a", t0(), t0().Add(5*time.Second))
	want := Point{
		At: t0(), Samples: 1, P50: 20 * time.Millisecond, P95: 40 * time.Millisecond, P99: 80 * time.Millisecond,
		ErrorRate: 0.1, Requests: 3, State: health.StateDegraded, HasLatency: true, HasErrorRate: true,
	}
	if len(ps) != 1 || ps[0] != want {
		t.Fatalf("Series = %+v, want [%+v]", ps, want)
	}
}

func TestDownsampling(t *testing.T) {
	h := New(Config{})
	u := upstreams("a")[0]
	var req uint64
	states := map[int]health.State{7: health.StateHalfOpen, 8: health.StateOpen, 20: health.StateDegraded}
	// 30 samples fill the 5-minute interval starting at t0().
	for i := range 30 {
		req += uint64(i)
		st := status(u, req)
		st.P50 = time.Duration(10+i) * time.Millisecond
		st.P95 = time.Duration(100+i%7) * time.Millisecond
		st.P99 = 200 * time.Millisecond
		if i == 13 {
			st.P99 = 900 * time.Millisecond
		}
		st.ErrorRate = float64(i%2) * 0.5
		if s, ok := states[i]; ok {
			st.State = s
		}
		if i == 29 { // a window without outcomes adds nothing to latency or rate
			st.Samples, st.P50, st.P95, st.P99, st.ErrorRate = 0, 0, 0, 0, 0
		}
		h.Record(t0().Add(5*time.Second+time.Duration(i)*10*time.Second), []health.Status{st})
	}
	now := t0().Add(5*time.Minute - time.Second)
	ps := h.Series("a", now.Add(-7*time.Hour), now)
	last := ps[len(ps)-1]
	// Mean of p50 over the 29 samples with latency: 10ms..38ms.
	want := Point{
		At: t0(), Samples: 30, P50: 24 * time.Millisecond, P95: 106 * time.Millisecond, P99: 900 * time.Millisecond,
		ErrorRate: 14 * 0.5 / 29, Requests: 435, State: health.StateOpen, HasLatency: true, HasErrorRate: true,
	}
	if last.ErrorRate-want.ErrorRate > 1e-6 || want.ErrorRate-last.ErrorRate > 1e-6 {
		t.Errorf("ErrorRate = %v, want %v", last.ErrorRate, want.ErrorRate)
	}
	last.ErrorRate = want.ErrorRate
	if last != want {
		t.Errorf("coarse point = %+v, want %+v", last, want)
	}
	if n := len(nonEmpty(ps)); n != 1 {
		t.Errorf("%d coarse points with data, want 1", n)
	}
	if fine := nonEmpty(h.Series("a", t0(), now)); len(fine) != 30 {
		t.Errorf("%d fine points with data, want 30", len(fine))
	}
}

func TestGaps(t *testing.T) {
	h := New(Config{})
	u := upstreams("a")[0]
	h.Record(t0().Add(5*time.Second), []health.Status{status(u, 1)})
	// gofailover was down for an hour.
	h.Record(t0().Add(time.Hour+5*time.Second), []health.Status{status(u, 2)})
	ps := h.Series("a", t0(), t0().Add(time.Hour+5*time.Second))
	if len(ps) != 361 {
		t.Fatalf("got %d points, want 361", len(ps))
	}
	for i, p := range ps {
		wantEmpty := i != 0 && i != 360
		if p.Empty != wantEmpty {
			t.Errorf("point %d (%v): Empty = %v, want %v", i, p.At, p.Empty, wantEmpty)
		}
		if !p.At.Equal(t0().Add(time.Duration(i) * 10 * time.Second)) {
			t.Fatalf("point %d at %v, want %v", i, p.At, t0().Add(time.Duration(i)*10*time.Second))
		}
		if p.Empty && p != (Point{At: p.At, Empty: true}) {
			t.Errorf("gap %d carries data: %+v", i, p)
		}
	}
	// An upstream missing from a snapshot has a gap there.
	b := upstreams("a", "b")[1]
	h.Record(t0().Add(time.Hour+15*time.Second), []health.Status{status(b, 1)})
	ps = h.Series("a", t0().Add(time.Hour), t0().Add(time.Hour+15*time.Second))
	if len(ps) != 2 || ps[0].Empty || !ps[1].Empty {
		t.Errorf("Series(a) = %+v, want data then a gap", ps)
	}
}

func TestRingBounds(t *testing.T) {
	store := newMemStore()
	h := New(Config{Store: store})
	ups := upstreams("a", "b")
	const days = 15
	var maxValues, maxBytes int
	for i := range days * 24 * 360 {
		now := t0().Add(5*time.Second + time.Duration(i)*10*time.Second)
		h.Record(now, []health.Status{status(ups[0], uint64(i)), status(ups[1], uint64(7*i))})
		if i%360 == 0 { // hourly
			mustSave(t, h)
			n, total := store.size()
			maxValues, maxBytes = max(maxValues, n), max(maxBytes, total)
		}
	}
	now := t0().Add(days*24*time.Hour - time.Second)
	for _, name := range []string{"a", "b"} {
		s := h.ups[name]
		if got := len(s.rings[0].slots); got != 2160 {
			t.Errorf("%s: fine ring has %d slots, want 2160", name, got)
		}
		if got := len(s.rings[1].slots); got != 4032 {
			t.Errorf("%s: coarse ring has %d slots, want 4032", name, got)
		}
		fine := h.Series(name, now.Add(-6*time.Hour), now)
		if len(fine) != 2160 || len(nonEmpty(fine)) != 2160 {
			t.Errorf("%s: 6h series has %d points, %d with data; want 2160 of 2160", name, len(fine), len(nonEmpty(fine)))
		}
		all := h.Series(name, now.Add(-30*24*time.Hour), now)
		if len(all) != 4032 || len(nonEmpty(all)) != 4032 {
			t.Errorf("%s: 30d series has %d points, %d with data; want 4032 of 4032", name, len(all), len(nonEmpty(all)))
		}
	}
	// 2 upstreams × (6 + 12 segments) + the list.
	if maxValues != 37 {
		t.Errorf("store held up to %d values, want 37", maxValues)
	}
	t.Logf("stored size peaked at %d bytes", maxBytes)
	if maxBytes > 600<<10 {
		t.Errorf("stored size reached %d bytes", maxBytes)
	}
}

func TestDropAgedOut(t *testing.T) {
	store := newMemStore()
	h := New(Config{Store: store})
	ups := upstreams("a", "b")
	h.Record(t0(), []health.Status{status(ups[0], 1), status(ups[1], 1)})
	mustSave(t, h)
	if n := storedOf(h, store, "b"); n != 2 {
		t.Fatalf("b has %d values in the store, want 2 (a fine and a coarse segment)", n)
	}
	// b is no longer configured: it stays while its data lasts.
	h.Record(t0().Add(14*24*time.Hour), []health.Status{status(ups[0], 2)})
	if got := h.Upstreams(); len(got) != 2 {
		t.Errorf("Upstreams() = %q after 14 days, want a and b", got)
	}
	h.Record(t0().Add(14*24*time.Hour+time.Minute), []health.Status{status(ups[0], 3)})
	if got := h.Upstreams(); len(got) != 1 || got[0] != "a" {
		t.Errorf("Upstreams() = %q after b aged out, want [a]", got)
	}
	if ps := h.Series("b", t0(), t0().Add(time.Hour)); ps != nil {
		t.Errorf("Series(b) = %d points after b aged out, want nil", len(ps))
	}
	mustSave(t, h)
	if n := storedOf(h, store, "b"); n != 0 {
		t.Errorf("b has %d values left in the store, want 0", n)
	}
	if got := New(Config{Store: store}).Upstreams(); len(got) != 1 || got[0] != "a" {
		t.Errorf("after reload, Upstreams() = %q, want [a]", got)
	}
}

func TestUpstreamsOrder(t *testing.T) {
	h := New(Config{})
	ups := upstreams("z", "m", "a")
	var sts []health.Status
	for _, u := range ups {
		sts = append(sts, status(u, 1))
	}
	h.Record(t0(), sts)
	h.Record(t0(), []health.Status{{}, {Upstream: &health.Upstream{}}}) // skipped
	got := h.Upstreams()
	if len(got) != 3 || got[0] != "z" || got[1] != "m" || got[2] != "a" {
		t.Errorf("Upstreams() = %q, want [z m a]", got)
	}
}

// storedOf returns the number of non-empty segments of upstream name in
// store.
func storedOf(h *History, store *memStore, name string) int {
	n := 0
	for ti, tr := range h.tiers {
		for seg := range segments(tr.capacity) {
			if len(store.get(h.segmentKey(name, ti, seg))) > 0 {
				n++
			}
		}
	}
	return n
}

// TestUnknownIsNotZero: a snapshot of a dead upstream (failures without a
// response) and one just after its breaker turned half-open (an empty
// window) make points whose latency and error rate are unknown, not 0,
// while their failures still count.
func TestUnknownIsNotZero(t *testing.T) {
	h := New(Config{})
	u := upstreams("a")[0]
	dead := health.Status{Upstream: u, State: health.StateOpen, Samples: 4, ErrorRate: 1, Probes: 4, ProbeFailures: 4}
	h.Record(t0().Add(5*time.Second), []health.Status{dead})
	trial := health.Status{Upstream: u, State: health.StateHalfOpen, Probes: 5, ProbeFailures: 5}
	h.Record(t0().Add(15*time.Second), []health.Status{trial})
	ps := h.Series("a", t0(), t0().Add(15*time.Second))
	if len(ps) != 2 {
		t.Fatalf("Series = %+v, want 2 points", ps)
	}
	if p := ps[0]; p.HasLatency || !p.HasErrorRate || p.ErrorRate != 1 || p.ProbeFailures != 4 {
		t.Errorf("dead upstream's point = %+v, want unknown latency, error rate 1, 4 failed probes", p)
	}
	if p := ps[1]; p.HasLatency || p.HasErrorRate || p.ProbeFailures != 1 || p.Probes != 1 {
		t.Errorf("half-open point = %+v, want unknown latency and error rate, 1 failed probe", p)
	}
}
