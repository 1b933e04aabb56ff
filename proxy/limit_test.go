package proxy_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofailover/gofailover/health"
	"github.com/gofailover/gofailover/proxy"
	"github.com/gofailover/gofailover/proxy/upstream"
)

// TestConcurrentRequestsPerUpstreamAreCapped sends six different misses
// at once to a slow upstream allowed two requests in flight: it never sees
// more than two at a time, and every request is answered.
func TestConcurrentRequestsPerUpstreamAreCapped(t *testing.T) {
	var inFlight, peak atomic.Int32
	mirror := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(50 * time.Millisecond)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"Version":"v1.0.0","Time":"2024-01-02T03:04:05Z"}`)
	}))
	t.Cleanup(mirror.Close)

	ups, err := health.NewUpstreams([]string{mirror.URL}, health.Limits{MaxInFlight: 2})
	if err != nil {
		t.Fatal(err)
	}
	srv, _, _ := serveHandler(t, proxy.Config{Router: health.Static(ups),
		Client: upstream.New(upstream.Config{SlotWait: 10 * time.Second})})

	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() {
			resp, err := http.Get(fmt.Sprintf("%s/example.com/m%d/@v/v1.0.0.info", srv.URL, i))
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Errorf("request %d: %s", i, resp.Status)
			}
		})
	}
	wg.Wait()
	if p := peak.Load(); p != 2 {
		t.Errorf("the upstream saw at most %d requests at once, want exactly the cap of 2", p)
	}
}
