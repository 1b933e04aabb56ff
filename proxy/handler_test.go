package proxy_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofailover/gofailover/cache"
	"github.com/gofailover/gofailover/health"
	"github.com/gofailover/gofailover/proxy"
	"github.com/gofailover/gofailover/proxy/mirrortest"
	"github.com/gofailover/gofailover/proxy/upstream"
)

// clock is a settable time source for freshness tests.
type clock struct{ ns atomic.Int64 }

func newClock() *clock               { c := &clock{}; c.ns.Store(time.Now().UnixNano()); return c }
func (c *clock) Now() time.Time      { return time.Unix(0, c.ns.Load()) }
func (c *clock) Add(d time.Duration) { c.ns.Add(int64(d)) }

// rig is a gofailover handler on httptest in front of test upstreams.
type rig struct {
	srv   *httptest.Server
	h     *proxy.Handler
	store *cache.Store
	clock *clock
}

func newRig(t *testing.T, upstreamURLs ...string) *rig {
	t.Helper()
	c := newClock()
	srv, h, store := serveHandler(t, proxy.Config{
		SumDBName: "sumdb.test",
		Client:    upstream.New(upstream.Config{ConnectTimeout: time.Second, FirstByteTimeout: 2 * time.Second, IdleTimeout: 2 * time.Second}),
		Now:       c.Now,
	}, upstreamURLs...)
	return &rig{srv: srv, h: h, store: store, clock: c}
}

// serveHandler serves a Handler with cfg on httptest, its Store a fresh
// cache and its Router the upstreams in the given order (unless cfg sets
// them), and stops it all when the test ends.
func serveHandler(tb testing.TB, cfg proxy.Config, upstreamURLs ...string) (*httptest.Server, *proxy.Handler, *cache.Store) {
	tb.Helper()
	store, err := cache.Open(cache.Options{Reserve: 64 << 20, Dir: tb.TempDir()})
	if err != nil {
		tb.Fatal(err)
	}
	ups, err := health.NewUpstreams(upstreamURLs, health.Limits{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { store.Close() }) // after the handler stops
	cfg.Store = store
	if cfg.Router == nil {
		cfg.Router = health.Static(ups)
	}
	srv, h := startHandler(tb, cfg)
	return srv, h, store
}

// startHandler serves a Handler with cfg (Store and Router set) on
// httptest, and when the test ends stops the server, then the handler's
// fetches. Closing the store is the caller's, registered before.
func startHandler(tb testing.TB, cfg proxy.Config) (*httptest.Server, *proxy.Handler) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	h := proxy.New(ctx, cfg)
	srv := httptest.NewServer(h)
	tb.Cleanup(func() {
		srv.Close()
		cancel()
		h.Wait()
	})
	return srv, h
}

func (r *rig) get(t *testing.T, path string, hdr ...string) (*http.Response, string) {
	t.Helper()
	return do(t, http.MethodGet, r.srv.URL+path, hdr...)
}

