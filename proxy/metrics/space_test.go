package metrics_test

import (
	"testing"

	"github.com/gofailover/gofailover/cache"
	"github.com/gofailover/gofailover/proxy/metrics"
)

// storeSpace is a store whose Stats are given.
type storeSpace cache.Stats

func (s storeSpace) Stats() cache.Stats { return cache.Stats(s) }

// TestCacheWritableMetric: gofailover_cache_writable is 1 while the cache
// stores and 0 while its disk is full; the free space and the reserve
// show where they are measured.
func TestCacheWritableMetric(t *testing.T) {
	for _, tc := range []struct {
		name     string
		stats    cache.Stats
		writable float64
		measured bool
	}{
		{"writable", cache.Stats{Writable: true, FreeBytes: 5 << 30, ReserveBytes: 1 << 30}, 1, true},
		{"read-only", cache.Stats{ReadOnly: "disk full: 12.0 MiB free, reserve 1.0 GiB", FreeBytes: 12 << 20, ReserveBytes: 1 << 30}, 0, true},
		{"not measured", cache.Stats{Writable: true}, 1, false},
	} {
		reg := metrics.NewRegistry(metrics.Sources{Store: storeSpace(tc.stats)})
		if got, ok := value(t, reg, "gofailover_cache_writable", nil); !ok || got != tc.writable {
			t.Errorf("%s: gofailover_cache_writable = %v (present %v), want %v", tc.name, got, ok, tc.writable)
		}
		free, ok := value(t, reg, "gofailover_cache_free_bytes", nil)
		reserve, _ := value(t, reg, "gofailover_cache_reserve_bytes", nil)
		switch {
		case ok != tc.measured:
			t.Errorf("%s: gofailover_cache_free_bytes present %v, want %v", tc.name, ok, tc.measured)
		case ok && (free != float64(tc.stats.FreeBytes) || reserve != float64(tc.stats.ReserveBytes)):
			t.Errorf("%s: free %v, reserve %v; want %d, %d", tc.name, free, reserve, tc.stats.FreeBytes, tc.stats.ReserveBytes)
		}
	}
}
