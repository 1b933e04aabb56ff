package metrics_test

import (
	"errors"
	"net/http"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/gofailover/gofailover/health"
	"github.com/gofailover/gofailover/proxy"
	"github.com/gofailover/gofailover/proxy/checksum"
	"github.com/gofailover/gofailover/proxy/clientlimit"
	"github.com/gofailover/gofailover/proxy/metrics"
)

// fixedHandler is a handler whose Stats are given.
type fixedHandler proxy.Stats

func (f fixedHandler) Stats() proxy.Stats { return proxy.Stats(f) }

// fakeRig is a registry over fake sources of every kind: a handler, a
// store and connections with fixed counts, and a pool of a dead and a
// good upstream on a fake clock.
type fakeRig struct {
	reg        *prometheus.Registry
	pool       *health.Pool
	dead, good *health.Upstream
}

func newFakeRig(t *testing.T) *fakeRig {
	t.Helper()
	ups, err := health.NewUpstreams([]string{"https://dead.example", "https://good.example"}, health.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	pool := health.NewPool(ups, health.Config{}, &health.FakeClock{})
	reg := metrics.NewRegistry(metrics.Sources{
		Handler: fixedHandler{
			Requests:         []proxy.RequestCount{{Kind: "zip", Class: "2xx", Cache: "miss", Count: 3}},
			UpstreamAttempts: 4,
			Lookups:          checksum.LookupStats{Found: 2},
		},
		Pools:        []metrics.Pool{{Name: "public", Pool: pool}},
		Store:        fixedStats{Entries: 3, Bytes: 100, Writable: true, FreeBytes: 5 << 30, ReserveBytes: 1 << 30, LastScrubAt: time.Unix(1700000000, 0)},
		FiringAlerts: func() map[string]int { return map[string]int{"P0": 1} },
		Connections:  fixedConns{Open: 2, Max: 100, Accepted: 9, Closed: clientlimit.Closed{Evicted: 1}},
	})
	return &fakeRig{reg: reg, pool: pool, dead: ups[0], good: ups[1]}
}

// lint fails t on every problem promlint finds in reg's metrics, its own
// and the Go and process collectors' alike.
func lint(t *testing.T, reg *prometheus.Registry) {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("gathering: %v", err)
	}
	problems, err := promlint.NewWithMetricFamilies(families).Lint()
	if err != nil {
		t.Fatalf("promlint: %v", err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
}

// TestMetricsPassPromlint: promlint, the linter promtool check metrics
// runs, finds no problem in the registry over sources of every kind,
// neither on a fresh start nor after traffic.
func TestMetricsPassPromlint(t *testing.T) {
	r := newFakeRig(t)
	lint(t, r.reg)
	r.pool.Report(r.dead, health.Outcome{Failure: health.FailRefused, Err: errors.New("connection refused")})
	r.pool.Report(r.good, health.Outcome{Status: http.StatusOK, FirstByte: 20 * time.Millisecond})
	r.pool.Report(r.good, health.Outcome{Probe: true, Status: http.StatusOK, FirstByte: 5 * time.Millisecond})
	r.pool.Report(r.good, health.AbandonedAfter(time.Second))
	lint(t, r.reg)
}

// TestEverySeriesFromStart: before any request, every configured
// upstream's counters and first-byte histograms exist at 0, for each
// source, outcome and failure kind, and so do the verification failures.
func TestEverySeriesFromStart(t *testing.T) {
	r := newFakeRig(t)
	for _, up := range []string{r.dead.Name, r.good.Name} {
		for _, source := range []string{"request", "probe"} {
			for _, c := range []struct{ outcome, failure string }{
				{"success", "none"}, {"abandoned", "none"}, {"failure", "refused"}, {"failure", "5xx"},
				{"failure", "timeout"}, {"failure", "bad_content"}, {"failure", "other"},
			} {
				labels := map[string]string{"pool": "public", "upstream": up, "source": source, "outcome": c.outcome, "failure": c.failure}
				if v, ok := value(t, r.reg, "gofailover_upstream_requests_total", labels); !ok || v != 0 {
					t.Errorf("gofailover_upstream_requests_total%v = %v (present %v), want 0", labels, v, ok)
				}
			}
			labels := map[string]string{"pool": "public", "upstream": up, "source": source}
			if v, ok := value(t, r.reg, "gofailover_upstream_first_byte_seconds", labels); !ok || v != 0 {
				t.Errorf("gofailover_upstream_first_byte_seconds%v: %v observations (present %v), want 0", labels, v, ok)
			}
		}
		labels := map[string]string{"pool": "public", "upstream": up}
		if v, ok := value(t, r.reg, "gofailover_verification_failures_total", labels); !ok || v != 0 {
			t.Errorf("gofailover_verification_failures_total%v = %v (present %v), want 0", labels, v, ok)
		}
		// Nothing is known yet: no latency and no error ratio, rather
		// than a 0 that reads as fast and flawless.
		for _, name := range []string{"gofailover_upstream_latency_p50_seconds", "gofailover_upstream_latency_p95_seconds", "gofailover_upstream_latency_p99_seconds", "gofailover_upstream_error_ratio", "gofailover_upstream_score_seconds"} {
			if v, ok := value(t, r.reg, name, labels); ok {
				t.Errorf("%s%v = %v before any request, want absent", name, labels, v)
			}
		}
	}
}

// TestDeadUpstreamLatencyUnknown: an upstream whose window holds only
// failures without a response has no latency series (a gap, not 0) and an
// error ratio of 1; one that answers has its percentiles, each a named
// gauge without a quantile label.
func TestDeadUpstreamLatencyUnknown(t *testing.T) {
	r := newFakeRig(t)
	for range 5 {
		r.pool.Report(r.dead, health.Outcome{Failure: health.FailRefused, Err: errors.New("connection refused")})
		r.pool.Report(r.dead, health.Outcome{Probe: true, Failure: health.FailTimeout, Err: errors.New("timeout")})
	}
	for i := range 100 {
		r.pool.Report(r.good, health.Outcome{Status: http.StatusOK, FirstByte: time.Duration(i+1) * time.Millisecond})
	}
	dead := map[string]string{"pool": "public", "upstream": r.dead.Name}
	good := map[string]string{"pool": "public", "upstream": r.good.Name}
	for _, name := range []string{"gofailover_upstream_latency_p50_seconds", "gofailover_upstream_latency_p95_seconds", "gofailover_upstream_latency_p99_seconds"} {
		if v, ok := value(t, r.reg, name, dead); ok {
			t.Errorf("%s of the dead upstream = %v, want absent (unknown)", name, v)
		}
	}
	if v, ok := value(t, r.reg, "gofailover_upstream_error_ratio", dead); !ok || v != 1 {
		t.Errorf("error ratio of the dead upstream = %v (present %v), want 1", v, ok)
	}
	if v, _ := value(t, r.reg, "gofailover_upstream_requests_total", map[string]string{"upstream": r.dead.Name, "source": "request", "outcome": "failure", "failure": "refused"}); v != 5 {
		t.Errorf("refused requests of the dead upstream = %v, want 5", v)
	}
	for name, want := range map[string]float64{
		"gofailover_upstream_latency_p50_seconds": 0.050,
		"gofailover_upstream_latency_p95_seconds": 0.095,
		"gofailover_upstream_latency_p99_seconds": 0.099,
		"gofailover_upstream_error_ratio":         0,
	} {
		if v, ok := value(t, r.reg, name, good); !ok || v != want {
			t.Errorf("%s of the good upstream = %v (present %v), want %v", name, v, ok, want)
		}
	}
	families, err := r.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "quantile" && f.GetType().String() != "SUMMARY" {
					t.Errorf("%s: a quantile label on a %s", f.GetName(), f.GetType())
				}
			}
		}
	}
}

