package cache

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// openOpts opens a store with opts (and a logger into the returned
// buffer), closing it when the test ends.
func openOpts(t testing.TB, opts Options) (*Store, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	opts.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := Open(opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", opts.Dir, err)
	}
	t.Cleanup(func() { s.Close() })
	return s, logs
}

// noScrub opens a store in dir without the background scrub, so that
// only reads and commits check blobs.
func noScrub(t testing.TB, dir string) (*Store, *logBuffer) {
	t.Helper()
	return openOpts(t, Options{Dir: dir, ScrubRate: -1})
}

// flipByte flips one byte of the file at p, in place (same inode, same
// size), as bit rot would.
func flipByte(t testing.TB, p string, off int64) {
	t.Helper()
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b [1]byte
	if _, err := f.ReadAt(b[:], off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x20
	if _, err := f.WriteAt(b[:], off); err != nil {
		t.Fatal(err)
	}
}

// blobFile returns the path of key's blob file.
func blobFile(t testing.TB, s *Store, key string) string {
	t.Helper()
	e, err := s.Lookup(key)
	if err != nil {
		t.Fatalf("Lookup(%q): %v", key, err)
	}
	return s.blobPath(e.SHA256)
}

// simulateCrash leaves the open marker behind a closed store, as a
// process killed while it had the store open would.
func simulateCrash(t testing.TB, dir string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, openMarker), []byte("killed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// wantGone checks that key reads as a miss and that the file at p is gone.
func wantGone(t testing.TB, s *Store, key, p string) {
	t.Helper()
	if o, err := s.Open(key); !errors.Is(err, ErrNotFound) {
		if err == nil {
			body, _ := io.ReadAll(o.Body)
			o.Close()
			t.Fatalf("Open(%q) served %d bytes of a corrupt blob", key, len(body))
		}
		t.Fatalf("Open(%q) = %v, want ErrNotFound", key, err)
	}
	if _, err := s.Lookup(key); !errors.Is(err, ErrNotFound) {
		t.Errorf("Lookup(%q) = %v: the record of a corrupt blob was kept", key, err)
	}
	if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("corrupt blob file %s: %v, want it removed", p, err)
	}
}

// TestCorruptBlobNeverServedAfterRestart: a byte flipped in a blob file
// while the store was closed, cleanly or not, is found by the first read
// after the restart, which hashes the file before returning it: the
// corrupt bytes are never served, the file is removed, the record
// dropped, the finding counted and logged at ERROR; committing the honest
// copy again serves it.
func TestCorruptBlobNeverServedAfterRestart(t *testing.T) {
	for _, unclean := range []bool{false, true} {
		name := map[bool]string{false: "clean", true: "unclean"}[unclean]
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			body := pattern(300<<10, 3)
			s, _ := noScrub(t, dir)
			if err := s.PutBytes("m/@v/v1.0.0.zip", Meta{Status: 200, Immutable: true}, body); err != nil {
				t.Fatal(err)
			}
			p := blobFile(t, s, "m/@v/v1.0.0.zip")
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if unclean {
				simulateCrash(t, dir)
			}
			flipByte(t, p, 12345)

			s, logs := noScrub(t, dir)
			if st := s.Stats(); st.UncleanStart != unclean || st.UncheckedBlobs != 1 {
				t.Errorf("after reopen: UncleanStart %v, UncheckedBlobs %d; want %v, 1", st.UncleanStart, st.UncheckedBlobs, unclean)
			}
			wantGone(t, s, "m/@v/v1.0.0.zip", p)
			if st := s.Stats(); st.CorruptBlobs != 1 || st.Entries != 0 || st.UncheckedBlobs != 0 {
				t.Errorf("Stats = %+v, want 1 corrupt blob, no entries, nothing unchecked", st)
			}
			if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "does not hash to its name") {
				t.Errorf("the corrupt blob was not logged at ERROR:\n%s", logs)
			}

			// The next request fetches an honest copy and stores it.
			if err := s.PutBytes("m/@v/v1.0.0.zip", Meta{Status: 200, Immutable: true}, body); err != nil {
				t.Fatal(err)
			}
			if _, got := readObject(t, s, "m/@v/v1.0.0.zip"); !bytes.Equal(got, body) {
				t.Error("the honest copy committed again is not served")
			}
		})
	}
}

