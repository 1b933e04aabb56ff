package proxy_test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gofailover/gofailover/cache"
	"github.com/gofailover/gofailover/health"
	"github.com/gofailover/gofailover/proxy"
)

// TestReadyzChecksTheStore: /readyz heals a cache directory removed under
// the running server, and says not ready, with the reason, while the
// store cannot be used (here: a file stands where tmp/ must be).
func TestReadyzChecksTheStore(t *testing.T) {
	dir := t.TempDir()
	store, err := cache.Open(cache.Options{Reserve: 64 << 20, Dir: dir, ScrubRate: -1})
	if err != nil {
		t.Fatal(err)
	}
	ups, err := health.NewUpstreams([]string{"http://127.0.0.1:9"}, health.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	srv, _ := startHandler(t, proxy.Config{Store: store, Router: health.Static(ups)})
	readyz := func() (int, string) {
		t.Helper()
		resp, err := http.Get(srv.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}

	if code, body := readyz(); code != http.StatusOK {
		t.Fatalf("/readyz: %d %s", code, body)
	}
	tmp := filepath.Join(dir, "tmp")
	os.RemoveAll(filepath.Join(dir, "blobs"))
	os.RemoveAll(tmp)
	if code, body := readyz(); code != http.StatusOK {
		t.Errorf("/readyz with blobs/ and tmp/ removed: %d %s, want them recreated", code, body)
	}
	os.RemoveAll(tmp)
	if err := os.WriteFile(tmp, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if code, body := readyz(); code != http.StatusServiceUnavailable || !strings.Contains(body, "cache store is not usable") || !strings.Contains(body, tmp) {
		t.Errorf("/readyz with a file in place of tmp/: %d %s", code, body)
	}
	os.Remove(tmp)
	if code, body := readyz(); code != http.StatusOK {
		t.Errorf("/readyz once tmp/ can be recreated: %d %s", code, body)
	}
}
