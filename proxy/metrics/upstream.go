package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gofailover/gofailover/health"
)

// sources are the values of the source label.
var sources = []string{"request", "probe"}

// failureKinds are the values of the failure label of a failed request, in
// the order of health's FailureKind constants. Their series exist, at 0,
// from the start; a kind missing here is still counted, from its first
// occurrence.
var failureKinds = []health.FailureKind{
	health.FailRefused, health.FailDNS, health.FailTLS, health.FailTimeout,
	health.FailReset, health.FailStatus5xx, health.FailRateLimit, health.FailAuth,
	health.FailBadStatus, health.FailRedirect, health.FailBadBody, health.FailSlowBody,
	health.FailBadContent, health.FailTooLarge, health.FailOther,
}

// UpstreamObserver counts the requests of one pool's upstreams, users' and
// probes', by outcome and failure kind, and keeps histograms of their time
// to first byte. It is a health.Observer and a prometheus.Collector.
type UpstreamObserver struct {
	requests     *prometheus.CounterVec
	firstByte    *prometheus.HistogramVec
	verification *prometheus.CounterVec
}

// NewUpstreamObserver returns an observer whose metrics carry the pool
// label pool. The series of each of ups exist from the start, at 0: every
// source, outcome and failure kind of the requests counter, the first-byte
// histogram of each source, and the verification failures; so a rate over
// them is 0, not absent, until something happens, and the first increment
// is not lost.
func NewUpstreamObserver(pool string, ups ...*health.Upstream) *UpstreamObserver {
	constant := prometheus.Labels{"pool": pool}
	m := &UpstreamObserver{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace:   namespace,
			Name:        "upstream_requests_total",
			Help:        "Requests to upstreams, by upstream, source (request: for a user; probe: active health probe), outcome (success, failure, or abandoned: given up before an answer because another upstream answered first or it took longer than it was given) and failure kind.",
			ConstLabels: constant,
		}, []string{"upstream", "source", "outcome", "failure"}),
		firstByte: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace:   namespace,
			Name:        "upstream_first_byte_seconds",
			Help:        "Time from sending a request to an upstream to its response header, by upstream and source.",
			ConstLabels: constant,
			Buckets:     prometheus.ExponentialBucketsRange(0.002, 30, 15),
		}, []string{"upstream", "source"}),
		verification: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace:   namespace,
			Name:        "verification_failures_total",
			Help:        "Module files or checksum-database content from an upstream that failed checksum verification.",
			ConstLabels: constant,
		}, []string{"upstream"}),
	}
	for _, u := range ups {
		for _, source := range sources {
			m.requests.WithLabelValues(u.Name, source, "success", "none")
			m.requests.WithLabelValues(u.Name, source, "abandoned", "none")
			for _, kind := range failureKinds {
				m.requests.WithLabelValues(u.Name, source, "failure", string(kind))
			}
			m.firstByte.WithLabelValues(u.Name, source)
		}
		m.verification.WithLabelValues(u.Name)
	}
	return m
}

// Observe counts one outcome of a request to u.
func (m *UpstreamObserver) Observe(u *health.Upstream, o health.Outcome) {
	source := "request"
	if o.Probe {
		source = "probe"
	}
	outcome, failure := "success", "none"
	switch {
	case o.Failure != health.FailNone:
		outcome, failure = "failure", string(o.Failure)
	case o.Abandoned:
		outcome = "abandoned"
	}
	m.requests.WithLabelValues(u.Name, source, outcome, failure).Inc()
	if o.FirstByte > 0 && !o.Abandoned { // an abandoned one's is a lower bound
		m.firstByte.WithLabelValues(u.Name, source).Observe(o.FirstByte.Seconds())
	}
	if o.Failure == health.FailBadContent {
		m.verification.WithLabelValues(u.Name).Inc()
	}
}

// Describe sends the observer's metric descriptions.
func (m *UpstreamObserver) Describe(ch chan<- *prometheus.Desc) {
	m.requests.Describe(ch)
	m.firstByte.Describe(ch)
	m.verification.Describe(ch)
}

// Collect sends the observer's metrics.
func (m *UpstreamObserver) Collect(ch chan<- prometheus.Metric) {
	m.requests.Collect(ch)
	m.firstByte.Collect(ch)
	m.verification.Collect(ch)
}
