package history

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gofailover/gofailover/health"
)

// fill records 7 hours of two upstreams into h, with varied fields, and
// returns the time after the last sample.
func fill(h *History) time.Time {
	ups := upstreams("https://a.example.com", "https://b.example.com/mirror")
	states := []health.State{health.StateHealthy, health.StateDegraded, health.StateOpen, health.StateHalfOpen, health.StateQuarantined}
	var i int
	for ; i < 7*360; i++ {
		if i%500 > 480 { // a gap
			continue
		}
		a, b := status(ups[0], uint64(3*i)), status(ups[1], uint64(i))
		a.P50 = time.Duration(i%97) * time.Millisecond
		a.P99 = time.Duration(i) * time.Microsecond
		a.ErrorRate = float64(i%10) / 10
		a.State = states[i%len(states)]
		b.Failures = uint64(i / 3)
		b.Samples = i % 2
		h.Record(t0().Add(5*time.Second+time.Duration(i)*10*time.Second), []health.Status{a, b})
	}
	return t0().Add(time.Duration(i) * 10 * time.Second)
}

// sameHistory fails the test unless got shows what want does.
func sameHistory(t *testing.T, got, want *History, now time.Time) {
	t.Helper()
	if g, w := got.Upstreams(), want.Upstreams(); !reflect.DeepEqual(g, w) {
		t.Fatalf("Upstreams() = %q, want %q", g, w)
	}
	g, w := everything(got, now), everything(want, now)
	for name, ps := range w {
		if len(nonEmpty(ps)) == 0 {
			t.Fatalf("%s: nothing recorded", name)
		}
		if !reflect.DeepEqual(g[name], ps) {
			t.Errorf("%s: series differs after reload", name)
		}
	}
}

func TestSaveLoad(t *testing.T) {
	store := newMemStore()
	h := New(Config{Store: store})
	now := fill(h)
	mustSave(t, h)
	h2 := New(Config{Store: store})
	sameHistory(t, h2, h, now)

	// A save without changes writes nothing.
	before := store.swaps
	mustSave(t, h)
	if store.swaps != before {
		t.Errorf("a save without changes made %d writes", store.swaps-before)
	}
	// One more sample rewrites one segment per tier and upstream, and the
	// list.
	ups := upstreams("https://a.example.com", "https://b.example.com/mirror")
	h2.Record(now.Add(5*time.Second), []health.Status{status(ups[0], 1), status(ups[1], 1)})
	mustSave(t, h2)
	if n := store.swaps - before; n != 5 {
		t.Errorf("saving one sample made %d writes, want 5", n)
	}
	sameHistory(t, New(Config{Store: store}), h2, now.Add(10*time.Second))
}

func TestCorruptStore(t *testing.T) {
	store := newMemStore()
	h := New(Config{Store: store})
	now := fill(h)
	mustSave(t, h)
	good := store.get(DefaultKey)
	segKey := ""
	for k, v := range store.values {
		if k != DefaultKey && len(v) > 100 {
			segKey = k
			break
		}
	}
	goodSeg := store.get(segKey)

	reversion := func(b []byte, v byte) []byte {
		b = append([]byte(nil), b[:len(b)-crcLen]...)
		b[0] = v
		return seal(b)
	}
	flip := func(b []byte, i int) []byte {
		b = append([]byte(nil), b...)
		b[i] ^= 0x10
		return b
	}
	cases := []struct {
		name, key string
		value     []byte
		logged    string
	}{
		{"flipped byte", DefaultKey, flip(good, len(good)/2), "checksum"},
		{"truncated", DefaultKey, good[:len(good)-7], "checksum"},
		{"tiny", DefaultKey, good[:3], "truncated"},
		{"unknown version", DefaultKey, reversion(good, 9), "unknown version"},
		{"segment as list", DefaultKey, goodSeg, "kind"},
		{"flipped segment byte", segKey, flip(goodSeg, 40), "checksum"},
		{"truncated segment", segKey, goodSeg[:len(goodSeg)/2], "checksum"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			store.set(DefaultKey, good)
			store.set(segKey, goodSeg)
			store.set(c.key, c.value)
			log, logs := testLogger()
			h2 := New(Config{Store: store, Logger: log})
			if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), c.logged) {
				t.Errorf("log = %q, want a warning about %q", logs, c.logged)
			}
			if c.key == DefaultKey {
				if got := h2.Upstreams(); len(got) != 0 {
					t.Errorf("Upstreams() = %q, want none", got)
				}
			} else if len(h2.Upstreams()) != 2 {
				t.Errorf("Upstreams() = %q, want both", h2.Upstreams())
			} else if reflect.DeepEqual(everything(h2, now), everything(h, now)) {
				t.Errorf("the corrupt segment was not left out")
			}
			// The corrupt value is overwritten by the next save.
			h2.Record(now, []health.Status{status(upstreams("c.example.com")[0], 1)})
			mustSave(t, h2)
			if _, err := decodeManifest(store.get(DefaultKey)); err != nil {
				t.Errorf("after saving, the list is still unreadable: %v", err)
			}
		})
	}
}

