package proxy_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/gofailover/gofailover/cache"
	"github.com/gofailover/gofailover/health"
	"github.com/gofailover/gofailover/proxy"
	"github.com/gofailover/gofailover/proxy/checksum"
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
	store, err := cache.Open(cache.Options{Reserve: 64 << 20, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	srv, _ := startHandler(t, proxy.Config{Store: fullDisk{store}, Router: pool})

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

// readOnlyDisk is a store below its free-space reserve: it refuses new
// blobs and records with cache's SpaceError.
type readOnlyDisk struct{ *cache.Store }

func (readOnlyDisk) NewBlob() (*cache.Blob, error) {
	return nil, fmt.Errorf("cache: creating a temporary blob: %w", &cache.SpaceError{Free: 12 << 20, Reserve: 1 << 30})
}

func (readOnlyDisk) PutBytes(string, cache.Meta, []byte) error {
	return fmt.Errorf("cache: storing: %w", &cache.SpaceError{Free: 12 << 20, Reserve: 1 << 30})
}

// TestReadOnlyCacheAnswers: with the cache below its reserve, a zip gets a
// 503 with the store's figures and a Retry-After, small answers are served
// unstored, and the refusals are logged once, not per answer.
func TestReadOnlyCacheAnswers(t *testing.T) {
	mods := mirrortest.TestdataModules(t)
	m := mirrortest.NewMirror(nil, mods...)
	t.Cleanup(m.Close)
	logs := newLogSink()
	ups, err := health.NewUpstreams([]string{m.URL()}, health.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	store, err := cache.Open(cache.Options{Reserve: 64 << 20, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	srv, _ := startHandler(t, proxy.Config{Store: readOnlyDisk{store}, Router: health.Static(ups), Logger: slog.New(logs)})

	resp, body := do(t, http.MethodGet, srv.URL+"/example.com/lib/@v/v1.1.0.zip")
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "60" ||
		!strings.Contains(body, "the cache is read-only: its disk is full (12.0 MiB free, and it keeps a reserve of 1.0 GiB)") {
		t.Errorf("zip: %s, Retry-After %q, %q", resp.Status, resp.Header.Get("Retry-After"), body)
	}
	for _, p := range []string{"/example.com/lib/@v/v1.1.0.info", "/example.com/lib/@v/list", "/example.com/util/@v/v1.0.0.info", "/example.com/nope/@v/list"} {
		resp, body := do(t, http.MethodGet, srv.URL+p)
		if want := http.StatusOK; p == "/example.com/nope/@v/list" {
			want = http.StatusNotFound
			if resp.StatusCode != want {
				t.Errorf("%s: %s %q", p, resp.Status, body)
			}
		} else if resp.StatusCode != want {
			t.Errorf("%s: %s %q", p, resp.Status, body)
		}
	}
	if n := len(logs.matching(slog.LevelWarn, "disk is full")); n != 1 {
		t.Errorf("%d log lines about the full disk, want 1:\n%s", n, strings.Join(logs.matching(slog.LevelWarn, "disk is full"), "\n"))
	}
	if n := len(logs.matching(slog.LevelError, "")); n != 0 {
		t.Errorf("%d error lines, want none:\n%s", n, strings.Join(logs.matching(slog.LevelError, ""), "\n"))
	}
}

// TestFlippedByteOnDiskIsNeverServed is the bit-rot scenario end to end: a
// byte flips in a cached zip's file while gofailover is stopped. After the
// restart, clients get honest bytes every time (fetched again from the
// mirror, and verified when verification is on), and the rotten file is
// replaced: with verification on and off.
func TestFlippedByteOnDiskIsNeverServed(t *testing.T) {
	for _, verify := range []bool{true, false} {
		t.Run(fmt.Sprint("verify=", verify), func(t *testing.T) {
			mods, db, m := fixture(t)
			lib := mirrortest.Lookup(mods, "example.com/lib", "v1.1.0")
			dir := t.TempDir()
			serve := func() (*httptest.Server, func()) {
				store, err := cache.Open(cache.Options{Reserve: 64 << 20, Dir: dir, ScrubRate: -1})
				if err != nil {
					t.Fatal(err)
				}
				ups, err := health.NewUpstreams([]string{m.URL()}, health.Limits{})
				if err != nil {
					t.Fatal(err)
				}
				cfg := proxy.Config{Store: store, Router: health.Static(ups), Logger: slog.New(slog.DiscardHandler)}
				if verify {
					if cfg.SumDB, err = checksum.ParseDatabase(db.VerifierKey, nil); err != nil {
						t.Fatal(err)
					}
				}
				ctx, cancel := context.WithCancel(context.Background())
				h := proxy.New(ctx, cfg)
				srv := httptest.NewServer(h)
				return srv, func() { srv.Close(); cancel(); h.Wait(); store.Close() }
			}
			const zipPath = "/example.com/lib/@v/v1.1.0.zip"
			srv, stop := serve()
			if resp, body := do(t, http.MethodGet, srv.URL+zipPath); resp.StatusCode != http.StatusOK || body != string(lib.Zip) {
				t.Fatalf("first fetch: %s", resp.Status)
			}
			stop()

			// Flip a byte in the middle of the blob file.
			sum := sha256.Sum256(lib.Zip)
			name := hex.EncodeToString(sum[:])
			file := filepath.Join(dir, "blobs", name[:2], name)
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			data[len(data)/2] ^= 0x55
			if err := os.WriteFile(file, data, 0o644); err != nil {
				t.Fatal(err)
			}

			srv, stop = serve()
			defer stop()
			for i := range 3 {
				resp, body := do(t, http.MethodGet, srv.URL+zipPath)
				if resp.StatusCode != http.StatusOK || body != string(lib.Zip) {
					t.Fatalf("after the flip, #%d: %s, %d bytes, honest: %v", i, resp.Status, len(body), body == string(lib.Zip))
				}
			}
			if got, err := os.ReadFile(file); err != nil || !bytes.Equal(got, lib.Zip) {
				t.Errorf("the blob file after the honest copy was stored: %d bytes, honest %v, %v", len(got), bytes.Equal(got, lib.Zip), err)
			}
		})
	}
}
