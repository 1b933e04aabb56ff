package statuspage

import (
	"context"
	"time"
)

// Report is everything the status page shows at one instant; /status.json is
// its JSON encoding. Times are shown in the location of GeneratedAt.
type Report struct {
	// GeneratedAt is when the report was made; "for 5m" and uptime are
	// measured from it. The handler sets it to the current time when zero.
	GeneratedAt time.Time `json:"generated_at,omitzero"`
	// Version is the server's version, StartedAt when it started.
	Version   string    `json:"version,omitempty"`
	StartedAt time.Time `json:"started_at,omitzero"`
	// Verification says whether downloads are checked against a checksum
	// database.
	Verification Verification `json:"verification"`
	// Upstreams are the mirrors, in the user's order.
	Upstreams []Upstream `json:"upstreams"`
	// Ranges are the plotted time ranges, such as the last hour and the
	// last day, each with a series per upstream.
	Ranges []Range `json:"ranges"`
	// Alerts are firing, pending and recently resolved alerts; the page
	// shows them in that order.
	Alerts []Alert `json:"alerts"`
	// Cache describes the local cache.
	Cache CacheStats `json:"cache"`
	// Clients counts the answers given to clients; nil when not known.
	Clients *ClientStats `json:"clients,omitempty"`
	// SharedStore is the shared object store the replicas share; nil
	// (absent from the JSON) when none is configured.
	SharedStore *SharedStore `json:"shared_store,omitempty"`
}

// Verification is whether the server verifies what it serves against a
// checksum database, and which one.
type Verification struct {
	// Enabled is false when verification is off.
	Enabled bool `json:"enabled"`
	// Database names the checksum database, such as sum.example.org.
	Database string `json:"database,omitempty"`
}

// Upstream is one mirror's row on the page.
type Upstream struct {
	// Name identifies the mirror: its URL without credentials.
	Name string `json:"name"`
	// Preferred marks the user's preferred upstream: the first configured.
	Preferred bool `json:"preferred,omitempty"`
	// Private marks an upstream for private modules only; Preferred is
	// then the first of those.
	Private bool `json:"private,omitempty"`
	// Health is the upstream's health: its state, latency and errors
	// over the health window.
	Health
	// Score is the expected cost of one attempt, in seconds; lower is
	// better. It is unknown when Samples is zero.
	Score float64 `json:"score_seconds"`
	// Why says what, besides failures, ranks the upstream behind its
	// peers: its list of the probe module is stale, or it says "not found"
	// for what another upstream serves (misconfigured or stale). Empty
	// when nothing does.
	Why string `json:"why,omitempty"`
	// TrafficShare is the upstream's share of the requests sent to
	// upstreams over the health window, 0 to 1.
	TrafficShare float64 `json:"traffic_share"`
	// Requests and Failures count users' requests sent to the upstream,
	// and those that failed, since the server started.
	Requests uint64 `json:"requests"`
	Failures uint64 `json:"failures"`
	// Probes and ProbeFailures count the health probes sent to the
	// upstream, and those that failed, since the server started.
	Probes        uint64 `json:"probes"`
	ProbeFailures uint64 `json:"probe_failures"`
}

// Range is one plotted stretch of time, with a series per upstream.
type Range struct {
	// Name labels the range, such as "last hour".
	Name string `json:"name"`
	// From and To bound the time axis.
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Step is the time between points, in seconds. When set, points
	// further apart than one and a half steps are not joined by a line.
	Step float64 `json:"step_seconds,omitempty"`
	// Series holds one series per upstream.
	Series []Series `json:"series"`
}

// Series is one upstream's history over a Range.
type Series struct {
	// Upstream is the Name of the upstream described.
	Upstream string `json:"upstream"`
	// Points are in time order.
	Points []Point `json:"points"`
}

// Point is an upstream's health over one step of a Range.
type Point struct {
	// T is the end of the step.
	T time.Time `json:"t"`
	// P50, P95 and P99 are percentiles of the time to first byte, in
	// seconds. LatencyMissing means they are unknown (0 here, never to be
	// read as 0): nothing answered in the step, as when the upstream was
	// dead. Plots leave a gap.
	P50            float64 `json:"p50_seconds"`
	P95            float64 `json:"p95_seconds"`
	P99            float64 `json:"p99_seconds"`
	LatencyMissing bool    `json:"latency_missing,omitempty"`
	// ErrorRate is the share of failures, 0 to 1. ErrorRateMissing means
	// it is unknown (0 here): nothing was tried in the step. Plots leave
	// a gap.
	ErrorRate        float64 `json:"error_rate"`
	ErrorRateMissing bool    `json:"error_rate_missing,omitempty"`
	// TrafficShare is the upstream's share of upstream requests, 0 to 1.
	// TrafficMissing means no upstream got a request in the step, so
	// there is no share to speak of (0 here). Plots leave a gap.
	TrafficShare   float64 `json:"traffic_share"`
	TrafficMissing bool    `json:"traffic_missing,omitempty"`
	// State is the worst state the upstream was in during the step, as
	// Upstream.State; empty when not known.
	State string `json:"state,omitempty"`
	// Missing means nothing is known of this step: plots leave a gap.
	Missing bool `json:"missing,omitempty"`
}

