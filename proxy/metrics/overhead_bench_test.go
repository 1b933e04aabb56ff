package metrics_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gofailover/gofailover/cache"
	"github.com/gofailover/gofailover/health"
	"github.com/gofailover/gofailover/proxy"
	"github.com/gofailover/gofailover/proxy/metrics"
	"github.com/gofailover/gofailover/proxy/mirrortest"
)

// hitServer is a handler with its cache warm, served over loopback.
type hitServer struct {
	url    string
	scrape func() // nil when metrics are off
}

// newHitServer returns a server in front of m whose cache holds paths,
// with metrics on (request counts, a registry over the handler, pool and
// store) or instrumentation off (no request counts, no registry).
func newHitServer(b *testing.B, m *mirrortest.Mirror, on bool, paths ...string) hitServer {
	b.Helper()
	store, err := cache.Open(cache.Options{Reserve: 64 << 20, Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	ups, err := health.NewUpstreams([]string{m.URL()}, health.Limits{})
	if err != nil {
		b.Fatal(err)
	}
	pool := health.NewPool(ups, health.Config{}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	h := proxy.New(ctx, proxy.Config{Store: store, Router: pool, NoRequestCounts: !on})
	srv := httptest.NewServer(h)
	b.Cleanup(func() {
		srv.Close()
		cancel()
		h.Wait()
		store.Close()
	})
	hs := hitServer{url: srv.URL}
	if on {
		reg := metrics.NewRegistry(metrics.Sources{Handler: h, Pools: []metrics.Pool{{Name: "public", Pool: pool}}, Store: store})
		page := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})
		hs.scrape = func() { page.ServeHTTP(discardWriter{http.Header{}}, httptest.NewRequest("GET", "/metrics", nil)) }
	}
	for _, p := range paths {
		if status := get(b, http.DefaultClient, hs.url+p); status != http.StatusOK {
			b.Fatalf("warming %s: %d", p, status)
		}
	}
	return hs
}

// discardWriter is a ResponseWriter that throws the body away.
type discardWriter struct{ h http.Header }

func (w discardWriter) Header() http.Header         { return w.h }
func (w discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w discardWriter) WriteHeader(int)             {}

func get(b *testing.B, c *http.Client, url string) int {
	resp, err := c.Get(url)
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// BenchmarkCacheHitMetricsOverhead measures what metrics cost the
// cache-hit path: two handlers with the same answers cached, one with
// metrics on (request counts, and a registry over the handler, pool and
// store scraped every second meanwhile, fifteen times as often as
// Prometheus does by default) and one with the instrumentation off, served
// over loopback to four concurrent clients, alternating rounds side by
// side. It reports the median time per request of each and their ratio
// (target: on/off at most 1.05), for a .info and for a 1 MiB zip, and the
// median time one scrape takes.
//
//	go test -run '^$' -bench CacheHitMetricsOverhead -benchtime 2000x ./proxy/metrics
func BenchmarkCacheHitMetricsOverhead(b *testing.B) {
	zipMod, err := mirrortest.SyntheticModule("example.com/big", "v1.0.0", 1<<20)
	if err != nil {
		b.Fatal(err)
	}
	mods := append(mirrortest.TestdataModules(b), zipMod)
	m := mirrortest.NewMirror(nil, mods...)
	b.Cleanup(m.Close)
	const info, zip = "/example.com/lib/@v/v1.1.0.info", "/example.com/big/@v/v1.0.0.zip"
	on := newHitServer(b, m, true, info, zip)
	off := newHitServer(b, m, false, info, zip)

	const clients, rounds = 4, 21
	var scrapes []time.Duration
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	// round sends b.N requests for path to s from the clients and returns
	// the time per request.
	round := func(s hitServer, path string) time.Duration {
		stop := make(chan struct{})
		var scraper sync.WaitGroup
		if s.scrape != nil {
			scraper.Go(func() {
				t := time.NewTicker(time.Second)
				defer t.Stop()
				for {
					select {
					case <-stop:
						return
					case <-t.C:
						start := time.Now()
						s.scrape()
						scrapes = append(scrapes, time.Since(start))
					}
				}
			})
		}
		start := time.Now()
		var wg sync.WaitGroup
		for c := range clients {
			wg.Go(func() {
				for i := c; i < b.N; i += clients {
					if status := get(b, client, s.url+path); status != http.StatusOK {
						b.Errorf("GET %s: %d", path, status)
						return
					}
				}
			})
		}
		wg.Wait()
		elapsed := time.Since(start)
		close(stop)
		scraper.Wait()
		return elapsed / time.Duration(b.N)
	}
	b.ResetTimer()
	for _, c := range []struct{ name, path string }{{"info", info}, {"zip1MiB", zip}} {
		mOn, mOff := mirrortest.SideBySide(rounds,
			func(int) time.Duration { return round(on, c.path) },
			func(int) time.Duration { return round(off, c.path) })
		b.ReportMetric(float64(mOn.Nanoseconds()), fmt.Sprintf("ns/%s-metrics-on", c.name))
		b.ReportMetric(float64(mOff.Nanoseconds()), fmt.Sprintf("ns/%s-metrics-off", c.name))
		b.ReportMetric(float64(mOn)/float64(mOff), c.name+"-on/off")
	}
	if len(scrapes) > 0 {
		b.ReportMetric(float64(mirrortest.Median(scrapes).Microseconds()), "µs/scrape")
	}
}
