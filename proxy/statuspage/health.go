package statuspage

import "time"

// Health is the health of an upstream or of the shared store, as its
// breaker and health window see it. Upstream and SharedStore embed it, so
// its fields sit at the top level of their JSON.
type Health struct {
	// State is "healthy", "degraded", "open", "half-open" or
	// "quarantined". While the shared store is down (open, half-open or
	// quarantined) the replica goes on alone, from its own cache and the
	// upstreams.
	State string `json:"state"`
	// Since is when it entered State.
	Since time.Time `json:"since,omitzero"`
	// EpisodeSince is when the current episode began: while it is down
	// (open, half-open or quarantined), the first failure of the outage,
	// however often its breaker tried it again since; otherwise when it
	// last came back, or when the server started.
	EpisodeSince time.Time `json:"episode_since,omitzero"`
	// Until is when, being down (open or quarantined), it is next tried;
	// zero otherwise.
	Until time.Time `json:"until,omitzero"`
	// Samples counts the outcomes in the health window. When it is zero,
	// the percentiles and ErrorRate are unknown (and so is an upstream's
	// Score).
	Samples int `json:"samples"`
	// P50 is the median over the health window, in seconds, of the time
	// to first byte for an upstream, or of the time of the store's answers
	// for the shared store. It is zero when no answer arrived in the
	// window (the window holds only failures without one), shown as
	// unknown.
	P50 float64 `json:"p50_seconds"`
	// P95 is the 95th percentile of the same times, in seconds; zero
	// when unknown, as P50.
	P95 float64 `json:"p95_seconds"`
	// P99 is the 99th percentile of the same times, in seconds; zero
	// when unknown, as P50.
	P99 float64 `json:"p99_seconds"`
	// ErrorRate is the share of failures in the health window, 0 to 1.
	ErrorRate float64 `json:"error_rate"`
	// ConsecutiveFailures counts failures since the last success.
	ConsecutiveFailures int `json:"consecutive_failures,omitempty"`
	// LastError describes the latest failure, at LastErrorAt; empty when
	// there was none.
	LastError string `json:"last_error,omitempty"`
	// LastErrorAt is when the latest failure happened; zero when there
	// was none.
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
}