func do(t *testing.T, method, url string, hdr ...string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

// fixture starts a healthy mirror with the testdata modules and its database.
func fixture(t *testing.T) ([]*mirrortest.Module, *mirrortest.SumDB, *mirrortest.Mirror) {
	t.Helper()
	mods := mirrortest.TestdataModules(t)
	db, m := serveModules(t, mods)
	return mods, db, m
}

// serveModules starts a healthy mirror of mods and a database of them
// (named sumdb.test); the mirror stops when the test ends.
func serveModules(t *testing.T, mods []*mirrortest.Module) (*mirrortest.SumDB, *mirrortest.Mirror) {
	t.Helper()
	db, err := mirrortest.NewSumDB("sumdb.test", mods)
	if err != nil {
		t.Fatal(err)
	}
	m := mirrortest.NewMirror(db, mods...)
	t.Cleanup(m.Close)
	return db, m
}

func TestServesEveryEndpointThenHitsCache(t *testing.T) {
	mods, _, mirror := fixture(t)
	r := newRig(t, mirror.URL())
	lib := mirrortest.Lookup(mods, "example.com/lib", "v1.1.0")
	upper := mirrortest.Lookup(mods, "example.com/Upper/Case", "v1.0.0")
	tests := []struct {
		path, ctype, body, cacheControl string
	}{
		{"/example.com/lib/@v/list", "text/plain; charset=utf-8", "v1.0.0\nv1.1.0\n", "public, max-age=60"},
		{"/example.com/lib/@latest", "application/json", string(lib.Info), "public, max-age=60"},
		{"/example.com/lib/@v/v1.1.0.info", "application/json", string(lib.Info), "public, max-age=31536000, immutable"},
		{"/example.com/lib/@v/v1.1.0.mod", "text/plain; charset=utf-8", string(lib.Mod), "public, max-age=31536000, immutable"},
		{"/example.com/lib/@v/v1.1.0.zip", "application/zip", string(lib.Zip), "public, max-age=31536000, immutable"},
		{"/example.com/!upper/!case/@v/v1.0.0.zip", "application/zip", string(upper.Zip), "public, max-age=31536000, immutable"},
		{"/sumdb/sumdb.test/supported", "text/plain; charset=utf-8", "", "public, max-age=60"},
	}
	for _, tt := range tests {
		for i, want := range []string{"miss", "hit"} {
			resp, body := r.get(t, tt.path)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s #%d: %s: %s", tt.path, i, resp.Status, body)
			}
			if got := resp.Header.Get(proxy.CacheHeader); got != want {
				t.Errorf("GET %s #%d: %s = %q, want %q", tt.path, i, proxy.CacheHeader, got, want)
			}
			if body != tt.body {
				t.Errorf("GET %s #%d: body differs from the mirror's (%d vs %d bytes)", tt.path, i, len(body), len(tt.body))
			}
			if got := resp.Header.Get("Content-Type"); got != tt.ctype {
				t.Errorf("GET %s: Content-Type %q, want %q", tt.path, got, tt.ctype)
			}
			if got := resp.Header.Get("Content-Length"); got != fmt.Sprint(len(tt.body)) {
				t.Errorf("GET %s: Content-Length %q, want %d", tt.path, got, len(tt.body))
			}
			if got := resp.Header.Get("Cache-Control"); got != tt.cacheControl {
				t.Errorf("GET %s: Cache-Control %q, want %q", tt.path, got, tt.cacheControl)
			}
			if resp.Header.Get("ETag") == "" {
				t.Errorf("GET %s: no ETag", tt.path)
			}
		}
		if n := mirror.Count(tt.path); n != 1 {
			t.Errorf("mirror saw %s %d times, want 1", tt.path, n)
		}
	}
}

func TestConditionalRangeAndHead(t *testing.T) {
	mods, _, mirror := fixture(t)
	r := newRig(t, mirror.URL())
	lib := mirrortest.Lookup(mods, "example.com/lib", "v1.1.0")
	const path = "/example.com/lib/@v/v1.1.0.zip"

	resp, _ := r.get(t, path)
	etag := resp.Header.Get("ETag")
	if resp, _ = r.get(t, path, "If-None-Match", etag); resp.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match with the ETag: %s, want 304", resp.Status)
	}
	if resp, _ = r.get(t, path, "If-None-Match", `"other"`); resp.StatusCode != http.StatusOK {
		t.Errorf("If-None-Match with another ETag: %s, want 200", resp.Status)
	}
	resp, body := r.get(t, path, "Range", "bytes=10-19")
	if resp.StatusCode != http.StatusPartialContent || body != string(lib.Zip[10:20]) {
		t.Errorf("Range bytes=10-19: %s, body %q, want 206 and the 10 bytes", resp.Status, body)
	}
	resp, body = do(t, http.MethodHead, r.srv.URL+path)
	if resp.StatusCode != http.StatusOK || body != "" || resp.ContentLength != int64(len(lib.Zip)) {
		t.Errorf("HEAD: %s, %d body bytes, Content-Length %d", resp.Status, len(body), resp.ContentLength)
	}
	// HEAD of an answer not yet cached fetches it.
	resp, _ = do(t, http.MethodHead, r.srv.URL+"/example.com/lib/@v/v1.0.0.mod")
	if resp.StatusCode != http.StatusOK || resp.Header.Get(proxy.CacheHeader) != "miss" {
		t.Errorf("HEAD of an uncached .mod: %s %s", resp.Status, resp.Header.Get(proxy.CacheHeader))
	}
}

