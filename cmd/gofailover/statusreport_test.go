package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"golang.org/x/mod/module"

	"github.com/gofailover/gofailover/cache"
	"github.com/gofailover/gofailover/health"
	"github.com/gofailover/gofailover/health/alert"
	"github.com/gofailover/gofailover/health/history"
	"github.com/gofailover/gofailover/proxy"
	"github.com/gofailover/gofailover/proxy/mirrortest"
	"github.com/gofailover/gofailover/proxy/statuspage"
	"github.com/gofailover/gofailover/proxy/upstream"
)

// webhookSink is a test server that records the alert payloads posted to it.
type webhookSink struct {
	mu       sync.Mutex
	payloads []alert.Payload
	read     int // payloads returned by next
	got      chan struct{}
}

func (s *webhookSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var p alert.Payload
	if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.payloads = append(s.payloads, p)
	s.mu.Unlock()
	s.got <- struct{}{}
}

// next waits for the next payload, in the order they arrived.
func (s *webhookSink) next(t *testing.T) alert.Payload {
	t.Helper()
	select {
	case <-s.got:
	case <-time.After(30 * time.Second):
		t.Fatal("no webhook payload arrived")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.read++
	return s.payloads[s.read-1]
}

// nextOf waits for the next payload about rule, passing over the others:
// a mirror answering 503 makes error_rate_high fire with upstream_down.
func (s *webhookSink) nextOf(t *testing.T, rule alert.Rule) alert.Payload {
	t.Helper()
	for {
		if p := s.next(t); p.Rule == rule {
			return p
		}
	}
}

// TestFaultToAlertToStatus drives a fault through a fixture mirror and
// follows it everywhere it must show, on a fake clock: the preferred mirror
// starts answering 503, requests fail over, probes open its breaker, the
// upstream_down alert is pending and does not fire before its 'for'
// duration, then fires (P1: the preferred upstream), the webhook receives
// it, and the status report shows the open upstream, the firing alert and
// the history; after the mirror heals and its trials succeed, the alert
// resolves and the webhook receives that too.
func TestFaultToAlertToStatus(t *testing.T) {
	mods := mirrortest.TestdataModules(t)
	sick := mirrortest.NewMirror(nil, mods...)
	good := mirrortest.NewMirror(nil, mods...)
	t.Cleanup(sick.Close)
	t.Cleanup(good.Close)
	store, err := cache.Open(cache.Options{Reserve: 64 << 20, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ups, err := health.NewUpstreams([]string{sick.URL(), good.URL()}, health.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	clock := health.NewFakeClock(time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC))
	pool := health.NewPool(ups, health.Config{FailureThreshold: 3, OpenBackoff: time.Minute, HalfOpenSuccesses: 1}, clock)
	ctx, cancel := context.WithCancel(context.Background())
	handler := proxy.New(ctx, proxy.Config{Store: store, Router: pool, HedgeBudget: -1, Now: clock.Now})
	srv := httptest.NewServer(handler)
	sink := &webhookSink{got: make(chan struct{}, 10)}
	hook := httptest.NewServer(sink)
	webhook, err := alert.NewWebhook(alert.WebhookConfig{URL: hook.URL})
	if err != nil {
		t.Fatal(err)
	}
	var bg sync.WaitGroup
	bg.Go(func() { webhook.Run(ctx) })
	t.Cleanup(func() {
		srv.Close()
		hook.Close()
		cancel()
		bg.Wait()
		handler.Wait()
		store.Close()
	})
	hist := history.New(history.Config{Store: historyStore{store}})
	engine := alert.NewEngine(alert.Config{For: time.Minute}, webhook, nil)
	src := &statusSource{pools: pools{public: pool}, history: hist, alerts: engine, store: store, handler: handler,
		started: clock.Now(), window: 5 * time.Minute, now: clock.Now}

	n := 0
	// request fetches a module's .info that is not cached yet.
	request := func() {
		t.Helper()
		m := mods[n%len(mods)]
		n++
		esc, _ := module.EscapePath(m.Path)
		ver, _ := module.EscapeVersion(m.Version)
		path := "/" + esc + "/@v/" + ver + ".info"
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s", m, resp.Status)
		}
		store.Delete(path) // stay uncached
	}
	prober := health.NewProber(pool, health.ProbeConfig{Module: "example.com/lib", Version: "v1.0.0"}, upstream.New(upstream.Config{}), clock)
	// tick moves the clock on, probes the mirrors, records history and
	// evaluates the alerts.
	tick := func(d time.Duration) []alert.Transition {
		clock.Advance(d)
		prober.ProbeOnce(ctx)
		hist.Record(clock.Now(), pool.Snapshot())
		return engine.Evaluate(clock.Now(), pool.Snapshot())
	}

	for range 3 {
		request()
	}
	if tr := tick(10 * time.Second); len(tr) != 0 {
		t.Fatalf("alerts while healthy: %+v", tr)
	}

	sick.SetFault(mirrortest.Status(http.StatusServiceUnavailable))
	for range 3 { // each fails on the sick mirror, then succeeds on the good one
		request()
	}
	tr := tick(10 * time.Second)
	if len(tr) == 0 || tr[0].Alert.Rule != alert.UpstreamDown || tr[0].To != alert.Pending {
		t.Fatalf("after the breaker opened: transitions %+v, want upstream_down pending", tr)
	}
	for _, d := range []time.Duration{20 * time.Second, 20 * time.Second} {
		for _, x := range tick(d) {
			if x.To == alert.Firing {
				t.Fatalf("fired %v into a 1m 'for': %+v", clock.Now().Sub(tr[0].At), x)
			}
		}
	}
	fired := false
	for _, x := range tick(20 * time.Second) {
		fired = fired || x.Alert.Rule == alert.UpstreamDown && x.To == alert.Firing
	}
	if !fired {
		t.Fatalf("upstream_down did not fire 1m after it was pending: %+v", engine.Alerts(clock.Now()))
	}
	p := sink.nextOf(t, alert.UpstreamDown)
	if p.Status != alert.Firing || p.Rule != alert.UpstreamDown || p.Severity != alert.P1 || p.Upstream != sick.URL() {
		t.Fatalf("webhook payload %+v, want upstream_down firing P1 for %s", p, sick.URL())
	}

	rep, err := src.Report(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Upstreams[0].State != string(health.StateOpen) || rep.Upstreams[0].LastError == "" || !rep.Upstreams[0].Preferred {
		t.Errorf("status row of the sick mirror: %+v", rep.Upstreams[0])
	}
	if !slices.ContainsFunc(rep.Alerts, func(a statuspage.Alert) bool {
		return a.Rule == string(alert.UpstreamDown) && a.State == "firing"
	}) {
		t.Errorf("status alerts: %+v, want upstream_down firing", rep.Alerts)
	}
	if rep.Clients == nil || rep.Clients.Requests != 6 || rep.Clients.Failed != 0 {
		t.Errorf("clients %+v: want 6 requests, none failed", rep.Clients)
	}
	hour := rep.Ranges[0]
	if len(hour.Series) != 2 || len(hour.Series[0].Points) == 0 {
		t.Fatalf("last-hour plot range: %+v", hour)
	}
	if last := hour.Series[0].Points[len(hour.Series[0].Points)-1]; last.Missing {
		t.Errorf("the latest point of the sick mirror is missing")
	}
	if _, err := json.Marshal(rep); err != nil {
		t.Fatal(err)
	}

	// Healed: once the breaker's backoff (doubled by the failed trials
	// while it was sick) passes, a probe is the trial that closes it.
	sick.SetFault(mirrortest.Healthy())
	var resolved bool
	for range 20 {
		for _, x := range tick(15 * time.Second) {
			resolved = resolved || x.Alert.Rule == alert.UpstreamDown && x.To == alert.Resolved
		}
		if resolved {
			break
		}
	}
	if !resolved {
		t.Fatalf("upstream_down did not resolve within 5m of recovery: %+v\n%+v", engine.Alerts(clock.Now()), pool.Snapshot()[0])
	}
	if p := sink.nextOf(t, alert.UpstreamDown); p.Status != alert.Resolved || p.Rule != alert.UpstreamDown || p.EndsAt.IsZero() {
		t.Fatalf("webhook payload %+v, want upstream_down resolved", p)
	}
	rep, _ = src.Report(ctx)
	if rep.Upstreams[0].State != string(health.StateHealthy) {
		t.Errorf("after recovery the sick mirror is %s", rep.Upstreams[0].State)
	}
}

// TestUpstreamRowSaysWhy: the page says why a usable upstream is ranked
// behind: a denial (misconfigured or stale) and a stale list.
func TestUpstreamRowSaysWhy(t *testing.T) {
	ups, err := health.NewUpstreams([]string{"https://a.example", "https://b.example"}, health.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	st := health.Status{Upstream: ups[1], State: health.StateDegraded,
		Denial: &health.Denial{Path: "/example.com/m/@v/list", Status: 403, ServedBy: "https://a.example"},
		Stale:  []string{"v1.2.0"}}
	want := "misconfigured: answered 403 for /example.com/m/@v/list, which https://a.example serves; stale: its list of the probe module lacks v1.2.0"
	if got := upstreamRow(st, 0).Why; got != want {
		t.Errorf("Why = %q, want %q", got, want)
	}
	st.Denial.Status, st.Stale = 404, nil
	if got := upstreamRow(st, 0).Why; got != "stale: answered 404 for /example.com/m/@v/list, which https://a.example serves" {
		t.Errorf("Why = %q", got)
	}
	if got := upstreamRow(health.Status{Upstream: ups[0]}, 0).Why; got != "" {
		t.Errorf("Why of a healthy upstream = %q", got)
	}
}
