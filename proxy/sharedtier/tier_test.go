package sharedtier

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/gofailover/gofailover/cache"
	"github.com/gofailover/gofailover/cache/shared"
	"github.com/gofailover/gofailover/health"
)

// memStore is an in-memory Store whose failures the test switches.
type memStore struct {
	mu      sync.Mutex
	objects map[string]*memObject
	down    error // every call fails with it
	puts    int
}

type memObject struct {
	data []byte
	meta shared.Meta
	etag string
}

func newMemStore() *memStore { return &memStore{objects: map[string]*memObject{}} }

func (s *memStore) setDown(err error) { s.mu.Lock(); s.down = err; s.mu.Unlock() }

func (s *memStore) object(path string) (*memObject, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down != nil {
		return nil, s.down
	}
	o := s.objects[path]
	if o == nil {
		return nil, fmt.Errorf("%s: %w", path, shared.ErrNotFound)
	}
	return o, nil
}

func (s *memStore) Get(_ context.Context, path string) (*shared.Object, error) {
	o, err := s.object(path)
	if err != nil {
		return nil, err
	}
	return &shared.Object{Meta: o.meta, Key: path, Size: int64(len(o.data)), ETag: o.etag, Body: io.NopCloser(bytes.NewReader(o.data))}, nil
}

func (s *memStore) Stat(_ context.Context, path string) (*shared.Object, error) {
	o, err := s.object(path)
	if err != nil {
		return nil, err
	}
	return &shared.Object{Meta: o.meta, Key: path, Size: int64(len(o.data)), ETag: o.etag}, nil
}

func (s *memStore) Put(_ context.Context, path string, body io.Reader, size int64, m shared.Meta, ifAbsent bool) error {
	data, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down != nil {
		return s.down
	}
	if ifAbsent && s.objects[path] != nil {
		return shared.ErrExists
	}
	s.puts++
	s.objects[path] = &memObject{data: data, meta: m, etag: fmt.Sprintf("%x", sha256.Sum256(data))[:16]}
	return nil
}

func (s *memStore) Delete(_ context.Context, path string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down != nil {
		return s.down
	}
	delete(s.objects, path)
	return nil
}

func (s *memStore) PresignGet(_ context.Context, path string, _ time.Duration) (*url.URL, error) {
	return &url.URL{Scheme: "http", Host: "127.0.0.1:1", Path: path}, nil
}

func (s *memStore) Ping(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.down
}

// newTestTier returns a started tier over a memStore and a fresh cache.
func newTestTier(t *testing.T, queue int) (*Tier, *memStore, *cache.Store) {
	t.Helper()
	local, err := cache.Open(cache.Options{Dir: t.TempDir(), Reserve: 64 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { local.Close() })
	ms := newMemStore()
	tier := New(Config{
		Store: ms, Name: "s3://test", Local: local, QueueSize: queue,
		Health:        health.Config{FailureThreshold: 1, OpenBackoff: 50 * time.Millisecond, MaxOpenBackoff: 50 * time.Millisecond, HalfOpenSuccesses: 1},
		ProbeInterval: 20 * time.Millisecond,
		Logger:        slog.New(slog.DiscardHandler),
	})
	return tier, ms, local
}

// put stores an answer locally, as the proxy does before queueing it.
func put(t *testing.T, local *cache.Store, key string, body string, immutable bool, at time.Time) {
	t.Helper()
	if err := local.PutBytes(key, cache.Meta{Status: http.StatusOK, Immutable: immutable, StoredAt: at, Upstream: "m", Verified: true}, []byte(body)); err != nil {
		t.Fatal(err)
	}
}

func closeTier(t *testing.T, tier *Tier) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if left := tier.Close(ctx); left != 0 {
		t.Fatalf("%d uploads left", left)
	}
}

