package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gofailover/gofailover/proxy/sharedtier"
)

// SharedStore is the shared object store that a fleet of replicas uses as
// a second cache tier; *sharedtier.Tier is one.
type SharedStore interface {
	// Name identifies the store, such as its s3:// URL, without
	// credentials: the value of the store label.
	Name() string
	// Stats returns what the tier has done and how the store stands.
	Stats() sharedtier.Stats
}

// sharedCollector exports the shared store's health and counts, read
// from its tier at scrape time. Its latency is the percentiles of the
// store's health window, as for an upstream: gauges, one per percentile,
// absent while the window holds no answer.
type sharedCollector struct {
	src SharedStore

	up, state, since                   *prometheus.Desc
	latencyP50, latencyP95, latencyP99 *prometheus.Desc
	errorRatio                         *prometheus.Desc
	requests, uploads                  *prometheus.Desc
	readBytes, writtenBytes, corrupt   *prometheus.Desc
	queue                              *prometheus.Desc
}

func newSharedCollector(src SharedStore) *sharedCollector {
	constant := prometheus.Labels{"store": src.Name()}
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(namespace, "shared_store", name), help, labels, constant)
	}
	return &sharedCollector{
		src:          src,
		up:           desc("up", "1 while the shared object store's breaker lets calls through (healthy or degraded), 0 while it is down (open, half-open or quarantined): the replica then goes on alone, from its own cache and the upstreams."),
		state:        desc("state", "1 for the shared store's current state (healthy, degraded, open, half-open, quarantined), 0 for the others.", "state"),
		since:        desc("state_since_timestamp_seconds", "When the shared store's current episode began, in Unix seconds: while it is down, the first failure of the outage; otherwise when it last came back, or when the server started."),
		latencyP50:   desc("latency_p50_seconds", "The median time of the shared store's answers over its health window (absent when the window holds no answer)."),
		latencyP95:   desc("latency_p95_seconds", "The 95th percentile of the time of the shared store's answers over its health window (absent when the window holds no answer)."),
		latencyP99:   desc("latency_p99_seconds", "The 99th percentile of the time of the shared store's answers over its health window (absent when the window holds no answer)."),
		errorRatio:   desc("error_ratio", "The shared store's share of failed calls over its health window (absent when the window holds no call)."),
		requests:     desc("requests_total", "Calls to the shared store, by result: hit (a read found an object), miss (a read found none), error (a call, or the read of a body, failed), bypassed (not made because the store was down), abandoned (a read given up because the store was slower than the mirrors).", "result"),
		uploads:      desc("uploads_total", "Verified answers offered to the shared store, by result: uploaded, present (already stored, by another replica or earlier), failed (given up after retries), dropped (refused by a full upload queue).", "result"),
		readBytes:    desc("read_bytes_total", "Body bytes read from the shared store."),
		writtenBytes: desc("written_bytes_total", "Body bytes uploaded to the shared store."),
		corrupt:      desc("corrupt_objects_total", "Objects of the shared store that failed the checks or checksum verification, or held other bytes than a verified answer: each was deleted, never served."),
		queue:        desc("upload_queue", "Uploads to the shared store waiting or running."),
	}
}

// Describe sends every description.
func (c *sharedCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.up, c.state, c.since, c.latencyP50, c.latencyP95, c.latencyP99, c.errorRatio,
		c.requests, c.uploads, c.readBytes, c.writtenBytes, c.corrupt, c.queue,
	} {
		ch <- d
	}
}

// Collect reads the tier's stats once and sends its metrics.
func (c *sharedCollector) Collect(ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, v int64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(max(v, 0)), labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	st := c.src.Stats()
	h := st.Health
	up := 1.0
	if h.State.Down() {
		up = 0
	}
	gauge(c.up, up)
	for _, s := range states() {
		v := 0.0
		if h.State == s {
			v = 1
		}
		gauge(c.state, v, string(s))
	}
	if !h.EpisodeSince.IsZero() {
		gauge(c.since, float64(h.EpisodeSince.UnixNano())/1e9)
	}
	// Unknown is absent, never 0, as for the upstreams.
	if h.Samples > 0 && h.P99 > 0 {
		gauge(c.latencyP50, h.P50.Seconds())
		gauge(c.latencyP95, h.P95.Seconds())
		gauge(c.latencyP99, h.P99.Seconds())
	}
	if h.Samples > 0 {
		gauge(c.errorRatio, h.ErrorRate)
	}
	counter(c.requests, st.Hits, "hit")
	counter(c.requests, st.Misses, "miss")
	counter(c.requests, st.Errors, "error")
	counter(c.requests, st.Bypassed, "bypassed")
	counter(c.requests, st.Abandoned, "abandoned")
	counter(c.uploads, st.Uploaded, "uploaded")
	counter(c.uploads, st.Present, "present")
	counter(c.uploads, st.Failed, "failed")
	counter(c.uploads, st.Dropped, "dropped")
	counter(c.readBytes, st.BytesRead)
	counter(c.writtenBytes, st.BytesWritten)
	counter(c.corrupt, st.Corrupt)
	gauge(c.queue, float64(st.Queue))
}
