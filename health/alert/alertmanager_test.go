package alert

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/gofailover/gofailover/health"
)

// fakeAM is an httptest server that takes Alertmanager API v2 POSTs and
// keeps the batches, answering the first fail of them with 503.
type fakeAM struct {
	srv *httptest.Server

	mu      sync.Mutex
	fail    int
	batches [][]AMAlert
	got     chan struct{}
}

func newFakeAM(t *testing.T, fail int) *fakeAM {
	t.Helper()
	f := &fakeAM{fail: fail, got: make(chan struct{}, 100)}
	f.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/am/api/v2/alerts" || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s %s with Content-Type %q", r.Method, r.URL.Path, r.Header.Get("Content-Type"))
		}
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		defer f.mu.Unlock()
		if f.fail > 0 {
			f.fail--
			http.Error(rw, "not now", http.StatusServiceUnavailable)
			return
		}
		var batch []AMAlert
		if err := json.Unmarshal(b, &batch); err != nil {
			t.Errorf("body %s: %v", b, err)
		}
		f.batches = append(f.batches, batch)
		f.got <- struct{}{}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// await waits for n more batches.
func (f *fakeAM) await(t *testing.T, n int) [][]AMAlert {
	t.Helper()
	for range n {
		select {
		case <-f.got:
		case <-time.After(10 * time.Second):
			t.Fatalf("no batch posted within 10s")
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.batches
	f.batches = nil
	return out
}

// runNotifier runs m until the test ends.
func runNotifier(t *testing.T, m *Alertmanager) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { m.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
}

// TestAlertmanagerFiringResentAndResolved: an alert is posted when it
// fires, with its labels and annotations and endsAt EndsAfter ahead; then
// again every Resend (judged on the Engine's clock) while it fires; and
// once resolved, with endsAt the resolve time. A pool-wide alert has no
// upstream label. Every Alertmanager given gets it all, and a 503 is
// retried.
func TestAlertmanagerFiringResentAndResolved(t *testing.T) {
	am1, am2 := newFakeAM(t, 0), newFakeAM(t, 1)
	m, err := NewAlertmanager(AlertmanagerConfig{
		URLs:         []string{am1.srv.URL + "/am", am2.srv.URL + "/am/api/v2/alerts"},
		Instance:     "gofailover.example:3131",
		GeneratorURL: "http://gofailover.example:3131/",
		Backoff:      time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	runNotifier(t, m)
	ups := testUpstreams(1)
	e := NewEngine(Config{For: time.Minute}, Notifiers{new(recorder), m}, nil)
	down := statuses(ups, open)

	for s := time.Duration(0); s <= time.Minute; s += 15 * time.Second {
		e.Evaluate(at(s), down)
	}
	for _, am := range []*fakeAM{am1, am2} {
		// One batch per firing.
		b := am.await(t, 2)
		b[0] = append(b[0], b[1]...)
		if len(b[0]) != 2 {
			t.Fatalf("firing batches %+v, want upstream_down and all_upstreams_down, one each", b)
		}
		a := b[0][0]
		want := map[string]string{"alertname": "upstream_down", "severity": "P1", "instance": "gofailover.example:3131", "upstream": ups[0].Name}
		if len(a.Labels) != len(want) {
			t.Errorf("labels %v, want %v", a.Labels, want)
		}
		for k, v := range want {
			if a.Labels[k] != v {
				t.Errorf("label %s = %q, want %q", k, a.Labels[k], v)
			}
		}
		if a.Annotations["summary"] == "" || a.Annotations["description"] == "" {
			t.Errorf("annotations %v, want a summary and a description", a.Annotations)
		}
		if !a.StartsAt.Equal(at(0)) || !a.EndsAt.Equal(at(5*time.Minute)) || a.GeneratorURL != "http://gofailover.example:3131/" {
			t.Errorf("startsAt %v, endsAt %v, generatorURL %q; want %v, %v and the status page", a.StartsAt, a.EndsAt, a.GeneratorURL, at(0), at(5*time.Minute))
		}
		if p := b[0][1]; p.Labels["alertname"] != "all_upstreams_down" || p.Labels["severity"] != "P0" || p.Labels["upstream"] != "" {
			t.Errorf("pool-wide alert labels %v, want all_upstreams_down, P0, no upstream", p.Labels)
		}
	}

	// Three more minutes firing: resent at each minute, not more often.
	for s := time.Minute + 15*time.Second; s <= 4*time.Minute; s += 15 * time.Second {
		e.Evaluate(at(s), down)
	}
	for _, am := range []*fakeAM{am1, am2} {
		b := am.await(t, 3)
		for i, batch := range b {
			if want := at(time.Duration(i+2)*time.Minute + 4*time.Minute); len(batch) != 2 || !batch[0].EndsAt.Equal(want) {
				t.Errorf("resend %d: %d alerts ending at %v, want 2 ending at %v", i, len(batch), batch[0].EndsAt, want)
			}
		}
	}

	e.Evaluate(at(4*time.Minute+15*time.Second), statuses(ups, health.StateHealthy))
	for _, am := range []*fakeAM{am1, am2} {
		b := am.await(t, 2)
		for _, batch := range b {
			if len(batch) != 1 || !batch[0].EndsAt.Equal(at(4*time.Minute+15*time.Second)) {
				t.Errorf("resolved batch %+v, want one alert ending at the resolve time", batch)
			}
		}
	}
}

// TestAlertmanagerNeverBlocks: with an Alertmanager that hangs, Notify
// and Refresh return at once, the queue stays bounded, and Run stops when
// told.
func TestAlertmanagerNeverBlocks(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	m, err := NewAlertmanager(AlertmanagerConfig{URLs: []string{srv.URL}, Instance: "i", QueueSize: 4, Timeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); m.Run(ctx) }()
	start := time.Now()
	for i := range 1000 {
		m.Notify(firing("http://127.0.0.1:8081"))
		m.Refresh(at(time.Duration(i)*time.Minute), []Alert{firing("http://127.0.0.1:8081").Alert})
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("2000 notifications took %v", d)
	}
	if n := m.targets[0].q.len(); n > 4 {
		t.Errorf("queue holds %d, want at most 4", n)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after ctx was done")
	}
}

func TestNewAlertmanagerRefusesBadConfig(t *testing.T) {
	for _, cfg := range []AlertmanagerConfig{
		{Instance: "i"},
		{URLs: []string{"http://am:9093"}},
		{URLs: []string{"am:9093"}, Instance: "i"},
		{URLs: []string{"ftp://am"}, Instance: "i"},
	} {
		if _, err := NewAlertmanager(cfg); err == nil {
			t.Errorf("NewAlertmanager(%+v) succeeded", cfg)
		}
	}
}