// TestBuildInfo: gofailover_build_info is 1, labelled with the version,
// the VCS revision and the Go version; what is not stamped reads as such.
func TestBuildInfo(t *testing.T) {
	r := newFakeRig(t)
	if v, ok := value(t, r.reg, "gofailover_build_info", map[string]string{"goversion": runtime.Version()}); !ok || v != 1 {
		t.Errorf("gofailover_build_info{goversion=%q} = %v (present %v), want 1", runtime.Version(), v, ok)
	}
	for _, tc := range []struct {
		name                         string
		bi                           *debug.BuildInfo
		version, revision, goVersion string
	}{
		{"none", nil, "(devel)", "unknown", runtime.Version()},
		{"devel", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: "github.com/gofailover/gofailover", Version: "(devel)"}}, "(devel)", "unknown", "go1.26.0"},
		{"release", &debug.BuildInfo{GoVersion: "go1.26.1", Main: debug.Module{Version: "v1.2.3"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123abc"}, {Key: "vcs.time", Value: "2026-01-01T00:00:00Z"}, {Key: "vcs.modified", Value: "false"},
		}}, "v1.2.3", "0123abc", "go1.26.1"},
		{"dirty", &debug.BuildInfo{GoVersion: "go1.26.1", Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123abc"}, {Key: "vcs.modified", Value: "true"},
		}}, "(devel)", "0123abc-modified", "go1.26.1"},
	} {
		version, revision, goVersion := metrics.BuildInfoLabels(tc.bi)
		if version != tc.version || revision != tc.revision || goVersion != tc.goVersion {
			t.Errorf("%s: labels %q %q %q, want %q %q %q", tc.name, version, revision, goVersion, tc.version, tc.revision, tc.goVersion)
		}
	}
}
