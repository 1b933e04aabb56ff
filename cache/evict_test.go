package cache

import (
	"crypto/sha256"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"
)

// TestEvictLeastRecentlyUsed: eviction removes the answers opened longest
// ago (or, never opened, stored longest ago) until the bodies fit the
// target, removes their blob files, and keeps a blob another record still
// refers to.
func TestEvictLeastRecentlyUsed(t *testing.T) {
	s, err := Open(Options{Reserve: testReserve, Dir: t.TempDir(), InlineMax: 16, MaxBytes: 1 << 40, Logger: slog.New(slog.DiscardHandler)})
	if err == nil {
		s.evictGrace = 0 // these records were all written just now
	}
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t0 := time.Unix(1700000000, 0)
	put := func(key string, stored time.Duration, fill string) string {
		t.Helper()
		b, err := s.NewBlob()
		if err != nil {
			t.Fatal(err)
		}
		defer b.Discard()
		body := strings.Repeat(fill, 300)
		b.Write([]byte(body))
		if _, err := s.CommitBlob(key, Meta{Status: 200, StoredAt: t0.Add(stored)}, b); err != nil {
			t.Fatal(err)
		}
		return s.blobPath(sha256.Sum256([]byte(body)))
	}
	shared := put("s1", 0, "s")
	files := map[string]string{}
	for i, k := range []string{"k1", "k2", "k3", "k4", "k5"} {
		files[k] = put(k, time.Duration(i+1)*time.Hour, k[1:])
	}
	put("s2", 6*time.Hour, "s")
	o, err := s.Open("k1") // k1 is now the most recently used
	if err != nil {
		t.Fatal(err)
	}
	o.Close()

	st, err := s.Evict(900)
	if err != nil {
		t.Fatal(err)
	}
	if st.Entries != 4 || st.Bytes != 1200 || st.Files != 3 {
		t.Errorf("Evict = %+v, want 4 entries of 1200 bytes and 3 files", st)
	}
	if got := s.Stats(); got.Entries != 3 || got.Bytes != 900 {
		t.Errorf("after eviction: %+v, want 3 entries, 900 bytes", got)
	}
	for _, k := range []string{"s1", "k2", "k3", "k4"} {
		if _, err := s.Open(k); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: %v after eviction, want ErrNotFound", k, err)
		}
	}
	for _, k := range []string{"k1", "k5", "s2"} {
		o, err := s.Open(k)
		if err != nil {
			t.Errorf("%s evicted: %v", k, err)
			continue
		}
		o.Close()
	}
	for k, want := range map[string]bool{"k1": true, "k2": false, "k3": false, "k4": false, "k5": true} {
		if _, err := os.Stat(files[k]); (err == nil) != want {
			t.Errorf("blob of %s: exists %v, want %v", k, err == nil, want)
		}
	}
	if _, err := os.Stat(shared); err != nil {
		t.Errorf("the blob s2 still refers to was removed: %v", err)
	}
}

// TestEvictionFollowsWrites: a store bounded by MaxBytes evicts as soon as
// a write takes it past the bound (and the grace of what was just written
// has passed), down to nine tenths of it.
func TestEvictionFollowsWrites(t *testing.T) {
	s, err := Open(Options{Reserve: testReserve, Dir: t.TempDir(), InlineMax: 16, MaxBytes: 1000, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.evictGrace = 50 * time.Millisecond
	for i := range 5 {
		commitFilled(t, s, i)
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.Stats().Bytes > 900 {
		if time.Now().After(deadline) {
			t.Fatalf("10 s after passing MaxBytes the store holds %+v", s.Stats())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := s.Open("e"); err != nil {
		t.Errorf("the newest answer was evicted: %v", err)
	}
}

// TestEvictionSparesWhatWasJustWritten: an answer just stored is not
// evicted before it can be read back to serve, however far a bound far
// below what is being fetched is passed; past the grace it goes.
func TestEvictionSparesWhatWasJustWritten(t *testing.T) {
	s, err := Open(Options{Reserve: testReserve, Dir: t.TempDir(), InlineMax: 16, MaxBytes: 100, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	s.evictGrace = 300 * time.Millisecond
	for i := range 4 {
		commitFilled(t, s, i)
		o, err := s.Open(string(rune('a' + i)))
		if err != nil {
			t.Fatalf("%c just written: %v", 'a'+i, err)
		}
		o.Close()
	}
	if st, err := s.Evict(0); err != nil || st.Entries != 0 {
		t.Fatalf("Evict right after the writes = %+v, %v: want nothing evicted", st, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.Stats().Bytes > 100 {
		if time.Now().After(deadline) {
			t.Fatalf("past the grace the store still holds %+v", s.Stats())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// commitFilled stores, under the key 'a'+i, a 300-byte blob of that
// letter.
func commitFilled(t *testing.T, s *Store, i int) {
	t.Helper()
	b, err := s.NewBlob()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Discard()
	b.Write([]byte(strings.Repeat(string(rune('a'+i)), 300)))
	if _, err := s.CommitBlob(string(rune('a'+i)), Meta{Status: 200}, b); err != nil {
		t.Fatal(err)
	}
}
