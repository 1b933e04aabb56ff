package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gofailover/gofailover/health"
)

// states are the values of the state label, in a fixed order.
func states() []health.State {
	return []health.State{health.StateHealthy, health.StateDegraded, health.StateOpen, health.StateHalfOpen, health.StateQuarantined}
}

// stateCollector reads counters and health at scrape time.
type stateCollector struct {
	src Sources

	requests, shared, attempts, hedges, hedgesWon, lookups *prometheus.Desc
	prefetches, prefetchHits, prefetchWasted               *prometheus.Desc
	cacheEntries, cacheBytes                               *prometheus.Desc
	cacheWritable, cacheFree, cacheReserve                 *prometheus.Desc
	cacheCorrupt, cacheScrubbedBytes, cacheScrubbedFiles   *prometheus.Desc
	cacheScrubPasses, cacheLastScrub, cacheUnchecked       *prometheus.Desc
	cacheExpired                                           *prometheus.Desc
	state, score, errorRatio, stale, backoff               *prometheus.Desc
	latencyP50, latencyP95, latencyP99                     *prometheus.Desc
	alerts                                                 *prometheus.Desc
}

func newStateCollector(src Sources) *stateCollector {
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(namespace, "", name), help, labels, nil)
	}
	return &stateCollector{
		src:            src,
		requests:       desc("requests_total", "Requests answered on the module proxy and checksum-database paths, by kind (list, info, mod, zip, latest, sumdb, invalid), status class and cache result (hit, miss, stale, none).", "kind", "status_class", "cache"),
		shared:         desc("fetches_shared_total", "Requests whose upstream fetch was shared with concurrent requests for the same answer (singleflight)."),
		attempts:       desc("upstream_attempts_total", "Upstream requests made to fetch answers, hedges included."),
		hedges:         desc("hedges_total", "Hedged upstream requests: sent because an earlier attempt had not started answering within its hedge delay."),
		hedgesWon:      desc("hedges_won_total", "Hedged upstream requests that served the answer."),
		prefetches:     desc("prefetches_total", "Answers fetched ahead of the go command, by result: fetched, failed (no answer: it does not exist, no request slot to spare, every upstream failed), dropped (not made: the queue was full or users had gone quiet).", "result"),
		prefetchHits:   desc("prefetch_hits_total", "Prefetched answers that a user's request then asked for."),
		prefetchWasted: desc("prefetch_wasted_total", "Prefetched answers that no user's request asked for within 10 minutes."),
		lookups:        desc("sumdb_lookups_total", "Checksum-database lookups, by result (found, not_found, unavailable).", "result"),
		cacheEntries:   desc("cache_entries", "Answers in the cache."),
		cacheBytes:     desc("cache_bytes", "Bytes of the answers in the cache."),
		state:          desc("upstream_state", "1 for the upstream's current state (healthy, degraded, open, half-open, quarantined), 0 for the others.", "pool", "upstream", "state"),
		score:          desc("upstream_score_seconds", "The upstream's routing score: expected cost of one attempt, lower is better (absent when nothing is known).", "pool", "upstream"),
		latencyP50:     desc("upstream_latency_p50_seconds", "The median of the upstream's time to first byte over the health window (absent when the window holds no response: the latency of a dead upstream is unknown, not 0).", "pool", "upstream"),
		latencyP95:     desc("upstream_latency_p95_seconds", "The 95th percentile of the upstream's time to first byte over the health window (absent when the window holds no response).", "pool", "upstream"),
		latencyP99:     desc("upstream_latency_p99_seconds", "The 99th percentile of the upstream's time to first byte over the health window (absent when the window holds no response).", "pool", "upstream"),
		errorRatio:     desc("upstream_error_ratio", "The upstream's share of failed requests over the health window (absent when the window holds no request).", "pool", "upstream"),
		stale:          desc("upstream_stale", "1 when the upstream's list of the probe module lacks versions another upstream lists.", "pool", "upstream"),
		backoff:        desc("upstream_breaker_backoff_seconds", "Length of the upstream's current or last circuit-breaker opening; 0 once it has closed.", "pool", "upstream"),
		alerts:         desc("alerts_firing", "Firing alerts, by severity.", "severity"),

		cacheCorrupt:       desc("cache_corrupt_blobs_total", "Cached files found not to hash to their names (by the scrub, a first read or a commit of the same content): each was removed or replaced, never served, and its answers dropped."),
		cacheScrubbedBytes: desc("cache_scrubbed_bytes_total", "Bytes of cached files the background scrub has re-hashed."),
		cacheScrubbedFiles: desc("cache_scrubbed_files_total", "Cached files the background scrub has re-hashed."),
		cacheScrubPasses:   desc("cache_scrub_passes_total", "Complete passes of the background scrub over every cached file."),
		cacheLastScrub:     desc("cache_last_scrub_timestamp_seconds", "When the last complete scrub pass ended, in Unix seconds (absent if none has)."),
		cacheUnchecked:     desc("cache_unchecked_blobs", "Cached files not hashed since the cache was opened; each is hashed on its first read."),
		cacheExpired:       desc("cache_expired_entries_total", "Answers deleted because they were past their age: remembered \"not found\" answers and mutable answers."),

		cacheWritable: desc("cache_writable", "1 while the cache stores new answers; 0 while it is read-only because its disk has less free space than the reserve (answers are then served without being stored, and zips get 503)."),
		cacheFree:     desc("cache_free_bytes", "Free space on the cache's file system at the last measurement (absent where it is not measured)."),
		cacheReserve:  desc("cache_reserve_bytes", "Free space the cache leaves on its file system: below it the cache is read-only (absent where free space is not measured)."),
	}
}

