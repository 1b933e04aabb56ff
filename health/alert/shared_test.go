package alert

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gofailover/gofailover/health"
)

// storePool is a pool of one upstream standing for a shared store, as
// sharedtier.Tier.Pool is; its breaker opens after 2 failures in a row.
func storePool(clock health.Clock) (*health.Pool, *health.Upstream) {
	u, _ := url.Parse("s3://go-cache/fleet")
	store := &health.Upstream{Name: "s3://go-cache/fleet", URL: u}
	return health.NewPool([]*health.Upstream{store}, health.Config{FailureThreshold: 2, OpenBackoff: time.Hour, MaxOpenBackoff: time.Hour}, clock), store
}

// sharedMoves summarizes transitions as "rule subject from→to severity".
func sharedMoves(ts []Transition) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = fmt.Sprintf("%s %s %s→%s %s", t.Alert.Rule, t.Alert.Upstream, t.From, t.To, t.Alert.Severity)
	}
	return out
}

// TestSharedStoreDown: with a shared store, shared_store_down goes
// pending when the store's breaker opens, fires after Config.For while it
// stays down (notified, as every alert), and resolves once the store is
// back; the store counts in no upstream rule, all_upstreams_down
// included. Without WithSharedStore, or with a nil source, nothing is
// judged of it.
func TestSharedStoreDown(t *testing.T) {
	clock := health.NewFakeClock(at(0))
	pool, store := storePool(clock)
	ups := testUpstreams(1)
	healthy := statuses(ups, health.StateHealthy)
	rec := new(recorder)
	e := NewEngine(Config{For: time.Minute}, rec, nil, WithSharedStore(pool))
	other := NewEngine(Config{For: -1}, nil, nil, WithSharedStore(nil))

	want := func(when string, got []Transition, want ...string) {
		t.Helper()
		if g := sharedMoves(got); fmt.Sprint(g) != fmt.Sprint(want) {
			t.Errorf("%s: transitions\n got %q\nwant %q", when, g, want)
		}
	}
	want("store up", e.Evaluate(clock.Now(), healthy))

	for range 2 {
		pool.Report(store, health.Outcome{Failure: health.FailRefused, Err: fmt.Errorf("connection refused")})
	}
	if s := pool.Snapshot()[0]; !s.State.Down() {
		t.Fatalf("store state %s after 2 failures, want down", s.State)
	}
	clock.Advance(15 * time.Second)
	want("store down", e.Evaluate(clock.Now(), healthy), "shared_store_down s3://go-cache/fleet inactive→pending P2")
	want("no store watched", other.Evaluate(clock.Now(), healthy))
	clock.Advance(time.Minute)
	ts := e.Evaluate(clock.Now(), healthy)
	want("down for a minute", ts, "shared_store_down s3://go-cache/fleet pending→firing P2")
	if len(ts) == 1 {
		a := ts[0].Alert
		if a.Value != 1 || a.Threshold != 1 || !strings.Contains(a.Summary, "shared store s3://go-cache/fleet is down since 00:00:00 UTC") ||
			!strings.Contains(a.Summary, "last failure: refused") {
			t.Errorf("firing alert: %+v", a)
		}
	}
	firing := e.Alerts(clock.Now())
	if len(firing) != 1 || firing[0].State != Firing {
		t.Fatalf("alerts while the store is down: %+v", firing)
	}

	// The store comes back: a trial after the backoff, then enough
	// successes to close the breaker.
	clock.Advance(time.Hour)
	for range 5 {
		if pool.Admit(store) {
			pool.Report(store, health.Outcome{Status: 200, FirstByte: time.Millisecond, Total: time.Millisecond})
		}
	}
	if s := pool.Snapshot()[0]; s.State.Down() {
		t.Fatalf("store state %s after successful trials, want up", s.State)
	}
	want("store back", e.Evaluate(clock.Now(), healthy), "shared_store_down s3://go-cache/fleet firing→resolved P2")
	want("notified", rec.got(), "shared_store_down s3://go-cache/fleet pending→firing P2", "shared_store_down s3://go-cache/fleet firing→resolved P2")
}

// TestSharedStoreNotAnUpstream: a store that is down while the only
// upstream is down too fires shared_store_down and all_upstreams_down
// over the one upstream, not over the store.
func TestSharedStoreNotAnUpstream(t *testing.T) {
	clock := health.NewFakeClock(at(0))
	pool, store := storePool(clock)
	for range 2 {
		pool.Report(store, health.Outcome{Failure: health.FailTimeout})
	}
	e := NewEngine(Config{For: -1}, nil, nil, WithSharedStore(pool))
	ups := testUpstreams(2)
	ts := e.Evaluate(clock.Now(), statuses(ups, health.StateHealthy, health.StateHealthy))
	if g := sharedMoves(ts); fmt.Sprint(g) != fmt.Sprint([]string{
		"shared_store_down s3://go-cache/fleet inactive→pending P2",
		"shared_store_down s3://go-cache/fleet pending→firing P2",
	}) {
		t.Errorf("transitions %q", g)
	}
	for _, a := range e.Alerts(clock.Now()) {
		if a.Rule == AllUpstreamsDown {
			t.Errorf("the store made all_upstreams_down hold: %+v", a)
		}
	}
}

// TestSharedStoreAlertmanagerLabels: shared_store_down goes to
// Alertmanager with the store's name in the store label, as the
// Prometheus rule has it, not in upstream.
func TestSharedStoreAlertmanagerLabels(t *testing.T) {
	m, err := NewAlertmanager(AlertmanagerConfig{URLs: []string{"http://127.0.0.1:9093"}, Instance: "gf:3131"})
	if err != nil {
		t.Fatal(err)
	}
	am := m.amAlert(Alert{Rule: SharedStoreDown, Upstream: "s3://go-cache/fleet", Severity: P2, State: Firing, ActiveAt: at(0)}, at(time.Minute))
	if am.Labels["store"] != "s3://go-cache/fleet" || am.Labels["upstream"] != "" || am.Labels["alertname"] != "shared_store_down" {
		t.Errorf("labels %v", am.Labels)
	}
}
