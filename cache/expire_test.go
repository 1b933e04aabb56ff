package cache

import (
	"errors"
	"os"
	"testing"
	"time"
)

// TestExpire: a sweep deletes the negative answers older than
// ExpireNegativeAfter and the mutable 200 answers older than
// ExpireMutableAfter, and the blob files no remaining record refers to;
// fresh, immutable and younger records stay, and so does a blob another
// record shares.
func TestExpire(t *testing.T) {
	s, _ := openOpts(t, Options{Dir: t.TempDir(), ScrubRate: -1,
		ExpireNegativeAfter: time.Minute, ExpireMutableAfter: time.Hour})
	now := time.Now()
	big, shared := pattern(100<<10, 1), pattern(100<<10, 2)
	put := func(key string, m Meta, body []byte) {
		t.Helper()
		if err := s.PutBytes(key, m, body); err != nil {
			t.Fatal(err)
		}
	}
	put("404-old", Meta{Status: 404, StoredAt: now.Add(-2 * time.Minute)}, []byte("not found"))
	put("410-old", Meta{Status: 410, StoredAt: now.Add(-2 * time.Minute)}, []byte("gone"))
	put("404-new", Meta{Status: 404, StoredAt: now.Add(-30 * time.Second)}, []byte("not found"))
	put("list-old", Meta{Status: 200, StoredAt: now.Add(-2 * time.Hour)}, []byte("v1.0.0\n"))
	put("list-new", Meta{Status: 200, StoredAt: now.Add(-30 * time.Minute)}, []byte("v1.0.0\n"))
	put("zip-old", Meta{Status: 200, Immutable: true, StoredAt: now.Add(-1000 * time.Hour)}, shared)
	put("biglist-old", Meta{Status: 200, StoredAt: now.Add(-2 * time.Hour)}, big)
	put("sharedlist-old", Meta{Status: 200, StoredAt: now.Add(-2 * time.Hour)}, shared)
	bigFile, sharedFile := blobFile(t, s, "biglist-old"), blobFile(t, s, "zip-old")

	st, err := s.Expire(now)
	if err != nil {
		t.Fatal(err)
	}
	if want := (Removed{Entries: 5, Bytes: int64(len("not found") + len("gone") + len("v1.0.0\n") + 2*100<<10), Files: 1, FileBytes: 100 << 10}); st != want {
		t.Errorf("Expire = %+v, want %+v", st, want)
	}
	for _, k := range []string{"404-old", "410-old", "list-old", "biglist-old", "sharedlist-old"} {
		if _, err := s.Lookup(k); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s: %v, want it expired", k, err)
		}
	}
	for _, k := range []string{"404-new", "list-new", "zip-old"} {
		if _, err := s.Lookup(k); err != nil {
			t.Errorf("%s: %v, want it kept", k, err)
		}
	}
	if _, err := os.Stat(bigFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the expired answer's blob: %v, want it removed", err)
	}
	if _, err := os.Stat(sharedFile); err != nil {
		t.Errorf("a blob an immutable answer shares: %v, want it kept", err)
	}
	if got := s.Stats(); got.Entries != 3 || got.ExpiredEntries != 5 {
		t.Errorf("Stats = %+v", got)
	}

	// A record rewritten since it was listed is kept.
	if deleted, err := s.deleteIf("404-new", func(*record) bool { return false }); deleted || err != nil {
		t.Errorf("deleteIf with a record to keep = %v, %v", deleted, err)
	}
}

// TestExpireOff: with no ages set, nothing expires, however old.
func TestExpireOff(t *testing.T) {
	s, _ := noScrub(t, t.TempDir())
	if err := s.PutBytes("404", Meta{Status: 404, StoredAt: time.Unix(1, 0)}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.PutBytes("list", Meta{Status: 200, StoredAt: time.Unix(1, 0)}, []byte("v1.0.0\n")); err != nil {
		t.Fatal(err)
	}
	if st, err := s.Expire(time.Now()); err != nil || st != (Removed{}) {
		t.Errorf("Expire = %+v, %v; want nothing", st, err)
	}
}

// TestExpiryInBackground: the sweep runs by itself.
func TestExpiryInBackground(t *testing.T) {
	s, _ := openOpts(t, Options{Dir: t.TempDir(), ScrubRate: -1, ExpireNegativeAfter: 50 * time.Millisecond})
	if err := s.PutBytes("404", Meta{Status: 404}, []byte("not found")); err != nil {
		t.Fatal(err)
	}
	if err := s.PutBytes("list", Meta{Status: 200, StoredAt: time.Unix(1, 0)}, []byte("v1.0.0\n")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the negative answer to expire", func() bool {
		_, err := s.Lookup("404")
		return errors.Is(err, ErrNotFound)
	})
	if _, err := s.Lookup("list"); err != nil {
		t.Errorf("a mutable answer expired with ExpireMutableAfter unset: %v", err)
	}
}

// TestExpireOptionsChecked: negative ages are refused.
func TestExpireOptionsChecked(t *testing.T) {
	for _, o := range []Options{
		{ExpireNegativeAfter: -time.Second},
		{ExpireMutableAfter: -time.Second},
		{ScrubInterval: -time.Second},
	} {
		o.Dir = t.TempDir()
		if s, err := Open(o); err == nil {
			s.Close()
			t.Errorf("Open(%+v) succeeded", o)
		}
	}
}
