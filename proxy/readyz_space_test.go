package proxy_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gofailover/gofailover/cache"
	"github.com/gofailover/gofailover/health"
	"github.com/gofailover/gofailover/proxy"
)

// fullStore is a cache store whose disk is full: it serves, but stores
// nothing.
type fullStore struct{ *cache.Store }

func (fullStore) Writable() (bool, string) {
	return false, "disk full: 12.0 MiB free, reserve 1.0 GiB"
}

// TestReadyzReadOnlyCache: a cache on a full disk still serves, so
// /readyz says ready, and says that the cache is read-only and why.
func TestReadyzReadOnlyCache(t *testing.T) {
	store, err := cache.Open(cache.Options{Reserve: 64 << 20, Dir: t.TempDir(), ScrubRate: -1})
	if err != nil {
		t.Fatal(err)
	}
	ups, err := health.NewUpstreams([]string{"http://127.0.0.1:9"}, health.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	readyz := func(s proxy.Store) (int, string) {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		h := proxy.New(ctx, proxy.Config{Store: s, Router: health.Static(ups)})
		srv := httptest.NewServer(h)
		defer func() {
			srv.Close()
			cancel()
			h.Wait()
		}()
		resp, err := http.Get(srv.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	t.Cleanup(func() { store.Close() })

	if code, body := readyz(store); code != http.StatusOK || body != "ready\nchecksum verification: off\n" {
		t.Errorf("/readyz with room on the disk: %d %q", code, body)
	}
	want := "ready\ncache: read-only (disk full: 12.0 MiB free, reserve 1.0 GiB)\nchecksum verification: off\n"
	if code, body := readyz(fullStore{store}); code != http.StatusOK || body != want {
		t.Errorf("/readyz with the disk full: %d %q, want 200 %q", code, body, want)
	}
}
