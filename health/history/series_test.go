package history

import (
	"math"
	"testing"
	"time"

	"github.com/gofailover/gofailover/health"
)

func TestSeriesTier(t *testing.T) {
	h := New(Config{})
	u := upstreams("a")[0]
	for i := range 8 * 360 { // 8 hours
		h.Record(t0().Add(5*time.Second+time.Duration(i)*10*time.Second), []health.Status{status(u, uint64(i))})
	}
	now := t0().Add(8 * time.Hour)
	cases := []struct {
		since     time.Duration // before now
		n         int
		step      time.Duration
		wantFirst time.Time
	}{
		{time.Hour, 361, 10 * time.Second, now.Add(-time.Hour)},
		{6 * time.Hour, 2160, 10 * time.Second, now.Add(-6*time.Hour + 10*time.Second)},
		{6*time.Hour + time.Second, 74, 5 * time.Minute, now.Add(-6*time.Hour - 5*time.Minute)},
		{7 * 24 * time.Hour, 2017, 5 * time.Minute, now.Add(-7 * 24 * time.Hour)},
		{100 * 24 * time.Hour, 4032, 5 * time.Minute, now.Add(-14*24*time.Hour + 5*time.Minute)},
	}
	for _, c := range cases {
		ps := h.Series("a", now.Add(-c.since), now)
		if len(ps) != c.n {
			t.Errorf("range %v: %d points, want %d", c.since, len(ps), c.n)
			continue
		}
		if step := ps[1].At.Sub(ps[0].At); step != c.step {
			t.Errorf("range %v: step %v, want %v", c.since, step, c.step)
		}
		if !ps[0].At.Equal(c.wantFirst) || !ps[len(ps)-1].At.Equal(now) {
			t.Errorf("range %v: points from %v to %v, want %v to %v", c.since, ps[0].At, ps[len(ps)-1].At, c.wantFirst, now)
		}
	}
	if ps := h.Series("a", time.Time{}, now); len(ps) != 4032 {
		t.Errorf("range from the zero time: %d points, want 4032", len(ps))
	}
	if ps := h.Series("a", now, now.Add(-time.Second)); ps != nil {
		t.Errorf("since after now: %d points, want nil", len(ps))
	}
	if ps := h.Series("nobody", t0(), now); ps != nil {
		t.Errorf("unknown upstream: %d points, want nil", len(ps))
	}
}

func TestTraffic(t *testing.T) {
	h := New(Config{})
	ups := upstreams("a", "b", "c")
	// Interval 0: a 30, b 10. Interval 1: nothing. Interval 2: b 5.
	h.Record(t0().Add(5*time.Second), []health.Status{status(ups[0], 30), status(ups[1], 10), status(ups[2], 0)})
	h.Record(t0().Add(15*time.Second), []health.Status{status(ups[0], 30), status(ups[1], 10), status(ups[2], 0)})
	h.Record(t0().Add(25*time.Second), []health.Status{status(ups[0], 30), status(ups[1], 15), status(ups[2], 0)})
	tr := h.Traffic(t0(), t0().Add(25*time.Second))
	if len(tr) != 3 {
		t.Fatalf("Traffic: %d points, want 3", len(tr))
	}
	check := func(what string, got map[string]float64, want map[string]float64) {
		t.Helper()
		if len(got) != len(want) {
			t.Errorf("%s = %v, want %v", what, got, want)
			return
		}
		for k, v := range want {
			if math.Abs(got[k]-v) > 1e-9 {
				t.Errorf("%s = %v, want %v", what, got, want)
			}
		}
	}
	if tr[0].Total != 40 || tr[1].Total != 0 || tr[2].Total != 5 {
		t.Errorf("totals %d, %d, %d; want 40, 0, 5", tr[0].Total, tr[1].Total, tr[2].Total)
	}
	check("share 0", tr[0].Share, map[string]float64{"a": 0.75, "b": 0.25})
	check("share 1", tr[1].Share, map[string]float64{})
	check("share 2", tr[2].Share, map[string]float64{"b": 1})
	check("TrafficShare", h.TrafficShare(t0(), t0().Add(25*time.Second)), map[string]float64{"a": 30.0 / 45, "b": 15.0 / 45})
	check("TrafficShare without requests", h.TrafficShare(t0().Add(10*time.Second), t0().Add(15*time.Second)), map[string]float64{})
}
