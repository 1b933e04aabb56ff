package cache

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// logBuffer collects log output for assertions.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// openTest opens a store in dir, closing it when the test ends.
func openTest(t testing.TB, dir string, inlineMax int64) (*Store, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	s, err := Open(Options{Reserve: testReserve,
		Dir:       dir,
		Logger:    slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		InlineMax: inlineMax,
	})
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() { s.Close() })
	return s, logs
}

// readObject opens key and returns its entry and whole body.
func readObject(t testing.TB, s *Store, key string) (*Object, []byte) {
	t.Helper()
	o, err := s.Open(key)
	if err != nil {
		t.Fatalf("Open(%q): %v", key, err)
	}
	defer o.Close()
	body, err := io.ReadAll(o.Body)
	if err != nil {
		t.Fatalf("reading %q: %v", key, err)
	}
	return o, body
}

func pattern(n int, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7) + seed
	}
	return b
}

func checkEntry(t *testing.T, e Entry, key string, m Meta, body []byte) {
	t.Helper()
	if e.Key != key || e.Status != m.Status || e.Immutable != m.Immutable || e.Upstream != m.Upstream ||
		!e.StoredAt.Equal(m.StoredAt) || e.Size != int64(len(body)) || e.SHA256 != sha256.Sum256(body) {
		t.Errorf("entry = %+v, want key %q, meta %+v, size %d, sha %x", e, key, m, len(body), sha256.Sum256(body))
	}
}

func TestInlineRoundTrip(t *testing.T) {
	s, _ := openTest(t, t.TempDir(), 0)
	m := Meta{Status: 200, Immutable: true, StoredAt: time.Unix(1700000000, 123456789), Upstream: "mirror-a"}
	body := []byte("v1.2.3 info")
	if err := s.PutBytes("example.com/m/@v/v1.2.3.info", m, body); err != nil {
		t.Fatal(err)
	}
	o, got := readObject(t, s, "example.com/m/@v/v1.2.3.info")
	if !bytes.Equal(got, body) {
		t.Errorf("body = %q, want %q", got, body)
	}
	if _, ok := o.Body.(*bytes.Reader); !ok {
		t.Errorf("inline body is %T, want *bytes.Reader", o.Body)
	}
	checkEntry(t, o.Entry, "example.com/m/@v/v1.2.3.info", m, body)
	e, err := s.Lookup("example.com/m/@v/v1.2.3.info")
	if err != nil {
		t.Fatal(err)
	}
	if e != o.Entry {
		t.Errorf("Lookup = %+v, Open = %+v", e, o.Entry)
	}

	// Empty bodies and 404 answers are inline too.
	nf := Meta{Status: 404, StoredAt: time.Unix(1, 0), Upstream: "b"}
	if err := s.PutBytes("gone", nf, nil); err != nil {
		t.Fatal(err)
	}
	o, got = readObject(t, s, "gone")
	if len(got) != 0 {
		t.Errorf("empty body read back as %q", got)
	}
	checkEntry(t, o.Entry, "gone", nf, nil)
}

