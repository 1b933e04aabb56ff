package proxy_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"

	"github.com/gofailover/gofailover/cache"
	"github.com/gofailover/gofailover/health"
	"github.com/gofailover/gofailover/proxy"
	"github.com/gofailover/gofailover/proxy/mirrortest"
)

// fullDisk is a store whose disk has no room for new blob files.
type fullDisk struct{ *cache.Store }

func (fullDisk) NewBlob() (*cache.Blob, error) {
	return nil, &errorWithErrno{"open /cache/tmp/blob-1", syscall.ENOSPC}
}

type errorWithErrno struct {
	path  string
	errno syscall.Errno
}

func (e *errorWithErrno) Error() string { return e.path + ": " + e.errno.Error() }
func (e *errorWithErrno) Unwrap() error { return e.errno }

// TestFullCacheDiskIsNotTheUpstreamsFault: when the cache cannot hold a
// zip, the answer is a 503 saying so, the next upstream is not asked (it
// would fail the same way), and no upstream is blamed: their health is
// untouched. Small answers, held in memory, are still served.
func TestFullCacheDiskIsNotTheUpstreamsFault(t *testing.T) {
	mods := mirrortest.TestdataModules(t)
	a, b := mirrortest.NewMirror(nil, mods...), mirrortest.NewMirror(nil, mods...)
	t.Cleanup(a.Close)
	t.Cleanup(b.Close)
	ups, err := health.NewUpstreams([]string{a.URL(), b.URL()}, health.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	pool := health.NewPool(ups, health.Config{}, nil)
	store, err := cache.Open(cache.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := proxy.New(ctx, proxy.Config{Store: fullDisk{store}, Router: pool})
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		srv.Close()
		cancel()
		h.Wait()
		store.Close()
	})

	const zip = "/example.com/lib/@v/v1.1.0.zip"
	resp, err := http.Get(srv.URL + zip)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "cannot store") || !strings.Contains(string(body), "no space left") {
		t.Fatalf("GET %s: %s %q, want 503 saying the cache cannot store it", zip, resp.Status, body)
	}
	if b.Count(zip) != 0 {
		t.Errorf("the second upstream was asked too")
	}
	for _, s := range pool.Snapshot() {
		if s.Failures != 0 || s.State != health.StateHealthy {
			t.Errorf("%s blamed for the full disk: %d failures, %s", s.Upstream.Name, s.Failures, s.State)
		}
	}
	resp, err = http.Get(srv.URL + "/example.com/lib/@v/v1.1.0.info")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("a small answer with the disk full: %s", resp.Status)
	}
}
