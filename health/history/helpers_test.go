package history

import (
	"bytes"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/gofailover/gofailover/health"

	"github.com/gofailover/gofailover/proxy/mirrortest"
)

// t0 returns a time that starts a 5-minute interval; the tests take
// samples 5s into 10s intervals.
func t0() time.Time { return time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC) }

// memStore is an in-memory ValueStore with the cache's semantics, its size
// limit included; absent values read as an error wrapping ErrNotFound.
type memStore struct {
	mu     sync.Mutex
	values map[string][]byte
	swaps  int
}

func newMemStore() *memStore { return &memStore{values: map[string][]byte{}} }

func (m *memStore) ReadValue(name string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v, ok := m.values[name]
	if !ok {
		return nil, fmt.Errorf("value %q: %w", name, ErrNotFound)
	}
	return bytes.Clone(v), nil
}

func (m *memStore) SwapValue(name string, old, new []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(new) > 64<<10 {
		return fmt.Errorf("value %q is %d bytes", name, len(new))
	}
	if !bytes.Equal(m.values[name], old) {
		return ErrConflict
	}
	m.swaps++
	m.values[name] = bytes.Clone(new)
	return nil
}

// set overwrites a value behind the History's back.
func (m *memStore) set(name string, v []byte) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.values[name] = v
}

// get returns a value.
func (m *memStore) get(name string) []byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return bytes.Clone(m.values[name])
}

// size returns the number of non-empty values and their total length.
func (m *memStore) size() (n, total int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, v := range m.values {
		if len(v) > 0 {
			n++
			total += len(v)
		}
	}
	return n, total
}

// testLogger returns a logger writing to the returned buffer.
func testLogger() (*slog.Logger, *mirrortest.SyncBuffer) {
	b := &mirrortest.SyncBuffer{}
	return slog.New(slog.NewTextHandler(b, nil)), b
}

// upstreams returns upstreams named after names, ranked in order.
func upstreams(names ...string) []*health.Upstream {
	ups := make([]*health.Upstream, len(names))
	for i, n := range names {
		ups[i] = &health.Upstream{Name: n, Rank: i}
	}
	return ups
}

// status returns a healthy status of u with the given cumulative requests.
func status(u *health.Upstream, requests uint64) health.Status {
	return health.Status{
		Upstream: u, State: health.StateHealthy, Samples: 10,
		P50: 20 * time.Millisecond, P95: 40 * time.Millisecond, P99: 80 * time.Millisecond,
		ErrorRate: 0.1, Requests: requests,
	}
}

// mustSave saves h, failing the test on error.
func mustSave(t *testing.T, h *History) {
	t.Helper()
	if err := h.Save(t.Context()); err != nil {
		t.Fatalf("Save: %v", err)
	}
}

// nonEmpty returns the points of ps that are not gaps.
func nonEmpty(ps []Point) []Point {
	var out []Point
	for _, p := range ps {
		if !p.Empty {
			out = append(out, p)
		}
	}
	return out
}
