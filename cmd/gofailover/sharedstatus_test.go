package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gofailover/gofailover/health"
	"github.com/gofailover/gofailover/health/alert"
	"github.com/gofailover/gofailover/health/history"
	"github.com/gofailover/gofailover/proxy/sharedtier"
	"github.com/gofailover/gofailover/proxy/statuspage"
)

// poolShared is a shared store whose health is a pool's one upstream, as
// sharedtier.Tier's is, with fixed counts.
type poolShared struct {
	pool  *health.Pool
	stats sharedtier.Stats
}

func (p poolShared) Name() string { return p.pool.Upstreams()[0].Name }

func (p poolShared) Stats() sharedtier.Stats {
	st := p.stats
	st.Health = p.pool.Snapshot()[0]
	return st
}

// TestSharedStoreInStatus: a shared store that went down shows in the
// status report with its health and counts, and its shared_store_down
// alert is dated from the first failure of its outage; without a store
// the report has none. The helpers that wire a tier turn a nil one into
// nil interfaces.
func TestSharedStoreInStatus(t *testing.T) {
	start := time.Date(2026, 11, 29, 20, 30, 0, 0, time.UTC)
	clock := health.NewFakeClock(start)
	u, _ := url.Parse("s3://go-cache/fleet")
	store := &health.Upstream{Name: "s3://go-cache/fleet", URL: u}
	storePool := health.NewPool([]*health.Upstream{store}, health.Config{FailureThreshold: 2, OpenBackoff: time.Hour, MaxOpenBackoff: time.Hour}, clock)
	ups, err := health.NewUpstreams([]string{"http://127.0.0.1:1"}, health.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	pool := health.NewPool(ups, health.Config{}, clock)
	engine := alert.NewEngine(alert.Config{For: time.Minute}, nil, nil, alert.WithSharedStore(storePool))
	shared := poolShared{pool: storePool, stats: sharedtier.Stats{Hits: 10, Misses: 2, Bypassed: 5, Errors: 2,
		BytesRead: 2048, Uploaded: 4, Present: 1, Failed: 1, Dropped: 0, Corrupt: 1, Queue: 3}}
	src := &statusSource{pools: pools{public: pool}, history: history.New(history.Config{}), alerts: engine,
		store: noCache{}, handler: noRequests{}, started: start, window: 5 * time.Minute, now: clock.Now, shared: shared}

	clock.Advance(time.Minute)
	storePool.Report(store, health.Outcome{Status: 200, FirstByte: 20 * time.Millisecond, Total: 20 * time.Millisecond})
	clock.Advance(time.Minute)
	failedAt := clock.Now()
	storePool.Report(store, health.Outcome{Failure: health.FailRefused, Err: errors.New("dial tcp 127.0.0.1:9000: connection refused")})
	clock.Advance(10 * time.Second)
	storePool.Report(store, health.Outcome{Failure: health.FailRefused, Err: errors.New("dial tcp 127.0.0.1:9000: connection refused")})
	for range 8 {
		clock.Advance(10 * time.Second)
		engine.Evaluate(clock.Now(), pool.Snapshot())
	}

	rep, err := src.Report(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	s := rep.SharedStore
	if s == nil {
		t.Fatal("the report has no shared store")
	}
	if s.Name != "s3://go-cache/fleet" || s.State != "open" || !s.EpisodeSince.Equal(failedAt) ||
		s.Hits != 10 || s.Bypassed != 5 || s.BytesRead != 2048 || s.CorruptObjects != 1 ||
		s.Uploads != (statuspage.SharedUploads{Uploaded: 4, Present: 1, Failed: 1, Queue: 3}) ||
		!strings.Contains(s.LastError, "connection refused") || s.P50 != 0.02 {
		t.Errorf("shared store %+v; want open since %v", *s, failedAt)
	}
	var found bool
	for _, a := range rep.Alerts {
		if a.Rule == string(alert.SharedStoreDown) {
			found = true
			if a.State != "firing" || a.Upstream != "s3://go-cache/fleet" || !a.Since.Equal(failedAt) {
				t.Errorf("shared_store_down %+v; want firing since %v", a, failedAt)
			}
		}
	}
	if !found {
		t.Errorf("no shared_store_down alert in %+v", rep.Alerts)
	}
	if code := statusExit(rep); code != exitStatusDegraded {
		t.Errorf("statusExit with the store down = %d, want %d", code, exitStatusDegraded)
	}

	src.shared = nil
	if rep, _ := src.Report(t.Context()); rep.SharedStore != nil {
		t.Errorf("a shared store without one: %+v", rep.SharedStore)
	}
	if sharedSource(nil) != nil || sharedHealth(nil) != nil {
		t.Error("a nil tier became a non-nil interface")
	}
}

// TestStatusExitSharedStore: the status command counts a shared store
// that is down (open, half-open, quarantined) as degraded, a degraded
// one that still serves as fine, and a firing P0 above both.
func TestStatusExitSharedStore(t *testing.T) {
	healthy := statuspage.Report{Upstreams: []statuspage.Upstream{{Name: "https://a.example", Health: statuspage.Health{State: "healthy"}}}}
	for state, want := range map[string]int{
		"healthy": exitStatusHealthy, "degraded": exitStatusHealthy,
		"open": exitStatusDegraded, "half-open": exitStatusDegraded, "quarantined": exitStatusDegraded,
	} {
		rep := healthy
		rep.SharedStore = &statuspage.SharedStore{Name: "s3://b", Health: statuspage.Health{State: state}}
		if got := statusExit(rep); got != want {
			t.Errorf("store %s: exit %d, want %d", state, got, want)
		}
	}
	if got := statusExit(healthy); got != exitStatusHealthy {
		t.Errorf("no store: exit %d", got)
	}
	rep := healthy
	rep.SharedStore = &statuspage.SharedStore{Name: "s3://b", Health: statuspage.Health{State: "open"}}
	rep.Alerts = []statuspage.Alert{{Rule: "all_upstreams_down", Severity: "P0", State: "firing"}}
	if got := statusExit(rep); got != exitStatusP0 {
		t.Errorf("store down and a P0 firing: exit %d, want %d", got, exitStatusP0)
	}
}

// TestStatusCommandSharedStore: `gofailover status` prints the shared
// store's line, and exits 1 while it is down though every upstream is
// healthy.
func TestStatusCommandSharedStore(t *testing.T) {
	rep := statusReport()
	rep.Upstreams = rep.Upstreams[:1]
	rep.Alerts = nil
	now := rep.GeneratedAt
	rep.SharedStore = &statuspage.SharedStore{Name: "s3://go-cache/fleet", Health: statuspage.Health{State: "open", EpisodeSince: now.Add(-13 * time.Minute), ConsecutiveFailures: 4, LastError: "connection refused", LastErrorAt: now.Add(-20 * time.Second)},
		Hits: 5120, Misses: 830, Bypassed: 210,
		Uploads: statuspage.SharedUploads{Queue: 3}}
	srv := httptest.NewServer(statuspage.Handler(statuspage.SourceFunc(func(context.Context) (statuspage.Report, error) { return rep, nil }),
		statuspage.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))))
	defer srv.Close()
	code, out, errOut := runStatus(t, nil, "--url", srv.URL)
	if code != exitStatusDegraded || errOut != "" {
		t.Errorf("status = %d, stderr %q; want %d: the shared store is down", code, errOut, exitStatusDegraded)
	}
	for _, want := range []string{
		"Shared store: s3://go-cache/fleet open, down since 11:47:00 (for 13m); p50 –, p95 –, errors 100% (last 4); 5,120 hits, 830 misses, 210 bypassed",
		"3 queued",
		"Shared store: last error 11:59:40 connection refused\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q\n%s", want, out)
		}
	}
}
