package metrics_test

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/gofailover/gofailover/cache"
	"github.com/gofailover/gofailover/proxy/metrics"
)

// fixedStats is a store whose Stats are given.
type fixedStats cache.Stats

func (f fixedStats) Stats() cache.Stats { return cache.Stats(f) }

// TestCacheUpkeepMetrics: what the cache's scrub, checks and expiry found
// shows at scrape time, under names promlint accepts; the last scrub's
// time is absent until a pass has ended.
func TestCacheUpkeepMetrics(t *testing.T) {
	last := time.Unix(1700000000, 500e6)
	reg := metrics.NewRegistry(metrics.Sources{Store: fixedStats{
		Entries: 3, Bytes: 100, CorruptBlobs: 2, ScrubbedBytes: 1 << 20, ScrubbedFiles: 7,
		ScrubPasses: 1, LastScrubAt: last, UncheckedBlobs: 4, ExpiredEntries: 9,
	}})
	for name, want := range map[string]float64{
		"gofailover_cache_corrupt_blobs_total":          2,
		"gofailover_cache_scrubbed_bytes_total":         1 << 20,
		"gofailover_cache_scrubbed_files_total":         7,
		"gofailover_cache_scrub_passes_total":           1,
		"gofailover_cache_last_scrub_timestamp_seconds": 1700000000.5,
		"gofailover_cache_unchecked_blobs":              4,
		"gofailover_cache_expired_entries_total":        9,
	} {
		if got, ok := value(t, reg, name, nil); !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", name, got, ok, want)
		}
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	problems, err := promlint.NewWithMetricFamilies(families).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "gofailover_cache_") {
			t.Errorf("promlint: %s: %s", p.Metric, p.Text)
		}
	}

	reg = metrics.NewRegistry(metrics.Sources{Store: fixedStats{}})
	if _, ok := value(t, reg, "gofailover_cache_last_scrub_timestamp_seconds", nil); ok {
		t.Error("a last scrub time before any pass")
	}
}
