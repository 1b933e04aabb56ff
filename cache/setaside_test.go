package cache

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fillForDamage writes a real store to damage: 3000 records, every tenth
// with a 200 KiB body (so Badger's value log holds values), and two blob
// files; it returns the blob files' paths.
func fillForDamage(t *testing.T, dir string) []string {
	t.Helper()
	s, _ := openOpts(t, Options{Dir: dir, InlineMax: 1 << 20, ScrubRate: -1})
	for i := range 3000 {
		n := 100
		if i%10 == 0 {
			n = 200 << 10
		}
		if err := s.PutBytes(fmt.Sprintf("k/%05d", i), Meta{Status: 200}, pattern(n, byte(i))); err != nil {
			t.Fatal(err)
		}
	}
	var blobs []string
	for i := range 2 {
		key := fmt.Sprint("blob", i)
		if err := s.PutBytes(key, Meta{Status: 200}, pattern(3<<20/2, byte(i))); err != nil {
			t.Fatal(err)
		}
		blobs = append(blobs, blobFile(t, s, key))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return blobs
}

// damage flips 20 bytes spread over, or truncates to half, every file
// in the metadata directory whose name ends in ext.
func damage(t *testing.T, dir, ext, how string) {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(dir, "meta"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		if filepath.Ext(e.Name()) != ext {
			continue
		}
		p := filepath.Join(dir, "meta", e.Name())
		b, err := os.ReadFile(p)
		if err != nil || len(b) == 0 {
			continue
		}
		switch how {
		case "flip":
			for i := range 20 {
				b[(len(b)*i/20+7)%len(b)] ^= 0x5a
			}
		case "truncate":
			b = b[:len(b)/2]
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n == 0 {
		t.Fatalf("no %s file to damage in %s", ext, dir)
	}
}

// TestDamagedStoreIsSetAside: with a table (.sst) or the value log
// (.vlog) damaged, flipped or truncated (which made Badger fail, or
// panic in its own goroutines, at start), Open succeeds: the damaged
// metadata store is moved to meta.damaged-<time> and logged at ERROR,
// a fresh store works, the blob files no record refers to any more are
// swept, and the next start is an ordinary one.
func TestDamagedStoreIsSetAside(t *testing.T) {
	for _, c := range []struct{ ext, how string }{
		{".sst", "flip"}, {".sst", "truncate"}, {".vlog", "flip"}, {".vlog", "truncate"},
	} {
		t.Run(c.ext[1:]+"-"+c.how, func(t *testing.T) {
			dir := t.TempDir()
			blobs := fillForDamage(t, dir)
			damage(t, dir, c.ext, c.how)

			s, logs := noScrub(t, dir)
			st := s.Stats()
			if st.SetAside == "" || !strings.HasPrefix(filepath.Base(st.SetAside), setAsidePrefix) || filepath.Dir(st.SetAside) != dir {
				t.Fatalf("Stats.SetAside = %q, want %s/%s<time>\nlogs:\n%s", st.SetAside, dir, setAsidePrefix, logs)
			}
			if fi, err := os.Stat(st.SetAside); err != nil || !fi.IsDir() {
				t.Errorf("the damaged store %s: %v", st.SetAside, err)
			}
			if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "damaged") {
				t.Errorf("setting the store aside was not logged at ERROR:\n%s", logs)
			}
			if st.Entries != 0 {
				t.Errorf("the fresh store has %d entries", st.Entries)
			}
			for _, p := range blobs {
				if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("blob %s of the damaged store: %v, want it swept", p, err)
				}
			}
			body := pattern(300<<10, 42)
			if err := s.PutBytes("fresh", Meta{Status: 200}, body); err != nil {
				t.Fatal(err)
			}
			if err := s.PutBytes("small", Meta{Status: 404}, []byte("gone")); err != nil {
				t.Fatal(err)
			}
			if err := s.Check(); err != nil {
				t.Errorf("Check of the fresh store: %v", err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}

			s, logs = noScrub(t, dir)
			if st := s.Stats(); st.SetAside != "" || st.Entries != 2 {
				t.Errorf("reopening the fresh store: Stats %+v\nlogs:\n%s", st, logs)
			}
			if _, got := readObject(t, s, "fresh"); !bytes.Equal(got, body) {
				t.Error("the fresh store lost an answer")
			}
		})
	}
}

// TestLockedStoreIsNotSetAside: a second Open of a store in use fails
// with ErrLocked, moves nothing aside, and the first store keeps working.
func TestLockedStoreIsNotSetAside(t *testing.T) {
	dir := t.TempDir()
	s, _ := noScrub(t, dir)
	if err := s.PutBytes("k", Meta{Status: 200}, pattern(100<<10, 1)); err != nil {
		t.Fatal(err)
	}
	other, err := Open(Options{Reserve: testReserve, Dir: dir, ScrubRate: -1})
	if err == nil {
		other.Close()
		t.Fatal("a second Open of a store in use succeeded")
	}
	if !errors.Is(err, ErrLocked) {
		t.Errorf("second Open: %v, want ErrLocked", err)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, setAsidePrefix+"*")); len(m) > 0 {
		t.Errorf("a locked store was set aside: %v", m)
	}
	if _, got := readObject(t, s, "k"); !bytes.Equal(got, pattern(100<<10, 1)) {
		t.Error("the first store lost its answer")
	}
	if err := s.PutBytes("k2", Meta{Status: 200}, []byte("x")); err != nil {
		t.Errorf("the first store cannot write: %v", err)
	}
}

// TestEnvironmentalErrorsAreNotDamage: failures of the surroundings do
// not set a store aside.
func TestEnvironmentalErrorsAreNotDamage(t *testing.T) {
	for _, err := range []error{
		fmt.Errorf("while opening memtables: %w", os.ErrPermission),
		errors.New("while mmapping /c/meta/00001.mem with size: 8388608: no space left on device"),
		errors.New("open /c/meta/MANIFEST: too many open files"),
	} {
		if !environmental(err) {
			t.Errorf("environmental(%q) = false", err)
		}
	}
	for _, err := range []error{
		errors.New("failed to verify checksum for table: /c/meta/000001.sst"),
		errors.New("manifest has bad magic"),
		errors.New("panic: runtime error: slice bounds out of range [-83384396:]"),
	} {
		if environmental(err) {
			t.Errorf("environmental(%q) = true", err)
		}
	}
}

// TestPanicInRecordWalkIsDamage: a panic during Open's walk over the
// records (Badger's block iterator panics on some damaged tables) is
// recovered and reported as damage, which sets the store aside.
func TestPanicInRecordWalkIsDamage(t *testing.T) {
	s, _ := noScrub(t, t.TempDir())
	if err := s.PutBytes("k", Meta{Status: 200}, []byte("v")); err != nil {
		t.Fatal(err)
	}
	err := s.eachRecordAtOpen(func(string, *record) { panic("slice bounds out of range [-83384396:]") })
	var dmg *damageError
	if !errors.As(err, &dmg) || !strings.Contains(err.Error(), "slice bounds out of range") {
		t.Errorf("eachRecordAtOpen with a panic: %v, want a damage error", err)
	}
}
