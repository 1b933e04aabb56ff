package main

import (
	"testing"
	"time"

	"github.com/gofailover/gofailover/proxy/mirrortest"
)

// TestGoCommandThroughFaultyFirstUpstream drives the real go command
// through gofailover while its preferred upstream misbehaves in each way a
// mirror can, the second being healthy: every download succeeds, verified.
func TestGoCommandThroughFaultyFirstUpstream(t *testing.T) {
	faults := []struct {
		name  string
		fault mirrortest.Fault
		dead  bool
	}{
		{"healthy", mirrortest.Healthy(), false},
		{"dead", mirrortest.Healthy(), true},
		{"blackhole", mirrortest.Blackhole(), false},
		{"slow", mirrortest.Slow(300 * time.Millisecond), false},
		{"flaky", mirrortest.Status(503).Times(6), false},
		{"rate-limited", mirrortest.RateLimited(time.Minute), false},
		{"reset mid-body", mirrortest.ResetMidBody().OnSuffix(".zip"), false},
		{"truncated", mirrortest.Truncate().OnSuffix(".zip"), false},
		{"stale list", mirrortest.StaleList(), false},
	}
	for _, tt := range faults {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mods, db := fixtures(t)
			bad := mirrortest.NewMirror(db, mods...)
			good := mirrortest.NewMirror(db, mods...)
			defer bad.Close()
			defer good.Close()
			bad.SetFault(tt.fault)
			if tt.dead {
				bad.Close()
			}
			url := startServer(t, t.TempDir(), db, []string{bad.URL(), good.URL()},
				"GOFAILOVER_FIRST_BYTE_TIMEOUT=1s", "GOFAILOVER_HEDGE_CEILING=200ms", "GOFAILOVER_IDLE_TIMEOUT=2s")
			goDownloadAndGet(t, url, db, mods)
		})
	}
}