// TestUploadsWriteOnceAndReplaceOnlyWhatIsWrong: an immutable answer is
// written once; a second replica's copy of the same bytes is not written
// again; other bytes under a verified answer's path are replaced; a
// mutable answer replaces only an older one.
func TestUploadsWriteOnceAndReplaceOnlyWhatIsWrong(t *testing.T) {
	tier, ms, local := newTestTier(t, 16)
	tier.Start(context.Background())
	now := time.Now()
	put(t, local, "/m/@v/v1.0.0.zip", "verified bytes", true, now)
	put(t, local, "/m/@v/v1.0.0.info", `{"Version":"v1.0.0"}`, true, now)
	put(t, local, "/m/@v/list", "v1.0.0\n", false, now)

	// What another replica left: wrong bytes under the zip, its own .info,
	// and a newer list.
	ms.objects["/m/@v/v1.0.0.zip"] = &memObject{data: []byte("tampered"), meta: shared.Meta{SHA256: sha256.Sum256([]byte("tampered"))}, etag: "x"}
	ms.objects["/m/@v/v1.0.0.info"] = &memObject{data: []byte(`{"Version":"v1.0.0","Time":"x"}`), etag: "y"}
	ms.objects["/m/@v/list"] = &memObject{data: []byte("v1.0.0\nv1.1.0\n"), meta: shared.Meta{StoredAt: now.Add(time.Minute)}, etag: "z"}

	tier.Enqueue(Upload{Path: "/m/@v/v1.0.0.zip", Key: "/m/@v/v1.0.0.zip", Immutable: true, Unique: true, Verified: "sumdb:x"})
	tier.Enqueue(Upload{Path: "/m/@v/v1.0.0.info", Key: "/m/@v/v1.0.0.info", Immutable: true})
	tier.Enqueue(Upload{Path: "/m/@v/list", Key: "/m/@v/list"})
	closeTier(t, tier)

	if got := string(ms.objects["/m/@v/v1.0.0.zip"].data); got != "verified bytes" {
		t.Errorf("the wrong zip was not replaced: %q", got)
	}
	if m := ms.objects["/m/@v/v1.0.0.zip"].meta; m.SHA256 != sha256.Sum256([]byte("verified bytes")) || m.Verified != "sumdb:x" || !m.StoredAt.Equal(now) {
		t.Errorf("the zip's metadata: %+v", m)
	}
	if got := string(ms.objects["/m/@v/v1.0.0.info"].data); got != `{"Version":"v1.0.0","Time":"x"}` {
		t.Errorf("another replica's .info was overwritten: %q", got)
	}
	if got := string(ms.objects["/m/@v/list"].data); got != "v1.0.0\nv1.1.0\n" {
		t.Errorf("a newer list was overwritten by an older one: %q", got)
	}
	st := tier.Stats()
	if st.Uploaded != 1 || st.Present != 2 || st.Corrupt != 1 {
		t.Errorf("stats: %+v", st)
	}
	// The zip just written is known good: it may be redirected to; the
	// .info another replica wrote is not.
	if _, ok := tier.Presign(context.Background(), "/m/@v/v1.0.0.zip", time.Minute); !ok {
		t.Error("the verified zip just uploaded cannot be redirected to")
	}
	if _, ok := tier.Presign(context.Background(), "/m/@v/v1.0.0.info", time.Minute); ok {
		t.Error("another replica's object can be redirected to")
	}
}

