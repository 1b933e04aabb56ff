package proxy_test

import (
	"fmt"
	"io"
	"log/slog"
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

// TestBurstWaitsItsTurn: bursts of distinct misses far larger than the
// mirror's cap of requests in flight all succeed: they wait their turn for
// a slot instead of failing after the slot wait. The mirror never sees more
// than the cap at once.
func TestBurstWaitsItsTurn(t *testing.T) {
	for _, tc := range []struct {
		requests int
		delay    time.Duration
	}{
		{200, 50 * time.Millisecond},
		{500, 20 * time.Millisecond},
	} {
		t.Run(fmt.Sprint(tc.requests), func(t *testing.T) {
			var inFlight, peak atomic.Int32
			mirror := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := inFlight.Add(1)
				defer inFlight.Add(-1)
				for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
				}
				time.Sleep(tc.delay)
				fmt.Fprint(w, "v1.0.0\nv1.1.0\n")
			}))
			t.Cleanup(mirror.Close)
			ups, err := health.NewUpstreams([]string{mirror.URL}, health.Limits{MaxInFlight: 32})
			if err != nil {
				t.Fatal(err)
			}
			// A slot wait far shorter than the burst takes, as 5 s is
			// far shorter than a burst against a slow mirror.
			client := upstream.New(upstream.Config{SlotWait: 10 * time.Millisecond, FirstByteTimeout: 30 * time.Second})
			srv, _, _ := serveHandler(t, proxy.Config{Router: health.NewPool(ups, health.Config{}, nil), Client: client,
				Logger: slog.New(slog.DiscardHandler)})
			c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: tc.requests}, Timeout: time.Minute}
			var wg sync.WaitGroup
			var failed atomic.Int32
			start := time.Now()
			for i := range tc.requests {
				wg.Go(func() {
					resp, err := c.Get(fmt.Sprintf("%s/example.com/m%03d/@v/list", srv.URL, i))
					if err != nil {
						failed.Add(1)
						t.Error(err)
						return
					}
					body, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != http.StatusOK {
						if failed.Add(1) <= 3 {
							t.Errorf("request %d: %s %s", i, resp.Status, body)
						}
					}
				})
			}
			wg.Wait()
			t.Logf("%d distinct misses in %v; the mirror saw at most %d at once", tc.requests, time.Since(start), peak.Load())
			if n := failed.Load(); n > 0 {
				t.Errorf("%d of %d requests failed", n, tc.requests)
			}
			if p := peak.Load(); p > 32 {
				t.Errorf("the mirror saw %d requests at once, over the cap of 32", p)
			}
		})
	}
}
