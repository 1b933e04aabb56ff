package proxy_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/gofailover/gofailover/health"
	"github.com/gofailover/gofailover/proxy"
	"github.com/gofailover/gofailover/proxy/mirrortest"
)

// TestTrafficLeavesSlowedPreferredUpstream: once the preferred mirror turns
// slow (300 ms before each answer), hedges win against it, and what they
// show of its latency moves it down the order, so that within 20 requests
// it is no longer asked at all.
func TestTrafficLeavesSlowedPreferredUpstream(t *testing.T) {
	rounds, _, err := mirrortest.ModuleRounds(1, 40)
	if err != nil {
		t.Fatal(err)
	}
	var mods []*mirrortest.Module
	for _, r := range rounds {
		mods = append(mods, r...)
	}
	preferred := mirrortest.NewMirror(nil, mods...)
	other := mirrortest.NewMirror(nil, mods...)
	t.Cleanup(preferred.Close)
	t.Cleanup(other.Close)
	ups, err := health.NewUpstreams([]string{preferred.URL(), other.URL()}, health.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	pool := health.NewPool(ups, health.Config{}, nil)
	srv, _, _ := serveHandler(t, proxy.Config{Router: pool, HedgeBudget: 1})

	get := func(m *mirrortest.Module) {
		t.Helper()
		resp, err := http.Get(srv.URL + "/" + m.Path + "/@v/" + m.Version + ".info")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s", m, resp.Status)
		}
	}
	for _, m := range mods[:10] {
		get(m)
	}
	if preferred.Count("/"+mods[9].Path+"/@v/"+mods[9].Version+".info") != 1 {
		t.Fatal("while healthy, the preferred mirror did not serve")
	}

	preferred.SetFault(mirrortest.Slow(300 * time.Millisecond))
	for _, m := range mods[10:20] {
		get(m)
	}
	preferred.ResetRequests()
	for _, m := range mods[20:30] {
		get(m)
	}
	if n := len(preferred.Requests()); n != 0 {
		t.Errorf("10 to 20 requests after it turned slow, the preferred mirror was still asked %d times in 10 requests", n)
	}
}
