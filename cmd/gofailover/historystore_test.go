package main

import (
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gofailover/gofailover/cache"
	"github.com/gofailover/gofailover/health"
	"github.com/gofailover/gofailover/health/history"
)

func TestHistoryErr(t *testing.T) {
	for _, c := range []struct {
		err, want error
	}{
		{cache.ErrNotFound, history.ErrNotFound},
		{fmt.Errorf("reading: %w", cache.ErrNotFound), history.ErrNotFound},
		{cache.ErrConflict, history.ErrConflict},
		{fmt.Errorf("swapping: %w", cache.ErrConflict), history.ErrConflict},
	} {
		got := historyErr(c.err)
		if !errors.Is(got, c.want) || !errors.Is(got, c.err) {
			t.Errorf("historyErr(%v) = %v, want it to wrap %v and the original", c.err, got, c.want)
		}
	}
	other := errors.New("disk full")
	if got := historyErr(other); got != other {
		t.Errorf("historyErr(%v) = %v, want it unchanged", other, got)
	}
	if got := historyErr(nil); got != nil {
		t.Errorf("historyErr(nil) = %v", got)
	}
}

// TestHistoryStore saves a history in a cache store through the adapter,
// reopens both, and finds the same history; a value changed behind the
// history's back is a conflict, which it overwrites.
func TestHistoryStore(t *testing.T) {
	dir := t.TempDir()
	discard := slog.New(slog.DiscardHandler)
	open := func() *cache.Store {
		t.Helper()
		c, err := cache.Open(cache.Options{Reserve: 64 << 20, Dir: dir, Logger: discard})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	c := open()
	store := historyStore{c}
	if err := store.SwapValue("k", []byte("not there"), []byte("v")); !errors.Is(err, history.ErrConflict) {
		t.Fatalf("SwapValue from a wrong old value: %v, want history.ErrConflict", err)
	}
	if b, err := store.ReadValue("k"); b != nil || err != nil {
		t.Fatalf("ReadValue of an absent value = %q, %v", b, err)
	}

	t0 := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	ups := []*health.Upstream{{Name: "https://a.example.com"}, {Name: "https://b.example.com", Rank: 1}}
	h := history.New(history.Config{Store: store, Key: "health/history"})
	var now time.Time
	for i := range 100 {
		now = t0.Add(5*time.Second + time.Duration(i)*10*time.Second)
		h.Record(now, []health.Status{
			{Upstream: ups[0], State: health.StateHealthy, Samples: 3, P50: time.Duration(i) * time.Millisecond, Requests: uint64(2 * i)},
			{Upstream: ups[1], State: health.StateDegraded, Samples: 1, ErrorRate: 0.5, Requests: uint64(i), Failures: uint64(i / 2)},
		})
	}
	if err := h.Save(t.Context()); err != nil {
		t.Fatalf("Save: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}

	c = open()
	defer c.Close()
	var logs strings.Builder
	h2 := history.New(history.Config{Store: historyStore{c}, Key: "health/history", Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if logs.Len() != 0 {
		t.Errorf("loading logged: %s", logs.String())
	}
	if got, want := h2.Upstreams(), h.Upstreams(); !reflect.DeepEqual(got, want) || len(got) != 2 {
		t.Fatalf("Upstreams() = %q after reload, want %q", got, want)
	}
	for _, u := range ups {
		if got, want := h2.Series(u.Name, now.Add(-time.Hour), now), h.Series(u.Name, now.Add(-time.Hour), now); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: series differs after reload", u.Name)
		}
	}

	// Written behind its back: the next save meets a conflict.
	cur, err := c.ReadValue("health/history")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SwapValue("health/history", cur, []byte("someone else's")); err != nil {
		t.Fatal(err)
	}
	h2.Record(now.Add(10*time.Second), []health.Status{{Upstream: ups[0], State: health.StateHealthy}})
	if err := h2.Save(t.Context()); err != nil {
		t.Fatalf("Save after a conflict: %v", err)
	}
	if !strings.Contains(logs.String(), "changed by someone else") {
		t.Errorf("log = %q, want a warning about the conflict", logs.String())
	}
	if got := history.New(history.Config{Store: historyStore{c}, Key: "health/history"}).Upstreams(); len(got) != 2 {
		t.Errorf("after the conflict and a reload, Upstreams() = %q", got)
	}
}