func TestOtherTierLayout(t *testing.T) {
	store := newMemStore()
	h := New(Config{Store: store})
	now := fill(h)
	mustSave(t, h)
	log, logs := testLogger()
	h2 := New(Config{Store: store, Keep: time.Hour, Logger: log})
	if !strings.Contains(logs.String(), "another resolution") {
		t.Errorf("log = %q, want a note of the other resolution", logs)
	}
	name := h.Upstreams()[0]
	if ps := nonEmpty(h2.Series(name, now.Add(-time.Hour), now)); len(ps) != 0 {
		t.Errorf("fine tier of another layout loaded: %d points", len(ps))
	}
	if got, want := h2.Series(name, now.Add(-7*time.Hour), now), h.Series(name, now.Add(-7*time.Hour), now); !reflect.DeepEqual(got, want) {
		t.Errorf("coarse tier differs")
	}
}

func TestSaveConflict(t *testing.T) {
	store := newMemStore()
	log, logs := testLogger()
	h := New(Config{Store: store, Logger: log})
	u := upstreams("a")[0]
	h.Record(t0(), []health.Status{status(u, 1)})
	mustSave(t, h)
	store.set(DefaultKey, []byte("written by someone else"))
	h.Record(t0().Add(10*time.Second), []health.Status{status(u, 2)})
	mustSave(t, h)
	if !strings.Contains(logs.String(), "changed by someone else") {
		t.Errorf("log = %q, want a warning about the conflict", logs)
	}
	if got := New(Config{Store: store}).Upstreams(); len(got) != 1 {
		t.Errorf("after reload, Upstreams() = %q, want [a]", got)
	}
}

// bareErrStore returns the history's errors unwrapped, as a ValueStore
// may: an absent value is ErrNotFound, a conflict ErrConflict.
type bareErrStore struct{ *memStore }

func (s bareErrStore) ReadValue(name string) ([]byte, error) {
	b, err := s.memStore.ReadValue(name)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrNotFound
	}
	return b, err
}

func (s bareErrStore) SwapValue(name string, old, new []byte) error {
	if err := s.memStore.SwapValue(name, old, new); errors.Is(err, ErrConflict) {
		return ErrConflict
	}
	return nil
}

// TestValueStoreErrors checks the ValueStore contract: ErrNotFound, bare
// or wrapped, is an absent value, not a failure; ErrConflict, bare or
// wrapped, is a value someone else wrote, which the History overwrites.
func TestValueStoreErrors(t *testing.T) {
	for name, wrap := range map[string]func(*memStore) ValueStore{
		"wrapped": func(m *memStore) ValueStore { return m },
		"bare":    func(m *memStore) ValueStore { return bareErrStore{m} },
	} {
		t.Run(name, func(t *testing.T) {
			mem := newMemStore()
			log, logs := testLogger()
			h := New(Config{Store: wrap(mem), Logger: log})
			if logs.String() != "" {
				t.Fatalf("opening an empty store logged: %s", logs)
			}
			u := upstreams("a")[0]
			h.Record(t0(), []health.Status{status(u, 1)})
			mustSave(t, h)
			mem.set(DefaultKey, []byte("written by someone else"))
			h.Record(t0().Add(10*time.Second), []health.Status{status(u, 2)})
			mustSave(t, h)
			if !strings.Contains(logs.String(), "changed by someone else") {
				t.Errorf("log = %q, want a warning about the conflict", logs)
			}
			if got := New(Config{Store: wrap(mem)}).Upstreams(); len(got) != 1 {
				t.Errorf("after reload, Upstreams() = %q, want [a]", got)
			}
		})
	}
}

// failingStore fails every write.
type failingStore struct{ *memStore }

func (failingStore) SwapValue(string, []byte, []byte) error { return errors.New("disk full") }

func TestSaveRetries(t *testing.T) {
	store := newMemStore()
	h := New(Config{Store: failingStore{store}})
	u := upstreams("a")[0]
	h.Record(t0(), []health.Status{status(u, 1)})
	if err := h.Save(t.Context()); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("Save to a failing store: %v, want disk full", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	h.cfg.Store = store
	if err := h.Save(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Save with a done context: %v, want context.Canceled", err)
	}
	mustSave(t, h)
	if got := New(Config{Store: store}).Series("a", t0(), t0()); len(got) != 1 || got[0].Requests != 1 {
		t.Errorf("after the failed saves and a good one, reload shows %+v", got)
	}
}

// everything returns all of h's points up to now, per upstream: the whole
// fine tier, then the whole coarse tier.
func everything(h *History, now time.Time) map[string][]Point {
	out := map[string][]Point{}
	for _, name := range h.Upstreams() {
		out[name] = append(h.Series(name, now.Add(-6*time.Hour), now), h.Series(name, now.Add(-30*24*time.Hour), now)...)
	}
	return out
}
