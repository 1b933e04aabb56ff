package history

import (
	"time"

	"github.com/gofailover/gofailover/health"
)

// Point is one upstream's health over one interval of a tier: the
// snapshots taken in it, aggregated.
//
// A fine point normally aggregates one snapshot. A coarse point aggregates
// every snapshot of its interval: P50 and ErrorRate are their means (so that
// a typical latency and a typical failure share show), P95 and P99 their
// maxima (so that a short burst of slowness stays visible), the counters
// their sums, and State the worst state seen.
type Point struct {
	// At is when the interval starts; it lasts one step of its tier.
	At time.Time
	// Empty marks a gap: no snapshot of the upstream was taken in the
	// interval (gofailover was down, or the upstream not configured). The
	// other fields are then zero.
	Empty bool
	// Samples is the number of snapshots aggregated.
	Samples int
	// P50, P95 and P99 are the pool's percentiles of time to first byte
	// over its window, to the microsecond; zero when the window held no
	// latency in any snapshot.
	P50, P95, P99 time.Duration
	// ErrorRate is the pool's share of failures among the outcomes in its
	// window, averaged over the snapshots whose window held any outcome.
	ErrorRate float64
	// Requests and Failures count users' requests to the upstream, and of
	// them the failed ones, reported to the pool during the interval.
	Requests, Failures uint64
	// Probes and ProbeFailures count active probe requests, and of them
	// the failed ones, during the interval.
	Probes, ProbeFailures uint64
	// State is the worst state seen, in the order healthy, degraded,
	// half-open, open, quarantined; empty when the pool showed a state
	// this package does not know.
	State health.State
}