func TestFetchesOnlyWhatIsAsked(t *testing.T) {
	_, _, mirror := fixture(t)
	r := newRig(t, mirror.URL())
	if resp, body := r.get(t, "/example.com/lib/@v/v1.1.0.mod"); resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %s", resp.Status, body)
	}
	if got := mirror.Requests(); len(got) != 1 || got[0] != "/example.com/lib/@v/v1.1.0.mod" {
		t.Errorf("mirror requests = %q, want only the .mod", got)
	}
}

func TestFirstUpstreamDeadSecondServes(t *testing.T) {
	_, _, mirror := fixture(t)
	r := newRig(t, mirrortest.ClosedURL(t), mirror.URL())
	resp, body := r.get(t, "/example.com/lib/@v/v1.1.0.zip")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s: %s", resp.Status, body)
	}
}

func TestUpstreamFailuresMoveOn(t *testing.T) {
	for _, fault := range []mirrortest.Fault{
		mirrortest.Status(503),
		mirrortest.Status(500),
		mirrortest.RateLimited(time.Second),
		mirrortest.ResetMidBody(),
		mirrortest.Status(302), // a redirect without Location
	} {
		t.Run(fault.String(), func(t *testing.T) {
			_, _, bad := fixture(t)
			_, _, good := fixture(t)
			bad.SetFault(fault)
			r := newRig(t, bad.URL(), good.URL())
			for _, p := range []string{"/example.com/lib/@v/v1.1.0.zip", "/example.com/lib/@v/list", "/example.com/lib/@v/v1.1.0.info"} {
				if resp, body := r.get(t, p); resp.StatusCode != http.StatusOK {
					t.Errorf("GET %s: %s: %s", p, resp.Status, body)
				}
			}
		})
	}
}

func TestBlackholeUpstreamTimesOutAndMovesOn(t *testing.T) {
	_, _, bad := fixture(t)
	_, _, good := fixture(t)
	bad.SetFault(mirrortest.Blackhole())
	r := newRig(t, bad.URL(), good.URL())
	if resp, body := r.get(t, "/example.com/lib/@v/v1.1.0.mod"); resp.StatusCode != http.StatusOK {
		t.Errorf("%s: %s", resp.Status, body)
	}
}

func TestNotFoundWhateverMixOfRefusals(t *testing.T) {
	_, _, mirror := fixture(t)
	refusers := []string{mirror.URL()}
	for _, code := range []int{400, 403, 410} {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "refused by this mirror", code)
		}))
		t.Cleanup(s.Close)
		refusers = append(refusers, s.URL)
	}
	r := newRig(t, refusers...)
	for _, p := range []string{"/example.com/nosuch/@v/list", "/example.com/@v/list", "/example.com/lib/@v/v9.9.9.info", "/example.com/lib/@latest/../x"} {
		resp, body := r.get(t, p)
		if p == "/example.com/lib/@latest/../x" {
			continue // covered by the malformed-request table
		}
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %s, want 404", p, resp.Status)
		}
		if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") || strings.Count(body, "\n") != 1 {
			t.Errorf("GET %s: want a one-line text/plain reason, got %q", p, body)
		}
	}
}

func TestNotFoundWinsOverFailure(t *testing.T) {
	_, _, mirror := fixture(t)
	r := newRig(t, mirrortest.ClosedURL(t), mirror.URL())
	if resp, body := r.get(t, "/example.com/nosuch/@v/list"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("%s: %s, want 404", resp.Status, body)
	}
}

func TestTotalOutageIs502NamingEachUpstream(t *testing.T) {
	_, _, bad := fixture(t)
	bad.SetFault(mirrortest.Status(503))
	dead := mirrortest.ClosedURL(t)
	r := newRig(t, dead, bad.URL())
	resp, body := r.get(t, "/example.com/lib/@v/v1.1.0.info")
	if resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("%s, want 502", resp.Status)
	}
	if !strings.Contains(body, dead) || !strings.Contains(body, bad.URL()) || !strings.Contains(body, "503") ||
		strings.Count(body, "\n") != 1 {
		t.Errorf("reason %q should name each upstream and what it did, on one line", body)
	}
}

