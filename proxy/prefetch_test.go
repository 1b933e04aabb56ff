package proxy_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/gofailover/gofailover/cache"
	"github.com/gofailover/gofailover/health"
	"github.com/gofailover/gofailover/proxy"
	"github.com/gofailover/gofailover/proxy/mirrortest"
	"github.com/gofailover/gofailover/proxy/upstream"
)

// prefetchRig starts a handler with prefetching in front of mirror.
func prefetchRig(t *testing.T, mirror *mirrortest.Mirror, p proxy.Prefetch) (string, *proxy.Handler) {
	t.Helper()
	srv, h, _ := serveHandler(t, proxy.Config{
		SumDBName: "sumdb.test",
		Prefetch:  p,
		Client:    upstream.New(upstream.Config{ConnectTimeout: time.Second, FirstByteTimeout: 2 * time.Second}),
	}, mirror.URL())
	return srv.URL, h
}

// waitFor polls until the mirror has been asked for every path, or fails.
func waitFor(t *testing.T, mirror *mirrortest.Mirror, paths ...string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for _, p := range paths {
		for mirror.Count(p) == 0 {
			if time.Now().After(deadline) {
				t.Fatalf("%s was not prefetched; the mirror saw %v", p, mirror.Requests())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// TestPrefetchFollowsRequirements: once the go command asks for a .mod,
// its requirements' .mod and .info files are fetched ahead (the go
// command asks for the .info of every module it downloads, in `go mod
// download`, `go build` and `go list -m` alike), and the go command's
// requests for them are cache hits, counted as prefetch hits.
func TestPrefetchFollowsRequirements(t *testing.T) {
	_, _, mirror := fixture(t)
	url, h := prefetchRig(t, mirror, proxy.Prefetch{Mods: true})
	if resp, body := do(t, http.MethodGet, url+"/example.com/app/@v/v1.0.0.mod"); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET app's .mod: %s %s", resp.Status, body)
	}
	var reqs []string
	for _, v := range []string{"/example.com/lib/@v/v1.1.0", "/example.com/!upper/!case/@v/v1.0.0", "/example.com/util/@v/v1.0.0"} {
		reqs = append(reqs, v+".mod", v+".info")
	}
	waitFor(t, mirror, reqs...)
	deadline := time.Now().Add(5 * time.Second)
	for h.PrefetchStats().Fetched < uint64(len(reqs)) {
		if time.Now().After(deadline) {
			t.Fatalf("prefetch stats: %+v", h.PrefetchStats())
		}
		time.Sleep(5 * time.Millisecond)
	}
	for _, p := range reqs {
		resp, _ := do(t, http.MethodGet, url+p)
		if resp.StatusCode != http.StatusOK || resp.Header.Get(proxy.CacheHeader) != "hit" {
			t.Errorf("GET %s after the prefetch: %s %s, want a hit", p, resp.Status, resp.Header.Get(proxy.CacheHeader))
		}
		if n := mirror.Count(p); n != 1 {
			t.Errorf("%s asked of the mirror %d times, want once", p, n)
		}
	}
	if st := h.PrefetchStats(); st.Hits != uint64(len(reqs)) || st.Failed != 0 {
		t.Errorf("prefetch stats: %+v, want %d hits", st, len(reqs))
	}
}

// TestPrefetchAfterInfo: the .info of a version the go command asks for
// brings its .mod and (with Zips) its .zip; without Zips, no zip.
func TestPrefetchAfterInfo(t *testing.T) {
	for _, zips := range []bool{false, true} {
		_, _, mirror := fixture(t)
		url, _ := prefetchRig(t, mirror, proxy.Prefetch{Mods: true, Zips: zips})
		if resp, body := do(t, http.MethodGet, url+"/example.com/lib/@v/v1.0.0.info"); resp.StatusCode != http.StatusOK {
			t.Fatalf("GET .info: %s %s", resp.Status, body)
		}
		waitFor(t, mirror, "/example.com/lib/@v/v1.0.0.mod")
		if zips {
			waitFor(t, mirror, "/example.com/lib/@v/v1.0.0.zip")
		} else {
			time.Sleep(50 * time.Millisecond)
			if n := mirror.Count("/example.com/lib/@v/v1.0.0.zip"); n != 0 {
				t.Errorf("the zip was prefetched %d times without Zips", n)
			}
		}
	}
}

// TestPrefetchedInfoStandsForAMiss: the first request for a .info that
// was prefetched (a requirement's) is a hit, and brings what a miss would
// have brought: with Zips, the version's .zip. Before that request, the
// zip is not fetched.
func TestPrefetchedInfoStandsForAMiss(t *testing.T) {
	_, _, mirror := fixture(t)
	url, _ := prefetchRig(t, mirror, proxy.Prefetch{Mods: true, Zips: true})
	if resp, body := do(t, http.MethodGet, url+"/example.com/app/@v/v1.0.0.mod"); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET app's .mod: %s %s", resp.Status, body)
	}
	const info, zip = "/example.com/lib/@v/v1.1.0.info", "/example.com/lib/@v/v1.1.0.zip"
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, _ := do(t, http.MethodGet, url+"/example.com/util/@v/v1.0.0.info") // a requirement too: prefetched
		if resp.Header.Get(proxy.CacheHeader) == "hit" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("util's .info was not prefetched: %s", resp.Header.Get(proxy.CacheHeader))
		}
		time.Sleep(10 * time.Millisecond)
	}
	waitFor(t, mirror, info)
	time.Sleep(50 * time.Millisecond)
	if n := mirror.Count(zip); n != 0 {
		t.Fatalf("lib's zip was fetched %d times before its .info was asked for", n)
	}
	resp, _ := do(t, http.MethodGet, url+info)
	if resp.StatusCode != http.StatusOK || resp.Header.Get(proxy.CacheHeader) != "hit" {
		t.Fatalf("GET %s: %s %s, want a hit", info, resp.Status, resp.Header.Get(proxy.CacheHeader))
	}
	waitFor(t, mirror, zip)
	// Asked again, the .info is a plain hit: nothing more is fetched.
	do(t, http.MethodGet, url+info)
	time.Sleep(50 * time.Millisecond)
	if n := mirror.Count(zip); n != 1 {
		t.Errorf("lib's zip fetched %d times, want once", n)
	}
}

