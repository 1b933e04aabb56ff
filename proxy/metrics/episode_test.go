package metrics

import (
	"errors"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gofailover/gofailover/health"
)

// TestEpisodeCollector: a dead upstream's episode starts at its first
// failure, through the breaker's trials, and the metric says so.
func TestEpisodeCollector(t *testing.T) {
	clock := health.NewFakeClock(time.Unix(1_700_000_000, 0))
	ups := []*health.Upstream{{Name: "https://a.example"}, {Name: "https://b.example", Rank: 1}}
	pool := health.NewPool(ups, health.Config{FailureThreshold: 2, OpenBackoff: time.Second}, clock)
	clock.Advance(10 * time.Second)
	died := clock.Now()
	for range 20 {
		pool.Report(ups[0], health.Outcome{Failure: health.FailRefused, Err: errors.New("refused"), Probe: true})
		clock.Advance(5 * time.Second)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(NewEpisodeCollector([]Pool{{Name: "public", Pool: pool}}))
	if died.Unix() != 1_700_000_010 {
		t.Fatalf("died at %v", died)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "gofailover_upstream_state_since_timestamp_seconds" {
			t.Errorf("unexpected metric %s", mf.GetName())
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "upstream" {
					got[l.GetValue()] = m.GetGauge().GetValue()
				}
			}
		}
	}
	if got["https://a.example"] != 1_700_000_010 || got["https://b.example"] != 1_700_000_000 {
		t.Errorf("episode starts %v, want a at its first failure 1700000010, b at the start 1700000000", got)
	}
}
