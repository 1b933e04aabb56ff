package proxy_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gofailover/gofailover/health"
	"github.com/gofailover/gofailover/proxy"
	"github.com/gofailover/gofailover/proxy/mirrortest"
)

// BenchmarkServeHit measures the handler alone on a cache hit of a .info,
// in process, without a network between: parsing, refusal checks, the
// store, the trust and freshness checks, and writing the answer.
func BenchmarkServeHit(b *testing.B) {
	m := mirrortest.NewMirror(nil, mirrortest.TestdataModules(b)...)
	b.Cleanup(m.Close)
	ups, err := health.NewUpstreams([]string{m.URL()}, health.Limits{})
	if err != nil {
		b.Fatal(err)
	}
	_, h, _ := serveHandler(b, proxy.Config{Router: health.NewPool(ups, health.Config{}, nil)})
	const info = "/example.com/lib/@v/v1.1.0.info"
	warm := httptest.NewRecorder()
	h.ServeHTTP(warm, httptest.NewRequest(http.MethodGet, info, nil))
	if warm.Code != http.StatusOK {
		b.Fatalf("warming: %d %s", warm.Code, warm.Body)
	}
	req := httptest.NewRequest(http.MethodGet, info, nil)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK || w.Header().Get(proxy.CacheHeader) != "hit" {
			b.Fatalf("%d %s", w.Code, w.Header().Get(proxy.CacheHeader))
		}
	}
}
