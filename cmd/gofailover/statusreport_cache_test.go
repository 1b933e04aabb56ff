package main

import (
	"testing"
	"time"

	"github.com/gofailover/gofailover/cache"
	"github.com/gofailover/gofailover/proxy"
)

// storeStats is a store whose Stats are given.
type storeStats cache.Stats

func (s storeStats) Stats() cache.Stats { return cache.Stats(s) }

// TestCacheStatsCarryUpkeep: the status report's cache card gets what the
// cache's checks found.
func TestCacheStatsCarryUpkeep(t *testing.T) {
	last := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	src := &statusSource{store: storeStats{Entries: 5, Bytes: 50, CorruptBlobs: 2, LastScrubAt: last, SetAside: "/c/meta.damaged-x"}}
	cs := src.cacheStats([]proxy.RequestCount{{Cache: "hit", Count: 3}, {Cache: "miss", Count: 1}}, proxy.PrefetchStats{Fetched: 8, Hits: 6, Wasted: 1})
	if cs.Entries != 5 || cs.Bytes != 50 || cs.CorruptBlobs != 2 || !cs.LastScrubAt.Equal(last) ||
		cs.SetAside != "/c/meta.damaged-x" || cs.Hits != 3 || cs.Misses != 1 {
		t.Errorf("cacheStats = %+v", cs)
	}
	if cs.Prefetched != 8 || cs.PrefetchHits != 6 || cs.PrefetchWasted != 1 || cs.PrefetchHitRatio != 0.75 {
		t.Errorf("cacheStats' prefetch figures = %+v, want 8 fetched, 6 hits (0.75), 1 wasted", cs)
	}
}