func TestServesFromCacheWhenEveryUpstreamIsDown(t *testing.T) {
	mods, _, mirror := fixture(t)
	r := newRig(t, mirror.URL())
	lib := mirrortest.Lookup(mods, "example.com/lib", "v1.1.0")
	paths := []string{"/example.com/lib/@v/list", "/example.com/lib/@latest", "/example.com/lib/@v/v1.1.0.info",
		"/example.com/lib/@v/v1.1.0.mod", "/example.com/lib/@v/v1.1.0.zip"}
	for _, p := range paths {
		r.get(t, p)
	}
	mirror.Close()
	r.clock.Add(time.Hour) // every mutable answer is now stale
	for _, p := range paths {
		resp, body := r.get(t, p)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s with every upstream down: %s: %s", p, resp.Status, body)
			continue
		}
		want := "hit"
		if strings.HasSuffix(p, "list") || strings.HasSuffix(p, "latest") {
			want = "stale"
		}
		if got := resp.Header.Get(proxy.CacheHeader); got != want {
			t.Errorf("GET %s: %s = %q, want %q", p, proxy.CacheHeader, got, want)
		}
	}
	if _, body := r.get(t, "/example.com/lib/@v/v1.1.0.zip"); body != string(lib.Zip) {
		t.Error("the cached zip differs from the original")
	}
}

func TestMutableAnswersRefreshAfterTTL(t *testing.T) {
	mods, _, mirror := fixture(t)
	r := newRig(t, mirror.URL())
	r.get(t, "/example.com/lib/@v/list")
	newer, err := mirrortest.NewModule("example.com/lib", "v1.2.0", map[string][]byte{"go.mod": []byte("module example.com/lib\n")})
	if err != nil {
		t.Fatal(err)
	}
	mirror.Add(newer)
	if _, body := r.get(t, "/example.com/lib/@v/list"); strings.Contains(body, "v1.2.0") {
		t.Error("a fresh cached list was refetched before its TTL")
	}
	r.clock.Add(proxy.DefaultMutableTTL + time.Second)
	resp, body := r.get(t, "/example.com/lib/@v/list")
	if !strings.Contains(body, "v1.2.0") || resp.Header.Get(proxy.CacheHeader) != "miss" {
		t.Errorf("after the TTL the list was not refetched: %q (%s)", body, resp.Header.Get(proxy.CacheHeader))
	}
	_ = mods
}