// TestUploadsWaitForTheStoreAndDrain: uploads queued while the store is
// down wait for it (its breaker opens, calls fail fast), go through once
// it is back, and Close waits for them.
func TestUploadsWaitForTheStoreAndDrain(t *testing.T) {
	tier, ms, local := newTestTier(t, 16)
	ms.setDown(errors.New("connection refused"))
	tier.Start(context.Background())
	for i := range 5 {
		key := fmt.Sprintf("/m/@v/v1.0.%d.mod", i)
		put(t, local, key, "module m\n", true, time.Now())
		tier.Enqueue(Upload{Path: key, Key: key, Immutable: true})
	}
	deadline := time.Now().Add(5 * time.Second)
	for !tier.Stats().Health.State.Down() {
		if time.Now().After(deadline) {
			t.Fatal("the store does not show as down")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := tier.Get(context.Background(), "/m/@v/v1.0.0.mod"); !errors.Is(err, ErrDown) && !errors.Is(err, ms.down) {
		t.Errorf("a read while down: %v", err)
	}
	ms.setDown(nil)
	for tier.Stats().Health.State.Down() { // the probe takes it back in
		if time.Now().After(deadline) {
			t.Fatal("the store does not come back")
		}
		time.Sleep(5 * time.Millisecond)
	}
	closeTier(t, tier)
	if len(ms.objects) != 5 {
		t.Fatalf("%d objects uploaded once the store was back, want 5", len(ms.objects))
	}
	if st := tier.Stats(); st.Uploaded != 5 || st.Queue != 0 || st.Failed != 0 {
		t.Errorf("stats: %+v", st)
	}
}

// TestFullQueueDropsAndCounts: past its size the queue drops uploads,
// counted, and never blocks the caller.
func TestFullQueueDropsAndCounts(t *testing.T) {
	// (Close also gives up at once on a store that is down: see
	// TestCloseGivesUpOnAStoreThatIsDown.)
	tier, _, _ := newTestTier(t, 3) // not started: nothing leaves the queue
	for i := range 10 {
		tier.Enqueue(Upload{Path: fmt.Sprint(i), Key: fmt.Sprint(i)})
	}
	if st := tier.Stats(); st.Queue != 3 || st.Dropped != 7 {
		t.Fatalf("stats: %+v", st)
	}
	if left := tier.Close(context.Background()); left != 3 {
		t.Fatalf("Close left %d, want 3", left)
	}
}

// TestPresignOnlyTheVerifiedVersion: a redirect goes only to an object in
// the version recorded as verified; once it changed, never.
func TestPresignOnlyTheVerifiedVersion(t *testing.T) {
	tier, ms, _ := newTestTier(t, 4)
	ctx := context.Background()
	ms.objects["/z.zip"] = &memObject{data: []byte("good"), etag: "v1"}
	if _, ok := tier.Presign(ctx, "/z.zip", time.Minute); ok {
		t.Fatal("presigned an object never verified")
	}
	tier.Verified("/z.zip", "v1")
	if u, ok := tier.Presign(ctx, "/z.zip", time.Minute); !ok || u.Path != "/z.zip" {
		t.Fatalf("the verified version is not presigned: %v %v", u, ok)
	}
	ms.objects["/z.zip"] = &memObject{data: []byte("evil"), etag: "v2"}
	if _, ok := tier.Presign(ctx, "/z.zip", time.Minute); ok {
		t.Fatal("presigned an object that changed since it was verified")
	}
	tier.Close(ctx)
}

// TestCloseGivesUpOnAStoreThatIsDown: a shutdown does not wait out its
// whole timeout for uploads to a store that is down.
func TestCloseGivesUpOnAStoreThatIsDown(t *testing.T) {
	tier, ms, local := newTestTier(t, 16)
	ms.setDown(errors.New("connection refused"))
	tier.Start(context.Background())
	put(t, local, "/m/@v/v1.0.0.mod", "module m\n", true, time.Now())
	tier.Enqueue(Upload{Path: "/m/@v/v1.0.0.mod", Key: "/m/@v/v1.0.0.mod", Immutable: true})
	for !tier.Stats().Health.State.Down() {
		time.Sleep(5 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	if left := tier.Close(ctx); left != 1 {
		t.Errorf("Close left %d uploads, want 1", left)
	}
	if time.Since(start) > 10*time.Second {
		t.Errorf("Close waited %v for a store that is down", time.Since(start))
	}
}