// Alert is one alert, firing, pending or resolved.
type Alert struct {
	// Rule names the alerting rule; Upstream names the upstream it is
	// about, empty when it is about the server.
	Rule     string `json:"rule"`
	Upstream string `json:"upstream,omitempty"`
	// Severity is "P0" (users are failing now), "P1" or "P2".
	Severity string `json:"severity"`
	// State is "firing", "pending" or "resolved".
	State string `json:"state"`
	// Since is when the condition began; FiredAt when the alert fired
	// and ResolvedAt when it resolved, zero if it has not.
	Since      time.Time `json:"since,omitzero"`
	FiredAt    time.Time `json:"fired_at,omitzero"`
	ResolvedAt time.Time `json:"resolved_at,omitzero"`
	// Value is the measured value that crossed Threshold, in Unit:
	// "seconds", "ratio" (0 to 1, shown as a percentage) or empty for a
	// plain number.
	Value     float64 `json:"value"`
	Threshold float64 `json:"threshold"`
	Unit      string  `json:"unit,omitempty"`
	// Summary says in one line what is wrong.
	Summary string `json:"summary,omitempty"`
}

// CacheStats describes the local cache.
type CacheStats struct {
	// Entries counts the cached answers; Bytes is the sum of their sizes.
	Entries int64 `json:"entries"`
	Bytes   int64 `json:"bytes"`
	// Hits, Misses and Stale count answers served from the cache, fetched
	// upstream, and served stale because every upstream failed.
	Hits   uint64 `json:"hits"`
	Misses uint64 `json:"misses"`
	Stale  uint64 `json:"stale"`
	// HitRatio is the share of answers served from the cache, 0 to 1.
	HitRatio float64 `json:"hit_ratio"`
	// ReadOnly, when not empty, says why the cache stores no new answers
	// ("disk full: 12.0 MiB free, reserve 1.0 GiB"): it still serves what
	// it holds, new answers are served without being stored, and zips get
	// 503.
	ReadOnly string `json:"read_only,omitempty"`
	// FreeBytes is the free space on the cache's disk, and ReserveBytes the
	// free space the cache leaves there; both zero where not measured.
	FreeBytes    int64 `json:"free_bytes,omitempty"`
	ReserveBytes int64 `json:"reserve_bytes,omitempty"`
	// CorruptBlobs counts the cached files found, since the server
	// started, not to hash to their names: each was removed (or replaced
	// by an honest copy) without being served.
	CorruptBlobs int64 `json:"corrupt_blobs,omitempty"`
	// LastScrubAt is when the background scrub last finished re-hashing
	// every cached file; zero if it never has.
	LastScrubAt time.Time `json:"last_scrub_at,omitzero"`
	// SetAside is where a damaged cache index was moved at start-up (a
	// fresh one took its place), if it was.
	SetAside string `json:"set_aside,omitempty"`
	// Prefetched counts the answers fetched ahead of the go command;
	// PrefetchHits those a user's request then asked for, PrefetchWasted
	// those none asked for within 10 minutes; PrefetchHitRatio is hits
	// over prefetched, 0 to 1. All zero when prefetching is off.
	Prefetched       uint64  `json:"prefetched,omitempty"`
	PrefetchHits     uint64  `json:"prefetch_hits,omitempty"`
	PrefetchWasted   uint64  `json:"prefetch_wasted,omitempty"`
	PrefetchHitRatio float64 `json:"prefetch_hit_ratio,omitempty"`
}

// ClientStats counts the answers the server gave its clients since it
// started.
type ClientStats struct {
	// Requests counts the answers given.
	Requests uint64 `json:"requests"`
	// Failed counts the 5xx answers: no upstream answered and nothing
	// usable was cached. These are the users who got hurt.
	Failed uint64 `json:"failed"`
}

// Source produces the Report for each request to the page.
type Source interface {
	Report(ctx context.Context) (Report, error)
}

// SourceFunc adapts a function to Source.
type SourceFunc func(ctx context.Context) (Report, error)

// Report calls f.
func (f SourceFunc) Report(ctx context.Context) (Report, error) { return f(ctx) }