func TestConcurrentMissesShareOneFetch(t *testing.T) {
	big, err := mirrortest.SyntheticModule("example.com/big", "v1.0.0", 2<<20)
	if err != nil {
		t.Fatal(err)
	}
	mirror := mirrortest.NewMirror(nil, big)
	t.Cleanup(mirror.Close)
	mirror.SetFault(mirrortest.Slow(300 * time.Millisecond))
	r := newRig(t, mirror.URL())
	const path = "/example.com/big/@v/v1.0.0.zip"
	var wg sync.WaitGroup
	errs := make(chan error, 200)
	for range 200 {
		wg.Go(func() {
			resp, err := http.Get(r.srv.URL + path)
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			n, err := io.Copy(io.Discard, resp.Body)
			if err != nil || resp.StatusCode != http.StatusOK || n != int64(len(big.Zip)) {
				errs <- fmt.Errorf("%s, %d bytes, %v", resp.Status, n, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := mirror.Count(path); n != 1 {
		t.Errorf("200 concurrent requests reached the upstream %d times, want 1", n)
	}
}

func TestCacheHitDoesNotWaitBehindMiss(t *testing.T) {
	_, _, mirror := fixture(t)
	r := newRig(t, mirror.URL())
	r.get(t, "/example.com/lib/@v/v1.1.0.info")
	mirror.SetFault(mirrortest.Blackhole())
	missDone := make(chan struct{})
	go func() {
		defer close(missDone)
		http.Get(r.srv.URL + "/example.com/util/@v/v1.0.0.zip")
	}()
	time.Sleep(100 * time.Millisecond) // let the miss reach the blackhole
	for range 20 {
		resp, _ := r.get(t, "/example.com/lib/@v/v1.1.0.info")
		if resp.StatusCode != http.StatusOK || resp.Header.Get(proxy.CacheHeader) != "hit" {
			t.Fatalf("hit while a miss is stuck: %s", resp.Status)
		}
	}
	select {
	case <-missDone:
		t.Error("the miss finished before the hits: the test did not overlap them")
	default:
	}
}

func TestSumDBPassThroughIsCached(t *testing.T) {
	_, _, mirror := fixture(t)
	r := newRig(t, mirror.URL())
	const lookup = "/sumdb/sumdb.test/lookup/example.com/lib@v1.1.0"
	resp, body := r.get(t, lookup)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "example.com/lib v1.1.0 h1:") {
		t.Fatalf("lookup: %s: %q", resp.Status, body)
	}
	resp, _ = r.get(t, lookup)
	if resp.Header.Get(proxy.CacheHeader) != "hit" || mirror.Count(lookup) != 1 {
		t.Errorf("second lookup: %s, mirror count %d", resp.Header.Get(proxy.CacheHeader), mirror.Count(lookup))
	}
	if resp, body := r.get(t, "/sumdb/other.test/supported"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown database: %s: %s", resp.Status, body)
	}
}

func TestMalformedRequestsThroughHandler(t *testing.T) {
	_, _, mirror := fixture(t)
	r := newRig(t, mirror.URL())
	tests := []struct {
		method, path string
		status       int
	}{
		{"POST", "/example.com/lib/@v/list", http.StatusMethodNotAllowed},
		{"PUT", "/example.com/lib/@v/v1.0.0.zip", http.StatusMethodNotAllowed},
		{"DELETE", "/example.com/lib/@v/v1.0.0.zip", http.StatusMethodNotAllowed},
		{"GET", "/example.com/../lib/@v/list", http.StatusBadRequest},
		{"GET", "/example.com//lib/@v/list", http.StatusBadRequest},
		{"GET", "//example.com/lib/@v/list", http.StatusBadRequest},
		{"GET", "/example.com/lib/@v/v1.0.zip", http.StatusBadRequest},
		{"GET", "/example.com/lib/@v/v1.0.0.exe", http.StatusNotFound},
		{"GET", "/robots.txt", http.StatusNotFound},
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tt := range tests {
		req, _ := http.NewRequest(tt.method, r.srv.URL+tt.path, nil)
		req.URL.Opaque = tt.path // send the path exactly as written
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.status {
			t.Errorf("%s %s: %s (%q), want %d", tt.method, tt.path, resp.Status, body, tt.status)
		}
	}
	if n := len(mirror.Requests()); n != 0 {
		t.Errorf("malformed requests reached the upstream %d times", n)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	_, _, mirror := fixture(t)
	r := newRig(t, mirror.URL())
	for _, p := range []string{"/healthz", "/readyz"} {
		if resp, body := r.get(t, p); resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %s: %s", p, resp.Status, body)
		}
	}
}

func TestOversizedUpstreamBodyMovesOn(t *testing.T) {
	_, _, good := fixture(t)
	huge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// No Content-Length: the limit must hold while streaming.
		chunk := strings.Repeat("x", 1<<20)
		for range 17 {
			if _, err := io.WriteString(w, chunk); err != nil {
				return
			}
		}
	}))
	t.Cleanup(huge.Close)
	r := newRig(t, huge.URL, good.URL())
	resp, body := r.get(t, "/example.com/lib/@v/v1.1.0.mod")
	if resp.StatusCode != http.StatusOK || len(body) > 1<<10 {
		t.Errorf("%s, %d bytes: want the good mirror's small go.mod", resp.Status, len(body))
	}
}

// TestStalledBodyMovesOn: an upstream that sends its header and part of a
// zip, then stalls, is abandoned after the idle timeout and the next
// upstream's copy is served; the client never sees the partial body.
func TestStalledBodyMovesOn(t *testing.T) {
	mods, _, good := fixture(t)
	lib := mirrortest.Lookup(mods, "example.com/lib", "v1.1.0")
	release := make(chan struct{})
	stalled := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(len(lib.Zip)))
		w.Write(lib.Zip[:len(lib.Zip)/2])
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(release); stalled.Close() })
	srv, _, store := serveHandler(t, proxy.Config{Client: upstream.New(upstream.Config{IdleTimeout: 300 * time.Millisecond, MinBodyRate: -1})}, stalled.URL, good.URL())
	resp, err := http.Get(srv.URL + "/example.com/lib/@v/v1.1.0.zip")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || !bytes.Equal(body, lib.Zip) {
		t.Fatalf("%s, %d bytes, %v: want the whole zip from the second upstream", resp.Status, len(body), err)
	}
	if e, err := store.Lookup("/example.com/lib/@v/v1.1.0.zip"); err != nil || e.Upstream != good.URL() {
		t.Errorf("stored entry %+v, %v: want it from %s", e, err, good.URL())
	}
}
