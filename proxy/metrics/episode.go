package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

// EpisodeCollector exports when each upstream's current episode began
// (health.Status.EpisodeSince): the first failure of its outage while it
// is down, when it came back otherwise. It reads the pools' snapshots at
// scrape time.
type EpisodeCollector struct {
	pools []Pool
	since *prometheus.Desc
}

// NewEpisodeCollector returns the collector of the episodes of pools'
// upstreams.
func NewEpisodeCollector(pools []Pool) *EpisodeCollector {
	return &EpisodeCollector{
		pools: pools,
		since: prometheus.NewDesc(prometheus.BuildFQName(namespace, "", "upstream_state_since_timestamp_seconds"),
			"When the upstream's current episode began, in Unix seconds: while it is down (open, half-open or quarantined), the first failure of the outage, however often its breaker tried it again since; otherwise when it last came back, or when the server started.",
			[]string{"pool", "upstream"}, nil),
	}
}

// Describe sends the collector's one descriptor.
func (c *EpisodeCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.since }

// Collect sends the episode start of every upstream of every pool.
func (c *EpisodeCollector) Collect(ch chan<- prometheus.Metric) {
	for _, p := range c.pools {
		if p.Pool == nil {
			continue
		}
		for _, st := range p.Pool.Snapshot() {
			if st.Upstream == nil || st.EpisodeSince.IsZero() {
				continue
			}
			ch <- prometheus.MustNewConstMetric(c.since, prometheus.GaugeValue,
				float64(st.EpisodeSince.UnixNano())/1e9, p.Name, st.Upstream.Name)
		}
	}
}
