package metrics_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"

	"github.com/gofailover/gofailover/cache"
	"github.com/gofailover/gofailover/health"
	"github.com/gofailover/gofailover/proxy"
	"github.com/gofailover/gofailover/proxy/metrics"
	"github.com/gofailover/gofailover/proxy/mirrortest"
)

// rig is a handler in front of a failing and a good mirror, with a pool on
// a fake clock, and the registry over them.
type rig struct {
	srv       *httptest.Server
	pool      *health.Pool
	ups       []*health.Upstream
	reg       *prometheus.Registry
	bad, good *mirrortest.Mirror
}

func newRig(t *testing.T) *rig {
	t.Helper()
	mods := mirrortest.TestdataModules(t)
	r := &rig{bad: mirrortest.NewMirror(nil, mods...), good: mirrortest.NewMirror(nil, mods...)}
	t.Cleanup(r.bad.Close)
	t.Cleanup(r.good.Close)
	r.bad.SetFault(mirrortest.Status(http.StatusServiceUnavailable))
	store, err := cache.Open(cache.Options{Reserve: 64 << 20, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	r.ups, err = health.NewUpstreams([]string{r.bad.URL(), r.good.URL()}, health.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	r.pool = health.NewPool(r.ups, health.Config{}, &health.FakeClock{})
	ctx, cancel := context.WithCancel(context.Background())
	h := proxy.New(ctx, proxy.Config{Store: store, Router: r.pool})
	r.srv = httptest.NewServer(h)
	t.Cleanup(func() {
		r.srv.Close()
		cancel()
		h.Wait()
		store.Close()
	})
	r.reg = metrics.NewRegistry(metrics.Sources{
		Handler:      h,
		Pools:        []metrics.Pool{{Name: "public", Pool: r.pool}},
		Store:        store,
		FiringAlerts: func() map[string]int { return map[string]int{"P1": 2} },
	})
	return r
}

func (r *rig) get(t *testing.T, path string) {
	t.Helper()
	resp, err := http.Get(r.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// value returns the value of the metric name whose labels include want,
// and whether there is one.
func value(t *testing.T, reg *prometheus.Registry, name string, want map[string]string) (float64, bool) {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("gathering: %v", err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	metrics:
		for _, m := range f.GetMetric() {
			have := map[string]string{}
			for _, l := range m.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for k, v := range want {
				if have[k] != v {
					continue metrics
				}
			}
			return metricValue(m), true
		}
	}
	return 0, false
}

func metricValue(m *dto.Metric) float64 {
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return -1
}

// TestMetricsFollowTraffic: requests, upstream outcomes, probe results,
// pool state, verification failures, cache size and alerts all show, with
// the values the traffic gives.
func TestMetricsFollowTraffic(t *testing.T) {
	r := newRig(t)
	const info = "/example.com/lib/@v/v1.1.0.info"
	r.get(t, info) // the failing mirror answers 503, the good one serves
	r.get(t, info) // a hit
	r.get(t, "/example.com/lib/@v/nonsense")
	r.srv.Close() // wait for the handlers to count
	r.pool.Report(r.ups[1], health.Outcome{Probe: true, Status: http.StatusOK, FirstByte: 3e6})
	bad, good := r.ups[0].Name, r.ups[1].Name

	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"gofailover_requests_total", map[string]string{"kind": "info", "status_class": "2xx", "cache": "miss"}, 1},
		{"gofailover_requests_total", map[string]string{"kind": "info", "status_class": "2xx", "cache": "hit"}, 1},
		{"gofailover_requests_total", map[string]string{"kind": "invalid", "status_class": "4xx", "cache": "none"}, 1},
		{"gofailover_upstream_requests_total", map[string]string{"pool": "public", "upstream": bad, "source": "request", "outcome": "failure", "failure": "5xx"}, 1},
		{"gofailover_upstream_requests_total", map[string]string{"upstream": good, "source": "request", "outcome": "success", "failure": "none"}, 1},
		{"gofailover_upstream_requests_total", map[string]string{"upstream": good, "source": "probe", "outcome": "success"}, 1},
		{"gofailover_upstream_first_byte_seconds", map[string]string{"upstream": good, "source": "request"}, 1},
		{"gofailover_upstream_first_byte_seconds", map[string]string{"upstream": good, "source": "probe"}, 1},
		{"gofailover_upstream_attempts_total", nil, 2},
		{"gofailover_hedges_total", nil, 0},
		{"gofailover_upstream_state", map[string]string{"upstream": bad, "state": "degraded"}, 1},
		{"gofailover_upstream_state", map[string]string{"upstream": bad, "state": "healthy"}, 0},
		{"gofailover_upstream_state", map[string]string{"upstream": good, "state": "healthy"}, 1},
		{"gofailover_upstream_error_ratio", map[string]string{"upstream": bad}, 1},
		{"gofailover_cache_entries", nil, 1},
		{"gofailover_alerts_firing", map[string]string{"severity": "P1"}, 2},
		{"gofailover_alerts_firing", map[string]string{"severity": "P0"}, 0},
		{"gofailover_sumdb_lookups_total", map[string]string{"result": "found"}, 0},
	} {
		got, ok := value(t, r.reg, c.name, c.labels)
		if !ok || got != c.want {
			t.Errorf("%s%v = %v (present %v), want %v", c.name, c.labels, got, ok, c.want)
		}
	}
	if _, ok := value(t, r.reg, "gofailover_upstream_score_seconds", map[string]string{"upstream": good}); !ok {
		t.Error("no score for an upstream with samples")
	}

	// A lost hedge counts as abandoned, and its first byte, only a lower
	// bound, stays out of the histogram (which holds the 503's).
	r.pool.Report(r.ups[0], health.AbandonedAfter(200*time.Millisecond))
	if v, _ := value(t, r.reg, "gofailover_upstream_requests_total", map[string]string{"upstream": bad, "source": "request", "outcome": "abandoned", "failure": "none"}); v != 1 {
		t.Errorf("abandoned requests = %v, want 1", v)
	}
	if v, _ := value(t, r.reg, "gofailover_upstream_first_byte_seconds", map[string]string{"upstream": bad, "source": "request"}); v != 1 {
		t.Errorf("first-byte observations of the failing mirror = %v, want 1 (the 503)", v)
	}

	// Bad content quarantines the upstream and counts as a verification
	// failure.
	r.pool.Report(r.ups[0], health.Outcome{Status: http.StatusOK, Failure: health.FailBadContent, Err: errors.New("hash mismatch")})
	if v, _ := value(t, r.reg, "gofailover_verification_failures_total", map[string]string{"upstream": bad}); v != 1 {
		t.Errorf("verification failures = %v, want 1", v)
	}
	if v, _ := value(t, r.reg, "gofailover_upstream_state", map[string]string{"upstream": bad, "state": "quarantined"}); v != 1 {
		t.Errorf("quarantined state = %v, want 1", v)
	}
}

// TestMetricsEndpoint: the registry served by promhttp includes the Go and
// process collectors and passes the registry's own consistency checks.
func TestMetricsEndpoint(t *testing.T) {
	r := newRig(t)
	r.get(t, "/example.com/lib/@v/list")
	srv := httptest.NewServer(promhttp.HandlerFor(r.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s\n%s", resp.Status, body)
	}
	for _, want := range []string{"go_goroutines", "process_resident_memory_bytes", "gofailover_requests_total{", "gofailover_upstream_state{"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(string(body), "example.com/lib") {
		t.Error("a module path appears in the metrics")
	}
}