// TestPrefetchOffFetchesNothingAhead: with the zero Prefetch, only what
// is asked for is fetched.
func TestPrefetchOffFetchesNothingAhead(t *testing.T) {
	_, _, mirror := fixture(t)
	url, h := prefetchRig(t, mirror, proxy.Prefetch{})
	do(t, http.MethodGet, url+"/example.com/app/@v/v1.0.0.info")
	do(t, http.MethodGet, url+"/example.com/app/@v/v1.0.0.mod")
	time.Sleep(50 * time.Millisecond)
	if reqs := mirror.Requests(); len(reqs) != 2 {
		t.Errorf("the mirror saw %v, want the two answers asked for", reqs)
	}
	if st := h.PrefetchStats(); st != (proxy.PrefetchStats{}) {
		t.Errorf("prefetch stats with prefetching off: %+v", st)
	}
}

// TestPrefetchTakesOnlySpareSlots: prefetches never take, nor wait for,
// the request slots users' requests need. With an upstream capped at 2
// requests and the requirements' .mod files hanging at the mirror, one
// prefetch takes the one spare slot, the others give up at once, and a
// user's request still gets the last slot.
func TestPrefetchTakesOnlySpareSlots(t *testing.T) {
	_, _, mirror := fixture(t)
	mirror.SetFaults(mirrortest.Blackhole().OnPrefix("/example.com/lib/"), mirrortest.Blackhole().OnPrefix("/example.com/util/"),
		mirrortest.Blackhole().OnPrefix("/example.com/!upper/"))
	store, err := cache.Open(cache.Options{Reserve: 64 << 20, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	ups, err := health.NewUpstreams([]string{mirror.URL()}, health.Limits{MaxInFlight: 2})
	if err != nil {
		t.Fatal(err)
	}
	srv, h := startHandler(t, proxy.Config{
		Store: store, Router: health.Static(ups), SumDBName: "sumdb.test",
		Prefetch: proxy.Prefetch{Mods: true},
		Client:   upstream.New(upstream.Config{ConnectTimeout: time.Second, FirstByteTimeout: 3 * time.Second}),
	})
	if resp, body := do(t, http.MethodGet, srv.URL+"/example.com/app/@v/v1.0.0.mod"); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET app's .mod: %s %s", resp.Status, body)
	}
	deadline := time.Now().Add(5 * time.Second)
	for h.PrefetchStats().Failed < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the prefetches that found no spare slot did not give up: %+v; the mirror saw %v", h.PrefetchStats(), mirror.Requests())
		}
		time.Sleep(5 * time.Millisecond)
	}
	resp, body := do(t, http.MethodGet, srv.URL+"/example.com/pre/@v/v1.2.0-rc.1.info")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("a user's request while a prefetch held the spare slot: %s %s", resp.Status, body)
	}
	hanging := 0
	for _, r := range mirror.Requests() {
		if r != "/example.com/app/@v/v1.0.0.mod" && r != "/example.com/pre/@v/v1.2.0-rc.1.info" {
			hanging++
		}
	}
	if hanging != 1 {
		t.Errorf("%d prefetches reached the mirror, want 1 (one spare slot of 2): %v", hanging, mirror.Requests())
	}
}

// TestPrefetchZipsOnEvidence: with Zips, once the go command asks for a
// module's .zip, its requirements' .info, .mod and .zip are fetched ahead
// (it is building that module's packages); the go command's requests
// for them are hits.
func TestPrefetchZipsOnEvidence(t *testing.T) {
	_, _, mirror := fixture(t)
	url, h := prefetchRig(t, mirror, proxy.Prefetch{Mods: true, Zips: true})
	for _, p := range []string{"/example.com/app/@v/v1.0.0.mod", "/example.com/app/@v/v1.0.0.zip"} {
		if resp, body := do(t, http.MethodGet, url+p); resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s %s", p, resp.Status, body)
		}
	}
	want := []string{"/example.com/lib/@v/v1.1.0.zip", "/example.com/lib/@v/v1.1.0.info", "/example.com/util/@v/v1.0.0.zip", "/example.com/!upper/!case/@v/v1.0.0.zip"}
	waitFor(t, mirror, want...)
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, _ := do(t, http.MethodGet, url+want[0])
		if resp.Header.Get(proxy.CacheHeader) == "hit" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the prefetched zip is not a hit: %s", resp.Header.Get(proxy.CacheHeader))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if st := h.PrefetchStats(); st.Hits == 0 {
		t.Errorf("prefetch stats: %+v", st)
	}
}
