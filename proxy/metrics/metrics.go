// Package metrics exports gofailover's state to Prometheus, in a registry
// of its own: the handler's request counts, what every upstream request
// and probe showed, each upstream's health as the pool sees it, the cache's
// size, the client connections, the shared object store's health and
// counts when there is one, and the Go runtime and process.
//
// Nothing here sits on the serving path. The handler and the cache keep
// atomic counters, and the pools their health state, which a Collector
// reads at scrape time; only upstream requests, which take milliseconds
// anyway, are observed as they happen (UpstreamObserver).
//
// Label sets are bounded: upstreams are the configured ones, and kinds,
// classes, results and failure kinds are fixed lists. No module path is
// ever a label.
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/gofailover/gofailover/cache"
	"github.com/gofailover/gofailover/health"
	"github.com/gofailover/gofailover/proxy"
	"github.com/gofailover/gofailover/proxy/clientlimit"
)

// namespace prefixes every metric name.
const namespace = "gofailover"

// Pool is an upstream pool and its name in the "pool" label.
type Pool struct {
	// Name is "public" or "private".
	Name string
	Pool *health.Pool
}

// Sources is what the metrics are read from. Nil fields are left out.
type Sources struct {
	// Handler gives the request counts.
	Handler interface{ Stats() proxy.Stats }
	// Pools give the upstreams' health; their outcomes are observed when
	// NewRegistry attaches an UpstreamObserver to them.
	Pools []Pool
	// Store gives the cache's size.
	Store interface{ Stats() cache.Stats }
	// FiringAlerts returns the number of firing alerts by severity.
	FiringAlerts func() map[string]int
	// Connections gives the client connections' counts.
	Connections interface{ Stats() clientlimit.Stats }
	// Shared is the shared object store's tier; nil (a nil interface,
	// not a nil *sharedtier.Tier) when there is none, and then no
	// gofailover_shared_store_* metric is exported.
	Shared SharedStore
}

// NewRegistry returns a registry with every gofailover metric, the
// gofailover_build_info gauge, and the Go and process collectors, and
// makes each of src's pools report its outcomes to it (replacing any
// observer the pools had). The per-upstream counters and histograms of
// every pool's upstreams exist from the first scrape, at 0.
func NewRegistry(src Sources) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		newStateCollector(src),
		newBuildInfo(readBuildInfo()),
	)
	if src.Connections != nil {
		reg.MustRegister(newConnCollector(src.Connections))
	}
	if src.Shared != nil {
		reg.MustRegister(newSharedCollector(src.Shared))
	}
	for _, p := range src.Pools {
		obs := NewUpstreamObserver(p.Name, p.Pool.Upstreams()...)
		reg.MustRegister(obs)
		p.Pool.SetObserver(obs)
	}
	return reg
}