// TestCorruptSharedBlob: two keys whose bodies are identical share one
// blob file; once it is found corrupt, neither is served, the file is
// removed and both records are dropped, and many concurrent first reads
// serve nothing either.
func TestCorruptSharedBlob(t *testing.T) {
	dir := t.TempDir()
	body := pattern(200<<10, 9)
	s, _ := noScrub(t, dir)
	for _, k := range []string{"a.com/m/@v/v1.0.0.zip", "b.com/m/@v/v1.0.0.zip"} {
		if err := s.PutBytes(k, Meta{Status: 200, Immutable: true}, body); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.PutBytes("other", Meta{Status: 200}, pattern(100<<10, 1)); err != nil {
		t.Fatal(err)
	}
	p := blobFile(t, s, "a.com/m/@v/v1.0.0.zip")
	if q := blobFile(t, s, "b.com/m/@v/v1.0.0.zip"); q != p {
		t.Fatalf("identical bodies in two blob files: %s, %s", p, q)
	}
	s.Close()
	flipByte(t, p, 0)

	s, _ = noScrub(t, dir)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			k := []string{"a.com/m/@v/v1.0.0.zip", "b.com/m/@v/v1.0.0.zip"}[i%2]
			o, err := s.Open(k)
			if err == nil {
				o.Close()
				t.Errorf("Open(%q) returned the corrupt shared blob", k)
			} else if !errors.Is(err, ErrNotFound) {
				t.Errorf("Open(%q): %v", k, err)
			}
		})
	}
	wg.Wait()
	wantGone(t, s, "a.com/m/@v/v1.0.0.zip", p)
	wantGone(t, s, "b.com/m/@v/v1.0.0.zip", p)
	if st := s.Stats(); st.CorruptBlobs != 1 || st.Entries != 1 {
		t.Errorf("Stats = %+v, want the corrupt blob counted once and only the other entry left", st)
	}
	if _, got := readObject(t, s, "other"); !bytes.Equal(got, pattern(100<<10, 1)) {
		t.Error("an honest blob was not served")
	}
}

// TestFirstReadsShareOneCheck: concurrent first reads of an honest blob
// after a restart all get its body, and it is hashed once for all.
func TestFirstReadsShareOneCheck(t *testing.T) {
	dir := t.TempDir()
	body := pattern(1<<20, 5)
	s, _ := noScrub(t, dir)
	if err := s.PutBytes("k", Meta{Status: 200}, body); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, _ = noScrub(t, dir)
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			o, err := s.Open("k")
			if err != nil {
				t.Error(err)
				return
			}
			defer o.Close()
			got, err := io.ReadAll(o.Body)
			if err != nil || !bytes.Equal(got, body) {
				t.Errorf("read %d bytes, %v", len(got), err)
			}
		})
	}
	wg.Wait()
	if st := s.Stats(); st.UncheckedBlobs != 0 || st.CorruptBlobs != 0 {
		t.Errorf("Stats = %+v, want the blob checked and nothing corrupt", st)
	}
}

// TestCommitOverCorruptBlobReplacesIt: committing a body whose blob file
// exists but was damaged (same size, or truncated) hashes the file,
// counts it as corrupt and renames the honest copy over it, so every key
// that shares it is served honest bytes.
func TestCommitOverCorruptBlobReplacesIt(t *testing.T) {
	for _, how := range []string{"flipped", "truncated"} {
		t.Run(how, func(t *testing.T) {
			body := pattern(200<<10, 7)
			s, logs := noScrub(t, t.TempDir())
			if err := s.PutBytes("first", Meta{Status: 200, Immutable: true}, body); err != nil {
				t.Fatal(err)
			}
			p := blobFile(t, s, "first")
			before, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if how == "flipped" {
				flipByte(t, p, 100)
			} else if err := os.Truncate(p, 1000); err != nil {
				t.Fatal(err)
			}
			b, err := s.NewBlob()
			if err != nil {
				t.Fatal(err)
			}
			defer b.Discard()
			if _, err := b.Write(body); err != nil {
				t.Fatal(err)
			}
			if _, err := s.CommitBlob("second", Meta{Status: 200, Immutable: true}, b); err != nil {
				t.Fatal(err)
			}
			after, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if os.SameFile(before, after) {
				t.Error("the corrupt file was kept, not replaced")
			}
			for _, k := range []string{"first", "second"} {
				if _, got := readObject(t, s, k); !bytes.Equal(got, body) {
					t.Errorf("%s: not the honest body", k)
				}
			}
			if st := s.Stats(); st.CorruptBlobs != 1 {
				t.Errorf("CorruptBlobs = %d, want 1", st.CorruptBlobs)
			}
			if !strings.Contains(logs.String(), "level=ERROR") {
				t.Errorf("the replaced blob was not logged at ERROR:\n%s", logs)
			}

			// An intact file is kept (hashed, not replaced).
			b2, err := s.NewBlob()
			if err != nil {
				t.Fatal(err)
			}
			defer b2.Discard()
			b2.Write(body)
			if _, err := s.CommitBlob("third", Meta{Status: 200}, b2); err != nil {
				t.Fatal(err)
			}
			if again, err := os.Stat(p); err != nil || !os.SameFile(after, again) {
				t.Errorf("an intact blob file was replaced (%v)", err)
			}
			if st := s.Stats(); st.CorruptBlobs != 1 {
				t.Errorf("CorruptBlobs = %d after an intact commit, want 1", st.CorruptBlobs)
			}
		})
	}
}

// TestOpenMarker: the marker is there while the store is open and gone
// after a clean Close; one left behind makes the next Open an unclean
// start.
func TestOpenMarker(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, openMarker)
	s, _ := noScrub(t, dir)
	if _, err := os.Stat(marker); err != nil {
		t.Errorf("open marker while open: %v", err)
	}
	if s.Stats().UncleanStart {
		t.Error("a new store reports an unclean start")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(marker); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("open marker after Close: %v", err)
	}
	s, _ = noScrub(t, dir)
	if s.Stats().UncleanStart {
		t.Error("a cleanly closed store reports an unclean start")
	}
	s.Close()
	simulateCrash(t, dir)
	s, _ = noScrub(t, dir)
	if !s.Stats().UncleanStart {
		t.Error("a store left open reports a clean start")
	}
}
