package alert

import (
	"strings"
	"testing"
	"time"
)

// TestDownSummaryWording: upstream_down says since when the upstream is
// down (its outage's first failure), not a breaker state that the next
// trial changes, and all_upstreams_down gets its number right for one
// upstream.
func TestDownSummaryWording(t *testing.T) {
	ups := testUpstreams(1)
	st := statuses(ups, halfOpen)
	st[0].EpisodeSince = time.Date(2026, 11, 29, 20, 31, 40, 0, time.UTC)
	f := judgeDown(st[0])
	if !f.holds || !strings.Contains(f.summary, "is down since 20:31:40 UTC") || strings.Contains(f.summary, "(open)") {
		t.Errorf("upstream_down summary %q", f.summary)
	}
	p := judgePool(st)
	if !p.holds || p.summary != "the only upstream is down: serving from the cache only" {
		t.Errorf("all_upstreams_down summary %q", p.summary)
	}
}