func TestBlobRoundTrip(t *testing.T) {
	dir := t.TempDir()
	s, _ := openTest(t, dir, 0)
	body := pattern(3<<20+17, 1)
	b, err := s.NewBlob()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Discard()
	if !strings.HasPrefix(b.Path(), filepath.Join(dir, "tmp")+string(filepath.Separator)) {
		t.Errorf("temp path %s is not under %s/tmp", b.Path(), dir)
	}
	half := len(body) / 2
	for _, chunk := range [][]byte{body[:half], body[half:]} {
		if _, err := b.Write(chunk); err != nil {
			t.Fatal(err)
		}
		// Path's content is complete up to the last Write.
		onDisk, err := os.ReadFile(b.Path())
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(onDisk)) != b.Size() || !bytes.Equal(onDisk, body[:b.Size()]) {
			t.Fatalf("temp file holds %d bytes, Size says %d", len(onDisk), b.Size())
		}
	}
	m := Meta{Status: 200, Immutable: true, StoredAt: time.Unix(1700000000, 5), Upstream: "mirror-b"}
	committed, err := s.CommitBlob("m/@v/v1.0.0.zip", m, b)
	if err != nil {
		t.Fatal(err)
	}
	checkEntry(t, committed, "m/@v/v1.0.0.zip", m, body)
	// The committed entry opens by its digest, without its record.
	oe, err := s.OpenEntry(committed)
	if err != nil {
		t.Fatalf("OpenEntry: %v", err)
	}
	if got, err := io.ReadAll(oe.Body); err != nil || !bytes.Equal(got, body) {
		t.Fatalf("OpenEntry's body: %d bytes, %v; want the %d committed", len(got), err, len(body))
	}
	oe.Close()
	if err := b.Discard(); err != nil {
		t.Errorf("Discard after commit: %v", err)
	}
	if err := b.Discard(); err != nil {
		t.Errorf("second Discard after commit: %v", err)
	}
	o, got := readObject(t, s, "m/@v/v1.0.0.zip")
	if !bytes.Equal(got, body) {
		t.Fatal("blob body differs")
	}
	checkEntry(t, o.Entry, "m/@v/v1.0.0.zip", m, body)
	f, ok := o.Body.(*os.File)
	if !ok {
		t.Fatalf("blob body is %T, want *os.File", o.Body)
	}
	sum := sha256.Sum256(body)
	want := filepath.Join(dir, "blobs", fmt.Sprintf("%x", sum[:1]), fmt.Sprintf("%x", sum))
	if f.Name() != want {
		t.Errorf("blob file %s, want %s", f.Name(), want)
	}
	if ents, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(ents) != 0 {
		t.Errorf("tmp holds %d files after commit", len(ents))
	}
	o, err = s.Open("m/@v/v1.0.0.zip")
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Close(); err != nil {
		t.Errorf("Object.Close: %v", err)
	}
}

func TestPutBytesAboveInlineMaxGoesToBlob(t *testing.T) {
	s, _ := openTest(t, t.TempDir(), 16)
	small, large := pattern(16, 2), pattern(17, 3)
	if err := s.PutBytes("small", Meta{Status: 200}, small); err != nil {
		t.Fatal(err)
	}
	if err := s.PutBytes("large", Meta{Status: 200}, large); err != nil {
		t.Fatal(err)
	}
	o, got := readObject(t, s, "small")
	if _, ok := o.Body.(*bytes.Reader); !ok || !bytes.Equal(got, small) {
		t.Errorf("small: body %T %q", o.Body, got)
	}
	o, got = readObject(t, s, "large")
	if _, ok := o.Body.(*os.File); !ok || !bytes.Equal(got, large) {
		t.Errorf("large: body %T %q", o.Body, got)
	}
	if ents, _ := os.ReadDir(s.tmpDir); len(ents) != 0 {
		t.Errorf("tmp holds %d files after PutBytes", len(ents))
	}
}