// Describe sends every description.
func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.requests, c.shared, c.attempts, c.hedges, c.hedgesWon, c.lookups,
		c.prefetches, c.prefetchHits, c.prefetchWasted,
		c.cacheEntries, c.cacheBytes, c.cacheWritable, c.cacheFree, c.cacheReserve,
		c.cacheCorrupt, c.cacheScrubbedBytes, c.cacheScrubbedFiles, c.cacheScrubPasses, c.cacheLastScrub, c.cacheUnchecked, c.cacheExpired,
		c.state, c.score, c.latencyP50, c.latencyP95, c.latencyP99, c.errorRatio, c.stale, c.backoff, c.alerts,
	} {
		ch <- d
	}
}

// Collect reads the sources and sends their metrics.
func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	if h := c.src.Handler; h != nil {
		st := h.Stats()
		for _, r := range st.Requests {
			counter(c.requests, r.Count, r.Kind, r.Class, r.Cache)
		}
		counter(c.shared, st.SharedFetches)
		counter(c.attempts, st.UpstreamAttempts)
		counter(c.hedges, st.Hedges)
		counter(c.hedgesWon, st.HedgesWon)
		counter(c.lookups, st.Lookups.Found, "found")
		counter(c.lookups, st.Lookups.NotFound, "not_found")
		counter(c.lookups, st.Lookups.Unavailable, "unavailable")
		counter(c.prefetches, st.Prefetch.Fetched, "fetched")
		counter(c.prefetches, st.Prefetch.Failed, "failed")
		counter(c.prefetches, st.Prefetch.Dropped, "dropped")
		counter(c.prefetchHits, st.Prefetch.Hits)
		counter(c.prefetchWasted, st.Prefetch.Wasted)
	}
	if s := c.src.Store; s != nil {
		st := s.Stats()
		gauge(c.cacheEntries, float64(st.Entries))
		gauge(c.cacheBytes, float64(st.Bytes))
		writable := 0.0
		if st.Writable {
			writable = 1
		}
		gauge(c.cacheWritable, writable)
		if st.ReserveBytes > 0 {
			gauge(c.cacheFree, float64(st.FreeBytes))
			gauge(c.cacheReserve, float64(st.ReserveBytes))
		}
		counter(c.cacheCorrupt, uint64(max(st.CorruptBlobs, 0)))
		counter(c.cacheScrubbedBytes, uint64(max(st.ScrubbedBytes, 0)))
		counter(c.cacheScrubbedFiles, uint64(max(st.ScrubbedFiles, 0)))
		counter(c.cacheScrubPasses, uint64(max(st.ScrubPasses, 0)))
		if !st.LastScrubAt.IsZero() {
			gauge(c.cacheLastScrub, float64(st.LastScrubAt.UnixNano())/1e9)
		}
		gauge(c.cacheUnchecked, float64(st.UncheckedBlobs))
		counter(c.cacheExpired, uint64(max(st.ExpiredEntries, 0)))
	}
	for _, p := range c.src.Pools {
		for _, s := range p.Pool.Snapshot() {
			up := s.Upstream.Name
			for _, st := range states() {
				v := 0.0
				if s.State == st {
					v = 1
				}
				gauge(c.state, v, p.Name, up, string(st))
			}
			if s.ScoreKnown {
				gauge(c.score, s.Score.Seconds(), p.Name, up)
			}
			// Unknown is absent, never 0: percentiles are zero when the
			// window holds no time to first byte (nothing answered, as
			// with a dead upstream), and the error ratio is meaningless
			// when it holds no outcome at all.
			if s.Samples > 0 && s.P99 > 0 {
				gauge(c.latencyP50, s.P50.Seconds(), p.Name, up)
				gauge(c.latencyP95, s.P95.Seconds(), p.Name, up)
				gauge(c.latencyP99, s.P99.Seconds(), p.Name, up)
			}
			if s.Samples > 0 {
				gauge(c.errorRatio, s.ErrorRate, p.Name, up)
			}
			stale := 0.0
			if len(s.Stale) > 0 {
				stale = 1
			}
			gauge(c.stale, stale, p.Name, up)
			gauge(c.backoff, s.Backoff.Seconds(), p.Name, up)
		}
	}
	if f := c.src.FiringAlerts; f != nil {
		firing := f()
		for _, sev := range []string{"P0", "P1", "P2"} {
			gauge(c.alerts, float64(firing[sev]), sev)
		}
	}
}
