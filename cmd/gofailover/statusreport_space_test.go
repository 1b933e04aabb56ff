package main

import (
	"testing"

	"github.com/gofailover/gofailover/cache"
	"github.com/gofailover/gofailover/proxy"
)

// spaceStore is a store whose Stats are given.
type spaceStore cache.Stats

func (s spaceStore) Stats() cache.Stats { return cache.Stats(s) }

// TestCacheStatsCarrySpace: the status report says whether the cache
// stores new answers, why not, and its free space beside the reserve.
func TestCacheStatsCarrySpace(t *testing.T) {
	src := &statusSource{store: spaceStore{ReadOnly: "disk full: 12.0 MiB free, reserve 1.0 GiB", FreeBytes: 12 << 20, ReserveBytes: 1 << 30}}
	cs := src.cacheStats(nil, proxy.PrefetchStats{})
	if cs.ReadOnly != "disk full: 12.0 MiB free, reserve 1.0 GiB" || cs.FreeBytes != 12<<20 || cs.ReserveBytes != 1<<30 {
		t.Errorf("cacheStats = %+v", cs)
	}
	src = &statusSource{store: spaceStore{Writable: true}}
	if cs := src.cacheStats(nil, proxy.PrefetchStats{}); cs.ReadOnly != "" {
		t.Errorf("a writable cache reported read-only: %+v", cs)
	}
}
