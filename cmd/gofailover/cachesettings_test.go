package main

import (
	"strings"
	"testing"
	"time"
)

// TestCacheUpkeepSettings: the scrub and expiry settings' defaults, how
// a zero scrub rate turns the scrub off in the cache's terms, and their
// bad values named in one line.
func TestCacheUpkeepSettings(t *testing.T) {
	cfg, err := load(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.scrubRate() != 8<<20 || cfg.ScrubInterval != 24*time.Hour || cfg.CacheKeepStale != 7*24*time.Hour {
		t.Errorf("defaults: scrub rate %d, interval %v, keep stale %v", cfg.scrubRate(), cfg.ScrubInterval, cfg.CacheKeepStale)
	}
	cfg, err = load(t, []string{"--scrub-rate=0", "--cache-keep-stale=0"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.scrubRate() >= 0 || cfg.CacheKeepStale != 0 {
		t.Errorf("scrub rate 0 gives cache.Options.ScrubRate %d, want negative (off)", cfg.scrubRate())
	}
	for _, c := range []struct{ env, want string }{
		{"GOFAILOVER_SCRUB_INTERVAL=0", "GOFAILOVER_SCRUB_INTERVAL: must be a positive duration"},
		{"GOFAILOVER_CACHE_KEEP_STALE=-1h", "GOFAILOVER_CACHE_KEEP_STALE: must not be negative"},
		{"GOFAILOVER_SCRUB_RATE=-1MiB", "GOFAILOVER_SCRUB_RATE: invalid value"},
	} {
		cfg, err := load(t, nil, "GOFAILOVER_UPSTREAMS=http://ok.test", "GOFAILOVER_CACHE_DIR="+t.TempDir(), c.env)
		if err == nil {
			err = cfg.validate(fakeGoEnv("", ""))
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error containing %q", c.env, err, c.want)
		}
	}
}
