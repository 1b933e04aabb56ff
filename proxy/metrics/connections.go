package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/gofailover/gofailover/proxy/clientlimit"
)

// connCollector reads the client connections' counts at scrape time.
type connCollector struct {
	src interface{ Stats() clientlimit.Stats }

	open, max, accepted, refused, closed, acceptErrors *prometheus.Desc
}

func newConnCollector(src interface{ Stats() clientlimit.Stats }) *connCollector {
	desc := func(name, help string, labels ...string) *prometheus.Desc {
		return prometheus.NewDesc(prometheus.BuildFQName(namespace, "", name), help, labels, nil)
	}
	return &connCollector{
		src:          src,
		open:         desc("connections_open", "Client connections open now."),
		max:          desc("connections_max", "The cap on open client connections (GOFAILOVER_MAX_CONNECTIONS)."),
		accepted:     desc("connections_accepted_total", "Client connections accepted."),
		refused:      desc("connections_refused_total", "Client connections closed at once because the cap was reached and none could be closed to make room."),
		closed:       desc("connections_closed_total", "Client connections closed by the server, by reason: evicted (to make room, while idle, before its first request, or while its body was thrown away), header_timeout, idle_timeout, body_timeout, body_too_large, write_timeout (the client did not take the answer).", "reason"),
		acceptErrors: desc("accept_errors_total", "Failed accepts of client connections (such as EMFILE, out of file descriptors), each retried."),
	}
}

// Describe sends every description.
func (c *connCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.open, c.max, c.accepted, c.refused, c.closed, c.acceptErrors} {
		ch <- d
	}
}

// Collect reads the counts and sends their metrics.
func (c *connCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.src.Stats()
	ch <- prometheus.MustNewConstMetric(c.open, prometheus.GaugeValue, float64(st.Open))
	ch <- prometheus.MustNewConstMetric(c.max, prometheus.GaugeValue, float64(st.Max))
	ch <- prometheus.MustNewConstMetric(c.accepted, prometheus.CounterValue, float64(st.Accepted))
	ch <- prometheus.MustNewConstMetric(c.refused, prometheus.CounterValue, float64(st.Refused))
	for _, r := range st.Closed.Reasons() {
		ch <- prometheus.MustNewConstMetric(c.closed, prometheus.CounterValue, float64(r.Count), r.Name)
	}
	ch <- prometheus.MustNewConstMetric(c.acceptErrors, prometheus.CounterValue, float64(st.AcceptErrors))
}
