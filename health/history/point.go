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
	// over its window, to the microsecond, when HasLatency is set. When it
	// is not, no snapshot's window held a latency (the upstream answered
	// nothing, as a dead mirror does): the latency is unknown, not zero.
	P50, P95, P99 time.Duration
	HasLatency    bool
	// ErrorRate is the pool's share of failures among the outcomes in its
	// window, averaged over the snapshots whose window held any outcome,
	// when HasErrorRate is set. When it is not, no snapshot's window held
	// an outcome, as just after a breaker turned half-open and emptied it:
	// the rate is unknown, not zero (Failures and ProbeFailures still
	// count what failed in the interval).
	ErrorRate    float64
	HasErrorRate bool
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