func TestOverwriteAndStats(t *testing.T) {
	s, _ := openTest(t, t.TempDir(), 100)
	steps := []struct {
		body    []byte
		entries int64
	}{
		{pattern(10, 0), 1},  // inline
		{pattern(500, 1), 1}, // blob over inline
		{pattern(20, 2), 1},  // inline over blob
		{pattern(20, 3), 1},  // same size, other content
	}
	for i, st := range steps {
		if err := s.PutBytes("k", Meta{Status: 200}, st.body); err != nil {
			t.Fatal(err)
		}
		if got, want := sizeStats(s), (Stats{Entries: st.entries, Bytes: int64(len(st.body))}); got != want {
			t.Errorf("step %d: Stats = %+v, want %+v", i, got, want)
		}
		if _, got := readObject(t, s, "k"); !bytes.Equal(got, st.body) {
			t.Errorf("step %d: body differs", i)
		}
	}
	if err := s.PutBytes("k2", Meta{Status: 404}, []byte("no")); err != nil {
		t.Fatal(err)
	}
	if got, want := sizeStats(s), (Stats{Entries: 2, Bytes: 22}); got != want {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}
	if err := s.Delete("k"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete("k"); err != nil {
		t.Errorf("deleting an absent key: %v", err)
	}
	if got, want := sizeStats(s), (Stats{Entries: 1, Bytes: 2}); got != want {
		t.Errorf("after Delete: Stats = %+v, want %+v", got, want)
	}
}

func TestDelete(t *testing.T) {
	s, _ := openTest(t, t.TempDir(), 0)
	if err := s.PutBytes("a", Meta{Status: 200}, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := s.PutBytes("b", Meta{Status: 200}, pattern(DefaultInlineMax+1, 0)); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a", "b"} {
		if err := s.Delete(k); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Open(k); !errors.Is(err, ErrNotFound) {
			t.Errorf("Open(%q) after Delete: %v, want ErrNotFound", k, err)
		}
		if _, err := s.Lookup(k); !errors.Is(err, ErrNotFound) {
			t.Errorf("Lookup(%q) after Delete: %v, want ErrNotFound", k, err)
		}
	}
	if _, err := s.Open("never"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Open of absent key: %v", err)
	}
	if _, err := s.Lookup("never"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Lookup of absent key: %v", err)
	}
	if got := sizeStats(s); got != (Stats{}) {
		t.Errorf("Stats = %+v, want zero", got)
	}
}

func TestWalk(t *testing.T) {
	s, _ := openTest(t, t.TempDir(), 0)
	var want []string
	for i := range 2*walkBatch + 10 {
		k := fmt.Sprintf("a/%05d", i)
		want = append(want, k)
		if err := s.PutBytes(k, Meta{Status: 200}, []byte(k)); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range []string{"a", "b/1", "ab", "\xff"} {
		if err := s.PutBytes(k, Meta{Status: 200}, []byte(k)); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	err := s.Walk("a/", func(e Entry) error {
		if e.Size != int64(len(e.Key)) || e.SHA256 != sha256.Sum256([]byte(e.Key)) {
			t.Errorf("entry %+v has the wrong record", e)
		}
		got = append(got, e.Key)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("Walk(a/) gave %d keys, want %d in order", len(got), len(want))
	}

	got = got[:0]
	if err := s.Walk("", func(e Entry) error { got = append(got, e.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want)+4 || got[0] != "a" || got[1] != "a/00000" || got[len(got)-1] != "\xff" {
		t.Errorf("Walk(\"\") gave %d keys starting %q, ending %q", len(got), got[:2], got[len(got)-1])
	}

	stop := errors.New("stop")
	n := 0
	err = s.Walk("", func(Entry) error {
		n++
		if n == walkBatch+3 {
			return stop
		}
		return nil
	})
	if err != stop || n != walkBatch+3 {
		t.Errorf("Walk stopped with %v after %d calls, want %v after %d", err, n, stop, walkBatch+3)
	}

	// Writes from inside fn do not deadlock.
	err = s.Walk("a/0000", func(e Entry) error { return s.Delete(e.Key) })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Lookup("a/00001"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Lookup after delete-in-walk: %v", err)
	}
}

func TestStatsSurviveReopen(t *testing.T) {
	dir := t.TempDir()
	s, _ := openTest(t, dir, 64)
	var want Stats
	for i := range 50 {
		body := pattern(i*5, byte(i))
		if err := s.PutBytes(fmt.Sprint(i), Meta{Status: 200}, body); err != nil {
			t.Fatal(err)
		}
		want.Entries++
		want.Bytes += int64(len(body))
	}
	if got := sizeStats(s); got != want {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	s, _ = openTest(t, dir, 64)
	if got := sizeStats(s); got != want {
		t.Errorf("after reopen: Stats = %+v, want %+v", got, want)
	}
}

func TestConcurrentWritesKeepStats(t *testing.T) {
	s, _ := openTest(t, t.TempDir(), 64)
	const keys, writers, rounds = 8, 8, 20
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for r := range rounds {
				k := fmt.Sprint((w + r) % keys)
				var err error
				if (w+r)%5 == 0 {
					err = s.Delete(k)
				} else {
					err = s.PutBytes(k, Meta{Status: 200}, pattern((w*r)%100, byte(w)))
				}
				if err != nil {
					t.Error(err)
				}
				if o, err := s.Open(k); err == nil {
					io.Copy(io.Discard, o.Body)
					o.Close()
				}
			}
		})
	}
	wg.Wait()
	var want Stats
	if err := s.Walk("", func(e Entry) error { want.Entries++; want.Bytes += e.Size; return nil }); err != nil {
		t.Fatal(err)
	}
	if got := sizeStats(s); got != want {
		t.Errorf("Stats = %+v, Walk says %+v", got, want)
	}
}

func TestStoredAtDefaultsToNow(t *testing.T) {
	s, _ := openTest(t, t.TempDir(), 0)
	before := time.Now()
	if err := s.PutBytes("k", Meta{Status: 200}, []byte("x")); err != nil {
		t.Fatal(err)
	}
	e, err := s.Lookup("k")
	if err != nil {
		t.Fatal(err)
	}
	if e.StoredAt.Before(before.Add(-time.Second)) || e.StoredAt.After(time.Now().Add(time.Second)) {
		t.Errorf("StoredAt = %v, want about %v", e.StoredAt, before)
	}
}

func TestETag(t *testing.T) {
	e := Entry{SHA256: sha256.Sum256([]byte("hello"))}
	// sha256("hello") = 2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824
	if got, want := e.ETag(), `"2cf24dba5fb0a30e26e83b2ac5b9e29e"`; got != want {
		t.Errorf("ETag = %s, want %s", got, want)
	}
}

func TestDiscard(t *testing.T) {
	s, _ := openTest(t, t.TempDir(), 0)
	b, err := s.NewBlob()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Write([]byte("partial")); err != nil {
		t.Fatal(err)
	}
	if err := b.Discard(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(b.Path()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temp file still there after Discard: %v", err)
	}
	if err := b.Discard(); err != nil {
		t.Errorf("second Discard: %v", err)
	}
	if _, err := b.Write([]byte("more")); err == nil {
		t.Error("Write after Discard succeeded")
	}
	if _, err := s.CommitBlob("k", Meta{Status: 200}, b); err == nil {
		t.Error("CommitBlob after Discard succeeded")
	}
	if _, err := s.Lookup("k"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Lookup after failed commit: %v", err)
	}

	// A second commit of a committed blob fails and changes nothing.
	b, _ = s.NewBlob()
	b.Write([]byte("body"))
	if _, err := s.CommitBlob("k", Meta{Status: 200}, b); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CommitBlob("k2", Meta{Status: 200}, b); err == nil {
		t.Error("second CommitBlob succeeded")
	}
}

func TestCommitRejectsBadInput(t *testing.T) {
	s, _ := openTest(t, t.TempDir(), 0)
	other, _ := openTest(t, t.TempDir(), 0)
	b, _ := other.NewBlob()
	defer b.Discard()
	if _, err := s.CommitBlob("k", Meta{Status: 200}, b); err == nil {
		t.Error("CommitBlob of another store's blob succeeded")
	}
	b2, _ := s.NewBlob()
	defer b2.Discard()
	b2.Write([]byte("x"))
	if _, err := s.CommitBlob("", Meta{Status: 200}, b2); err == nil {
		t.Error("CommitBlob with an empty key succeeded")
	}
	if _, err := s.CommitBlob("k", Meta{Status: -1}, b2); err == nil {
		t.Error("CommitBlob with status -1 succeeded")
	}
	if err := s.PutBytes(strings.Repeat("k", maxKeyLen+1), Meta{}, nil); err == nil || len(err.Error()) > 200 {
		t.Errorf("PutBytes with a huge key: %v", err)
	}
	// b2 is still usable after rejected commits.
	if _, err := s.CommitBlob("k", Meta{Status: 200}, b2); err != nil {
		t.Errorf("CommitBlob after rejected ones: %v", err)
	}
}

func TestSharedBlobContent(t *testing.T) {
	s, _ := openTest(t, t.TempDir(), 8)
	body := pattern(1000, 9)
	for _, k := range []string{"x", "y"} {
		if err := s.PutBytes(k, Meta{Status: 200}, body); err != nil {
			t.Fatal(err)
		}
	}
	var files int
	filepath.WalkDir(s.blobDir, func(_ string, d os.DirEntry, _ error) error {
		if d.Type().IsRegular() {
			files++
		}
		return nil
	})
	if files != 1 {
		t.Errorf("%d blob files for one content, want 1", files)
	}
	if err := s.Delete("x"); err != nil {
		t.Fatal(err)
	}
	if _, got := readObject(t, s, "y"); !bytes.Equal(got, body) {
		t.Error("shared blob lost after deleting the other key")
	}
}

func TestOpenLocked(t *testing.T) {
	dir := t.TempDir()
	openTest(t, dir, 0)
	s, err := Open(Options{Reserve: testReserve, Dir: dir, Logger: slog.New(slog.DiscardHandler)})
	if err == nil {
		s.Close()
		t.Fatal("second Open of the same directory succeeded")
	}
	if !errors.Is(err, ErrLocked) {
		t.Errorf("error %v does not wrap ErrLocked", err)
	}
	if !strings.Contains(err.Error(), dir) {
		t.Errorf("error %q does not name %s", err, dir)
	}
}

func TestOpenRejectsBadOptions(t *testing.T) {
	if _, err := Open(Options{Reserve: testReserve}); err == nil {
		t.Error("Open without Dir succeeded")
	}
	for _, n := range []int64{-1, maxInlineMax + 1} {
		if _, err := Open(Options{Reserve: testReserve, Dir: t.TempDir(), InlineMax: n}); err == nil {
			t.Errorf("Open with InlineMax %d succeeded", n)
		}
	}
}

func TestOpenEmptiesTmp(t *testing.T) {
	dir := t.TempDir()
	s, _ := openTest(t, dir, 0)
	b, _ := s.NewBlob()
	b.Write([]byte("left behind"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "tmp", "sub", "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "tmp", "sub", "dir", "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	openTest(t, dir, 0)
	ents, err := os.ReadDir(filepath.Join(dir, "tmp"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 0 {
		t.Errorf("tmp holds %d entries after Open", len(ents))
	}
}

func TestBrokenBlobIsNotFound(t *testing.T) {
	s, logs := openTest(t, t.TempDir(), 0)
	body := pattern(DefaultInlineMax*2, 4)
	for _, k := range []string{"missing", "short", "long"} {
		if err := s.PutBytes(k, Meta{Status: 200}, append([]byte(k), body...)); err != nil {
			t.Fatal(err)
		}
	}
	path := func(k string) string {
		e, err := s.Lookup(k)
		if err != nil {
			t.Fatal(err)
		}
		return s.blobPath(e.SHA256)
	}
	if err := os.Remove(path("missing")); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path("short"), 100); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path("long"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("extra"))
	f.Close()
	for _, k := range []string{"missing", "short", "long"} {
		if o, err := s.Open(k); !errors.Is(err, ErrNotFound) {
			if err == nil {
				o.Close()
			}
			t.Errorf("Open(%q): %v, want ErrNotFound", k, err)
		}
	}
	out := logs.String()
	if !strings.Contains(out, "blob file missing") || strings.Count(out, "wrong size") != 2 {
		t.Errorf("warnings not logged:\n%s", out)
	}
}

func TestUndecodableRecordIsNotFound(t *testing.T) {
	dir := t.TempDir()
	s, logs := openTest(t, dir, 0)
	if err := s.PutBytes("good", Meta{Status: 200}, []byte("fine")); err != nil {
		t.Fatal(err)
	}
	if err := s.db.Update(func(txn *badger.Txn) error {
		return txn.Set(dbKey("bad"), []byte("\x01garbage that is not a record"))
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open("bad"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Open of garbage: %v", err)
	}
	if _, err := s.Lookup("bad"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Lookup of garbage: %v", err)
	}
	var keys []string
	if err := s.Walk("", func(e Entry) error { keys = append(keys, e.Key); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0] != "good" {
		t.Errorf("Walk gave %q, want [good]", keys)
	}
	if !strings.Contains(logs.String(), "undecodable record") {
		t.Errorf("no warning logged:\n%s", logs)
	}
	// Counting at Open skips it; overwriting it counts once.
	s.Close()
	s, _ = openTest(t, dir, 0)
	if got := sizeStats(s); got != (Stats{Entries: 1, Bytes: 4}) {
		t.Errorf("Stats = %+v", got)
	}
	if err := s.PutBytes("bad", Meta{Status: 200}, []byte("ok")); err != nil {
		t.Fatal(err)
	}
	if got := sizeStats(s); got != (Stats{Entries: 2, Bytes: 6}) {
		t.Errorf("Stats = %+v", got)
	}
}

func TestBadgerLogger(t *testing.T) {
	logs := &logBuffer{}
	l := badgerLogger{log: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))}
	l.Infof("routine %d\n", 1)
	l.Debugf("detail")
	l.Warningf("careful %s", "now")
	l.Errorf("Value with size %d exceeded limit:\n%s", 5000, strings.Repeat("00 11 22 33 ", 400))
	out := logs.String()
	if strings.Contains(out, "routine") || strings.Contains(out, "detail") {
		t.Errorf("Infof/Debugf not at debug level:\n%s", out)
	}
	if !strings.Contains(out, "level=WARN") || !strings.Contains(out, "careful now") {
		t.Errorf("Warningf not logged as a warning:\n%s", out)
	}
	if !strings.Contains(out, "level=ERROR") || len(out) > 2*maxLogMessage+200 || !strings.Contains(out, "truncated") {
		t.Errorf("Errorf not logged as a truncated error (%d bytes):\n%s", len(out), out)
	}
	long := errors.New(strings.Repeat("x", 5000))
	if err := short(long); len(err.Error()) > maxLogMessage+50 || !errors.Is(err, long) {
		t.Errorf("short(long error) = %d bytes, wraps it: %v", len(err.Error()), errors.Is(err, long))
	}
}

// testReserve is the free-space reserve of the stores tests open: the
// smallest there is (Badger's headroom), so that the tests do not depend
// on how full the machine's disk is. The reserve itself is tested in
// space_test.go and diskfull_linux_test.go.
const testReserve = 1

// TestBlobSubdirsMadeAtOpen: the 256 directories blob files go in exist
// once the store is open, so that no commit has to make one.
func TestBlobSubdirsMadeAtOpen(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(Options{Dir: dir, Reserve: testReserve})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	entries, err := os.ReadDir(filepath.Join(dir, "blobs"))
	if err != nil || len(entries) != 256 {
		t.Fatalf("blobs/ holds %d entries (%v), want 256 subdirectories", len(entries), err)
	}
}

// TestStartSync: a blob whose fsync was started early commits as any
// other (the commit waits for the fsync), refuses further writes, and
// can be discarded while the fsync may still run.
func TestStartSync(t *testing.T) {
	s, err := Open(Options{Dir: t.TempDir(), Reserve: testReserve})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	body := strings.Repeat("zip bytes ", 1<<14)
	b, err := s.NewBlob()
	if err != nil {
		t.Fatal(err)
	}
	b.Write([]byte(body))
	b.StartSync()
	if _, err := b.Write([]byte("more")); err == nil {
		t.Error("a write after StartSync succeeded")
	}
	if _, err := s.CommitBlob("k", Meta{Status: 200}, b); err != nil {
		t.Fatalf("CommitBlob after StartSync: %v", err)
	}
	o, err := s.Open("k")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(o.Body)
	o.Close()
	if string(got) != body {
		t.Fatalf("read back %d bytes, want %d", len(got), len(body))
	}

	d, err := s.NewBlob()
	if err != nil {
		t.Fatal(err)
	}
	d.Write([]byte(body))
	d.StartSync()
	if err := d.Discard(); err != nil {
		t.Fatalf("Discard after StartSync: %v", err)
	}
	if _, err := os.Stat(d.Path()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the discarded blob's file is still there: %v", err)
	}
}

// TestOpenEntryOfAGoneBlob: the committed entry of a blob file removed
// since (evicted, or by hand) opens as ErrNotFound, never a partial body.
func TestOpenEntryOfAGoneBlob(t *testing.T) {
	dir := t.TempDir()
	s, _ := openTest(t, dir, 0)
	b, err := s.NewBlob()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Discard()
	body := pattern(100<<10, 3)
	if _, err := b.Write(body); err != nil {
		t.Fatal(err)
	}
	e, err := s.CommitBlob("gone/@v/v1.0.0.zip", Meta{Status: 200, Immutable: true}, b)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(s.blobPath(e.SHA256)); err != nil {
		t.Fatal(err)
	}
	if o, err := s.OpenEntry(e); !errors.Is(err, ErrNotFound) {
		if o != nil {
			o.Close()
		}
		t.Errorf("OpenEntry of a removed blob: %v, want ErrNotFound", err)
	}
}
