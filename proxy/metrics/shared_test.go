package metrics_test

import (
	"context"
	"errors"
	"io"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofailover/gofailover/cache"
	"github.com/gofailover/gofailover/cache/shared"
	"github.com/gofailover/gofailover/health"
	"github.com/gofailover/gofailover/proxy/metrics"
	"github.com/gofailover/gofailover/proxy/sharedtier"
)

// fakeStore is an in-memory shared store: objects by path, and a switch
// that makes every call fail as a store that refuses connections does.
type fakeStore struct {
	mu      sync.Mutex
	objects map[string]string
	failing bool
}

var errRefused = errors.New("dial tcp 127.0.0.1:9: connection refused")

func (s *fakeStore) fail(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failing = on
}

// check fails the call while the store is failing, and takes a
// millisecond otherwise, so that answers have a latency.
func (s *fakeStore) check() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failing {
		return errRefused
	}
	time.Sleep(time.Millisecond)
	return nil
}

func (s *fakeStore) Get(_ context.Context, path string) (*shared.Object, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	body, ok := s.objects[path]
	if !ok {
		return nil, shared.ErrNotFound
	}
	return &shared.Object{Key: path, Size: int64(len(body)), ETag: "e", Body: io.NopCloser(strings.NewReader(body))}, nil
}

func (s *fakeStore) Stat(ctx context.Context, path string) (*shared.Object, error) {
	obj, err := s.Get(ctx, path)
	if err == nil {
		obj.Body.Close()
		obj.Body = nil
	}
	return obj, err
}

func (s *fakeStore) Put(_ context.Context, path string, body io.Reader, _ int64, _ shared.Meta, _ bool) error {
	if err := s.check(); err != nil {
		return err
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.objects[path] = string(b)
	return nil
}

func (s *fakeStore) Delete(_ context.Context, path string) error {
	if err := s.check(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.objects, path)
	return nil
}

func (s *fakeStore) PresignGet(context.Context, string, time.Duration) (*url.URL, error) {
	return nil, errors.New("not supported")
}

func (s *fakeStore) Ping(context.Context) error { return s.check() }

// noLocal is a local cache that holds nothing.
type noLocal struct{}

func (noLocal) Open(string) (*cache.Object, error) { return nil, cache.ErrNotFound }

// newTier returns a tier, not started, over a fake store holding one
// object; its breaker opens after 2 failures in a row.
func newTier(t *testing.T) (*sharedtier.Tier, *fakeStore) {
	t.Helper()
	st := &fakeStore{objects: map[string]string{"/example.com/m/@v/v1.0.0.mod": "module example.com/m\n"}}
	tier := sharedtier.New(sharedtier.Config{
		Store:  st,
		Name:   "s3://bucket/prefix",
		Local:  noLocal{},
		Health: health.Config{FailureThreshold: 2},
		Clock:  &health.FakeClock{},
	})
	t.Cleanup(func() { tier.Close(context.Background()) })
	return tier, st
}

// TestSharedStoreMetrics: with a shared store, its health and counts are
// exported under names promlint accepts, labelled with the store's name:
// up while it answers, its hits, misses and bytes, its latency once it
// answered; down (0) once its breaker opens, with the failed and bypassed
// calls counted and its error ratio 1.
func TestSharedStoreMetrics(t *testing.T) {
	tier, st := newTier(t)
	reg := metrics.NewRegistry(metrics.Sources{Shared: tier})
	lint(t, reg)
	store := map[string]string{"store": "s3://bucket/prefix"}
	with := func(k, v string) map[string]string {
		m := map[string]string{k: v}
		for a, b := range store {
			m[a] = b
		}
		return m
	}
	want := func(name string, labels map[string]string, w float64) {
		t.Helper()
		if v, ok := value(t, reg, name, labels); !ok || v != w {
			t.Errorf("%s%v = %v (present %v), want %v", name, labels, v, ok, w)
		}
	}
	want("gofailover_shared_store_up", store, 1)
	want("gofailover_shared_store_state", with("state", "healthy"), 1)
	want("gofailover_shared_store_state", with("state", "open"), 0)
	for _, r := range []string{"hit", "miss", "error", "bypassed"} {
		want("gofailover_shared_store_requests_total", with("result", r), 0)
	}
	for _, r := range []string{"uploaded", "present", "failed", "dropped"} {
		want("gofailover_shared_store_uploads_total", with("result", r), 0)
	}
	want("gofailover_shared_store_upload_queue", store, 0)
	want("gofailover_shared_store_corrupt_objects_total", store, 0)
	for _, name := range []string{"gofailover_shared_store_latency_p50_seconds", "gofailover_shared_store_error_ratio"} {
		if v, ok := value(t, reg, name, store); ok {
			t.Errorf("%s = %v before any call, want absent", name, v)
		}
	}

	ctx := context.Background()
	obj, err := tier.Get(ctx, "/example.com/m/@v/v1.0.0.mod")
	if err != nil {
		t.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, obj.Body)
	obj.Body.Close()
	if _, err := tier.Get(ctx, "/example.com/m/@v/v2.0.0.mod"); !errors.Is(err, shared.ErrNotFound) {
		t.Fatalf("Get of a missing object: %v, want not found", err)
	}
	tier.Delete(ctx, "/example.com/m/@v/v1.0.0.mod")
	want("gofailover_shared_store_requests_total", with("result", "hit"), 1)
	want("gofailover_shared_store_requests_total", with("result", "miss"), 1)
	want("gofailover_shared_store_read_bytes_total", store, float64(n))
	want("gofailover_shared_store_corrupt_objects_total", store, 1)
	want("gofailover_shared_store_error_ratio", store, 0)
	if v, ok := value(t, reg, "gofailover_shared_store_latency_p95_seconds", store); !ok || v <= 0 {
		t.Errorf("p95 latency after answers = %v (present %v), want > 0", v, ok)
	}
	lint(t, reg)

	st.fail(true)
	for range 2 {
		tier.Get(ctx, "/example.com/m/@v/v1.0.0.mod")
	}
	if _, err := tier.Get(ctx, "/example.com/m/@v/v1.0.0.mod"); !errors.Is(err, sharedtier.ErrDown) {
		t.Fatalf("Get after 2 failures: %v, want ErrDown", err)
	}
	want("gofailover_shared_store_up", store, 0)
	want("gofailover_shared_store_state", with("state", "open"), 1)
	want("gofailover_shared_store_state", with("state", "healthy"), 0)
	want("gofailover_shared_store_requests_total", with("result", "error"), 2)
	want("gofailover_shared_store_requests_total", with("result", "bypassed"), 1)
	if _, ok := value(t, reg, "gofailover_shared_store_state_since_timestamp_seconds", store); !ok {
		t.Error("no episode start while the store is down")
	}
	lint(t, reg)
}

// TestNoSharedStoreNoMetrics: without a shared store, no
// gofailover_shared_store_* metric is exported.
func TestNoSharedStoreNoMetrics(t *testing.T) {
	r := newFakeRig(t)
	families, err := r.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if strings.HasPrefix(f.GetName(), "gofailover_shared_store_") {
			t.Errorf("%s exported without a shared store", f.GetName())
		}
	}
}
