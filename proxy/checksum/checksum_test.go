package checksum_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofailover/gofailover/proxy/checksum"
	"github.com/gofailover/gofailover/proxy/mirrortest"
)

func TestParseDatabase(t *testing.T) {
	db, err := mirrortest.NewSumDB("sumdb.test", nil)
	if err != nil {
		t.Fatal(err)
	}
	key := db.VerifierKey
	otherKey := func() string {
		o, err := mirrortest.NewSumDB("other.test", nil)
		if err != nil {
			t.Fatal(err)
		}
		return o.VerifierKey
	}()
	known := map[string]string{"sumdb.test": key}
	tests := []struct {
		value   string
		off     bool
		name    string
		key     string
		url     string // "" for none
		wantErr string // substring; "" for success
	}{
		{value: "off", off: true},
		{value: "  off ", off: true},
		{value: "sumdb.test", name: "sumdb.test", key: key},
		{value: "unknown.test", wantErr: "no known key"},
		{value: key, name: "sumdb.test", key: key},
		{value: otherKey, name: "other.test", key: otherKey},
		{value: key + " db.example.test", name: "sumdb.test", key: key, url: "https://db.example.test"},
		{value: key + " https://db.example.test/sub/", name: "sumdb.test", key: key, url: "https://db.example.test/sub"},
		{value: key + " http://127.0.0.1:8080", name: "sumdb.test", key: key, url: "http://127.0.0.1:8080"},
		{value: "sumdb.test+deadbeef+AAAA", wantErr: "invalid checksum database key"},
		{value: "sumdb.test+", wantErr: "invalid checksum database key"},
		{value: key + " ftp://db.example.test", wantErr: "invalid checksum database URL"},
		{value: key + " https://", wantErr: "invalid checksum database URL"},
		{value: key + " https://db.example.test extra", wantErr: "want off, name"},
		{value: "", wantErr: "want off, name"},
	}
	for _, tt := range tests {
		asked := false
		got, err := checksum.ParseDatabase(tt.value, func(name string) (string, bool) {
			asked = true
			k, ok := known[name]
			return k, ok
		})
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParseDatabase(%q) = %+v, %v; want an error containing %q", tt.value, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseDatabase(%q): %v", tt.value, err)
			continue
		}
		if tt.off {
			if got != nil {
				t.Errorf("ParseDatabase(%q) = %+v, want nil (off)", tt.value, got)
			}
			continue
		}
		if got == nil || got.Name != tt.name || got.Key != tt.key {
			t.Errorf("ParseDatabase(%q) = %+v, want name %q key %q", tt.value, got, tt.name, tt.key)
			continue
		}
		if u := ""; got.URL != nil {
			u = got.URL.String()
			if u != tt.url {
				t.Errorf("ParseDatabase(%q).URL = %q, want %q", tt.value, u, tt.url)
			}
		} else if tt.url != "" {
			t.Errorf("ParseDatabase(%q).URL = nil, want %q", tt.value, tt.url)
		}
		if bare := !strings.Contains(strings.Fields(tt.value)[0], "+"); asked != bare {
			t.Errorf("ParseDatabase(%q) asked for a known key: %v, want %v", tt.value, asked, bare)
		}
	}
	// The known-keys function may be nil when a key is given.
	if got, err := checksum.ParseDatabase(key, nil); err != nil || got.Name != "sumdb.test" {
		t.Errorf("ParseDatabase(key, nil) = %+v, %v", got, err)
	}
}

// source is a checksum.Source reading a database over HTTP, below base
// (a mirror's /sumdb/<name>), that can be made to fail.
type source struct {
	name string
	base string
	down atomic.Bool
	// hook, if set, runs before each read and may fail it.
	hook  func(path string) error
	reads atomic.Int64
}

func newSource(name string, m *mirrortest.Mirror, db *mirrortest.SumDB) *source {
	return &source{name: name, base: m.URL() + "/sumdb/" + db.Name}
}

func (s *source) Name() string { return s.name }

func (s *source) ReadRemote(ctx context.Context, path string) ([]byte, error) {
	s.reads.Add(1)
	if s.down.Load() {
		return nil, fmt.Errorf("%s%s: source is down", s.name, path)
	}
	if s.hook != nil {
		if err := s.hook(path); err != nil {
			return nil, err
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.base+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	switch {
	case err != nil:
		return nil, err
	case resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone:
		return nil, fmt.Errorf("%s%s: %s: %w", s.name, path, resp.Status, fs.ErrNotExist)
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("%s%s: %s", s.name, path, resp.Status)
	}
	return data, nil
}

// badReports records Config.BadContent calls.
type badReports struct {
	mu      sync.Mutex
	sources []string
	errs    []error
}

func (b *badReports) report(source string, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sources = append(b.sources, source)
	b.errs = append(b.errs, err)
}

func (b *badReports) list() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.sources...)
}

// sourceList is a switchable list of sources.
type sourceList struct {
	mu   sync.Mutex
	list []checksum.Source
}

func (l *sourceList) set(srcs ...checksum.Source) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.list = srcs
}

func (l *sourceList) get() []checksum.Source {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]checksum.Source(nil), l.list...)
}

// env is a verifier over a store, with its sources and reports.
type env struct {
	v       *checksum.Verifier
	store   *memStore
	sources *sourceList
	bad     *badReports
}

// memStore is a checksum.Store in memory; a verifier made anew over the
// same memStore is a restart.
type memStore struct {
	mu       sync.Mutex
	values   map[string][]byte
	verified map[string][]byte
}

func openStore(*testing.T) *memStore {
	return &memStore{values: map[string][]byte{}, verified: map[string][]byte{}}
}

func (m *memStore) ReadValue(name string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return bytes.Clone(m.values[name]), nil
}

func (m *memStore) SwapValue(name string, old, new []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !bytes.Equal(m.values[name], old) {
		return fmt.Errorf("%s: %w", name, checksum.ErrConflict)
	}
	m.values[name] = bytes.Clone(new)
	return nil
}

func (m *memStore) ReadVerified(key string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.verified[key]
	if !ok {
		return nil, fmt.Errorf("%s: %w", key, checksum.ErrNotFound)
	}
	return bytes.Clone(b), nil
}

func (m *memStore) PutVerified(key string, data []byte, _ string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.verified[key] = bytes.Clone(data)
	return nil
}

func newEnv(t *testing.T, db *mirrortest.SumDB, store *memStore, srcs ...checksum.Source) *env {
	t.Helper()
	d, err := checksum.ParseDatabase(db.VerifierKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{store: store, sources: &sourceList{}, bad: &badReports{}}
	e.sources.set(srcs...)
	e.v = checksum.New(checksum.Config{DB: *d, Store: store, Sources: e.sources.get, BadContent: e.bad.report,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	return e
}

// writeZip writes data to a temporary file and returns its path.
func writeZip(t *testing.T, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "m.zip")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// hashOf returns the hash at the end of a go.sum line.
func hashOf(line string) string { return line[strings.LastIndex(line, " ")+1:] }

// setup returns the fixtures, a database knowing them (every record looked
// up, so its tree is complete) and a mirror serving it.
func setup(t *testing.T) ([]*mirrortest.Module, *mirrortest.SumDB, *mirrortest.Mirror) {
	t.Helper()
	mods := mirrortest.TestdataModules(t)
	db, err := mirrortest.NewSumDB("sumdb.test", mods)
	if err != nil {
		t.Fatal(err)
	}
	m := mirrortest.NewMirror(db)
	t.Cleanup(m.Close)
	if err := mirrortest.PrimeLookups(m.URL(), db, mods); err != nil {
		t.Fatal(err)
	}
	return mods, db, m
}

func TestVerifyModAndZip(t *testing.T) {
	ctx := context.Background()
	mods, db, m := setup(t)
	e := newEnv(t, db, openStore(t), newSource("good", m, db))
	for _, mod := range mods {
		zipLine, modLine := db.GoSumLines(mod)
		if err := e.v.VerifyMod(ctx, mod.Path, mod.Version, bytes.NewReader(mod.Mod)); err != nil {
			t.Errorf("VerifyMod(%s) of the right go.mod: %v", mod, err)
		}
		if err := e.v.VerifyZip(ctx, mod.Path, mod.Version, writeZip(t, mod.Zip)); err != nil {
			t.Errorf("VerifyZip(%s) of the right zip: %v", mod, err)
		}

		bad, err := mirrortest.Tampered(mod)
		if err != nil {
			t.Fatal(err)
		}
		badZipLine, badModLine, err := mirrortest.SumLines(bad)
		if err != nil {
			t.Fatal(err)
		}
		var ce *checksum.ContentError
		err = e.v.VerifyMod(ctx, mod.Path, mod.Version, bytes.NewReader(bad.Mod))
		if !errors.As(err, &ce) || ce.File != "go.mod" || ce.Module != mod.Path || ce.Version != mod.Version ||
			ce.Got != hashOf(badModLine) || ce.Want != hashOf(modLine) || ce.Err != nil {
			t.Errorf("VerifyMod(%s) of a tampered go.mod = %#v (%v); want a ContentError with got %s, want %s", mod, ce, err, hashOf(badModLine), hashOf(modLine))
		} else if !strings.Contains(err.Error(), ce.Got) || !strings.Contains(err.Error(), ce.Want) {
			t.Errorf("ContentError %q does not name both hashes", err)
		}
		ce = nil
		err = e.v.VerifyZip(ctx, mod.Path, mod.Version, writeZip(t, bad.Zip))
		if !errors.As(err, &ce) || ce.File != "zip" || ce.Got != hashOf(badZipLine) || ce.Want != hashOf(zipLine) || ce.Err != nil {
			t.Errorf("VerifyZip(%s) of a tampered zip = %#v (%v); want a ContentError with got %s, want %s", mod, ce, err, hashOf(badZipLine), hashOf(zipLine))
		}
		if errors.Is(err, checksum.ErrUnavailable) || errors.Is(err, checksum.ErrNotInDatabase) {
			t.Errorf("bad content reported as a database problem: %v", err)
		}
	}

	// A malformed zip: a ContentError saying why, without hashes.
	lib := mirrortest.Lookup(mods, "example.com/lib", "v1.1.0")
	for name, data := range map[string][]byte{
		"truncated": lib.Zip[:len(lib.Zip)/2],
		"empty":     {},
		"not a zip": []byte("module example.com/lib\n"),
	} {
		var ce *checksum.ContentError
		err := e.v.VerifyZip(ctx, lib.Path, lib.Version, writeZip(t, data))
		if !errors.As(err, &ce) || ce.Err == nil || ce.File != "zip" {
			t.Errorf("VerifyZip of a %s zip = %v; want a ContentError with the cause", name, err)
		}
	}
	// A zip of another module: malformed for this one.
	util := mirrortest.Lookup(mods, "example.com/util", "v1.0.0")
	var ce *checksum.ContentError
	if err := e.v.VerifyZip(ctx, lib.Path, lib.Version, writeZip(t, util.Zip)); !errors.As(err, &ce) {
		t.Errorf("VerifyZip of another module's zip = %v, want a ContentError", err)
	}
	if bad := e.bad.list(); len(bad) != 0 {
		t.Errorf("a healthy source was reported serving bad content: %q", bad)
	}
}

func TestNotInDatabase(t *testing.T) {
	ctx := context.Background()
	_, db, m := setup(t)
	e := newEnv(t, db, openStore(t), newSource("good", m, db))
	stranger, err := mirrortest.NewModule("example.com/stranger", "v1.0.0", map[string][]byte{"go.mod": []byte("module example.com/stranger\n")})
	if err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"VerifyMod": e.v.VerifyMod(ctx, stranger.Path, stranger.Version, bytes.NewReader(stranger.Mod)),
		"VerifyZip": e.v.VerifyZip(ctx, stranger.Path, stranger.Version, writeZip(t, stranger.Zip)),
	} {
		var ce *checksum.ContentError
		if !errors.Is(err, checksum.ErrNotInDatabase) || errors.As(err, &ce) || errors.Is(err, checksum.ErrUnavailable) {
			t.Errorf("%s of a module the database does not know = %v, want ErrNotInDatabase", name, err)
		}
	}
	if bad := e.bad.list(); len(bad) != 0 {
		t.Errorf("a source answering 404 was reported serving bad content: %q", bad)
	}
}

func TestUnavailable(t *testing.T) {
	ctx := context.Background()
	mods, db, m := setup(t)
	a, b := newSource("a", m, db), newSource("b", m, db)
	a.down.Store(true)
	b.down.Store(true)
	e := newEnv(t, db, openStore(t), a, b)
	lib := mirrortest.Lookup(mods, "example.com/lib", "v1.1.0")
	err := e.v.VerifyMod(ctx, lib.Path, lib.Version, bytes.NewReader(lib.Mod))
	if !errors.Is(err, checksum.ErrUnavailable) || errors.Is(err, checksum.ErrNotInDatabase) {
		t.Errorf("VerifyMod with every source down = %v, want ErrUnavailable", err)
	}
	var ce *checksum.ContentError
	if errors.As(err, &ce) {
		t.Errorf("an unreachable database gave a ContentError: %v", err)
	}
	if err != nil && (!strings.Contains(err.Error(), "a:") || !strings.Contains(err.Error(), "b:")) {
		t.Errorf("error %q does not name each source", err)
	}
	if a.reads.Load() == 0 || b.reads.Load() == 0 {
		t.Errorf("sources read %d and %d times, want both tried", a.reads.Load(), b.reads.Load())
	}
	if err := e.v.VerifyZip(ctx, lib.Path, lib.Version, writeZip(t, lib.Zip)); !errors.Is(err, checksum.ErrUnavailable) {
		t.Errorf("VerifyZip with every source down = %v, want ErrUnavailable", err)
	}
	if bad := e.bad.list(); len(bad) != 0 {
		t.Errorf("sources that are down were reported serving bad content: %q", bad)
	}

	// No source at all.
	e.sources.set()
	if err := e.v.VerifyMod(ctx, lib.Path, lib.Version, bytes.NewReader(lib.Mod)); !errors.Is(err, checksum.ErrUnavailable) {
		t.Errorf("VerifyMod with no source = %v, want ErrUnavailable", err)
	}

	// Back up: verification works again, with the same verifier.
	a.down.Store(false)
	e.sources.set(a, b)
	if err := e.v.VerifyMod(ctx, lib.Path, lib.Version, bytes.NewReader(lib.Mod)); err != nil {
		t.Errorf("VerifyMod once a source is back: %v", err)
	}
}

// TestForkReportedAndNextSourceUsed: once the verifier holds the real tree,
// a source serving a fork signed with the same key is reported as serving
// bad content and the next source is used; the tree the verifier trusts
// does not move.
func TestForkReportedAndNextSourceUsed(t *testing.T) {
	ctx := context.Background()
	mods, db, m := setup(t)
	lib := mirrortest.Lookup(mods, "example.com/lib", "v1.1.0")
	util := mirrortest.Lookup(mods, "example.com/util", "v1.0.0")
	badLib, err := mirrortest.Tampered(lib)
	if err != nil {
		t.Fatal(err)
	}
	fork := db.Fork(badLib)
	fm := mirrortest.NewMirror(fork)
	t.Cleanup(fm.Close)
	good, forked := newSource("good", m, db), newSource("fork", fm, fork)

	store := openStore(t)
	e := newEnv(t, db, store, good)
	if err := e.v.VerifyMod(ctx, util.Path, util.Version, bytes.NewReader(util.Mod)); err != nil {
		t.Fatalf("VerifyMod(util) through the real database: %v", err)
	}
	// The verifier's stored tree head: its store value for the
	// database's "latest" configuration file.
	const latestName = "sumdb-config/sumdb.test/latest"
	head, err := store.ReadValue(latestName)
	if err != nil || len(head) == 0 {
		t.Fatalf("no verified tree head stored under %q: %q, %v", latestName, head, err)
	}

	// The fork alone: nothing verifies, and it is reported.
	e.sources.set(forked)
	err = e.v.VerifyMod(ctx, lib.Path, lib.Version, bytes.NewReader(badLib.Mod))
	if err == nil {
		t.Fatal("the tampered go.mod verified against the fork")
	}
	if !errors.Is(err, checksum.ErrUnavailable) {
		t.Errorf("VerifyMod through the fork alone = %v, want ErrUnavailable", err)
	}
	if got := e.bad.list(); len(got) != 1 || got[0] != "fork" {
		t.Errorf("bad content reports = %q, want one for the fork", got)
	}

	// The fork first, then the real database: the real one decides.
	e.sources.set(forked, good)
	if err := e.v.VerifyMod(ctx, lib.Path, lib.Version, bytes.NewReader(lib.Mod)); err != nil {
		t.Errorf("VerifyMod(lib) with the fork first: %v", err)
	}
	var ce *checksum.ContentError
	if err := e.v.VerifyZip(ctx, lib.Path, lib.Version, writeZip(t, badLib.Zip)); !errors.As(err, &ce) {
		t.Errorf("VerifyZip of the fork's zip = %v, want a ContentError", err)
	}
	for _, s := range e.bad.list() {
		if s != "fork" {
			t.Errorf("%q reported serving bad content", s)
		}
	}
	if n := len(e.bad.list()); n < 2 {
		t.Errorf("the fork was reported %d times, want at least twice (alone, then first)", n)
	}
	if after, err := store.ReadValue(latestName); err != nil || !bytes.Equal(after, head) {
		t.Errorf("the verified tree head changed:\nbefore %q\nafter  %q (%v)", head, after, err)
	}

	// A fresh verifier on the same store (a restart) holds the same tree
	// and detects the fork as well.
	e2 := newEnv(t, db, store, forked, good)
	if err := e2.v.VerifyMod(ctx, mirrortest.Lookup(mods, "example.com/app", "v1.0.0").Path, "v1.0.0", bytes.NewReader(mirrortest.Lookup(mods, "example.com/app", "v1.0.0").Mod)); err != nil {
		t.Errorf("VerifyMod(app) after a restart, fork first: %v", err)
	}
	if got := e2.bad.list(); len(got) == 0 || got[0] != "fork" {
		t.Errorf("after a restart, bad content reports = %q, want the fork", got)
	}
}

// TestOfflineFromStore: once a module version was looked up, it verifies
// with every source failing, also in a new verifier on the same store.
func TestOfflineFromStore(t *testing.T) {
	ctx := context.Background()
	mods, db, m := setup(t)
	src := newSource("good", m, db)
	store := openStore(t)
	e := newEnv(t, db, store, src)
	seen := []*mirrortest.Module{
		mirrortest.Lookup(mods, "example.com/lib", "v1.1.0"),
		mirrortest.Lookup(mods, "example.com/Upper/Case", "v1.0.0"),
		mirrortest.Lookup(mods, "example.com/old", "v3.0.0+incompatible"),
	}
	for _, mod := range seen {
		if err := e.v.VerifyMod(ctx, mod.Path, mod.Version, bytes.NewReader(mod.Mod)); err != nil {
			t.Fatalf("VerifyMod(%s) online: %v", mod, err)
		}
	}
	src.down.Store(true)
	dead := newSource("dead", m, db)
	dead.down.Store(true)
	fresh := newEnv(t, db, store, dead)
	for name, v := range map[string]*checksum.Verifier{"same verifier": e.v, "new verifier": fresh.v} {
		for _, mod := range seen {
			if err := v.VerifyMod(ctx, mod.Path, mod.Version, bytes.NewReader(mod.Mod)); err != nil {
				t.Errorf("%s: VerifyMod(%s) offline: %v", name, mod, err)
			}
			if err := v.VerifyZip(ctx, mod.Path, mod.Version, writeZip(t, mod.Zip)); err != nil {
				t.Errorf("%s: VerifyZip(%s) offline: %v", name, mod, err)
			}
			bad, err := mirrortest.Tampered(mod)
			if err != nil {
				t.Fatal(err)
			}
			var ce *checksum.ContentError
			if err := v.VerifyZip(ctx, mod.Path, mod.Version, writeZip(t, bad.Zip)); !errors.As(err, &ce) {
				t.Errorf("%s: VerifyZip(%s) of a tampered zip offline = %v, want a ContentError", name, mod, err)
			}
		}
		// Never looked up: cannot be verified offline.
		util := mirrortest.Lookup(mods, "example.com/util", "v1.0.0")
		if err := v.VerifyMod(ctx, util.Path, util.Version, bytes.NewReader(util.Mod)); !errors.Is(err, checksum.ErrUnavailable) {
			t.Errorf("%s: VerifyMod of a module never looked up, offline = %v, want ErrUnavailable", name, err)
		}
	}
	if got := append(e.bad.list(), fresh.bad.list()...); len(got) != 0 {
		t.Errorf("offline sources reported serving bad content: %q", got)
	}
}

// TestReadFailureSharedByConcurrentLookupsIsNotBadContent: two lookups of
// one module version at once (as the handler's prefetch and its
// verification do) share one read of the database. When a read fails, the
// lookup that waited for the other's result must not take the failure for
// bad content: the source failed, it did not lie.
//
// A database of more than 256 records makes a lookup read several tiles
// at once (here the level-1 tile and a level-0 one); the source fails one
// at once and holds the other, so that the first lookup's failed read is
// counted before the second lookup starts, and both end together.
func TestReadFailureSharedByConcurrentLookupsIsNotBadContent(t *testing.T) {
	var mods []*mirrortest.Module
	for i := range 300 {
		m, err := mirrortest.NewModule(fmt.Sprintf("example.com/m%03d", i), "v1.0.0", map[string][]byte{
			"go.mod": fmt.Appendf(nil, "module example.com/m%03d\n", i),
		})
		if err != nil {
			t.Fatal(err)
		}
		mods = append(mods, m)
	}
	db, err := mirrortest.NewSumDB("sumdb.test", mods)
	if err != nil {
		t.Fatal(err)
	}
	mirror := mirrortest.NewMirror(db)
	t.Cleanup(mirror.Close)
	if err := mirrortest.PrimeLookups(mirror.URL(), db, mods); err != nil {
		t.Fatal(err)
	}
	target := mods[len(mods)-1]

	src := newSource("flaky", mirror, db)
	var (
		failed  = make(chan struct{}) // the failing tile read has returned
		held    = make(chan struct{}) // another tile read is being held
		release = make(chan struct{})
		once    sync.Once
		holdOne sync.Once
	)
	src.hook = func(path string) error {
		if !strings.HasPrefix(path, "/tile/") {
			return nil
		}
		if strings.HasPrefix(path, "/tile/8/1/") { // the level-1 tile, partial or full
			if path == "/tile/8/1/000" { // read after the partial one failed
				defer once.Do(func() { close(failed) })
			}
			return errors.New("503 Service Unavailable (injected)")
		}
		hold := false
		holdOne.Do(func() { hold = true })
		if hold {
			close(held)
			<-release
		}
		return nil
	}
	e := newEnv(t, db, openStore(t), src)
	ctx := context.Background()

	errs := make(chan error, 2)
	go func() { errs <- e.v.VerifyMod(ctx, target.Path, target.Version, bytes.NewReader(target.Mod)) }()
	for _, ch := range []chan struct{}{failed, held} {
		select {
		case <-ch:
		case <-time.After(10 * time.Second):
			close(release)
			t.Fatal("the first lookup did not read the tiles as expected")
		}
	}
	time.Sleep(50 * time.Millisecond) // the failed read is counted
	zipFile := writeZip(t, target.Zip)
	go func() { errs <- e.v.VerifyZip(ctx, target.Path, target.Version, zipFile) }()
	time.Sleep(100 * time.Millisecond) // the second lookup waits for the first's result
	close(release)
	for range 2 {
		if err := <-errs; !errors.Is(err, checksum.ErrUnavailable) {
			t.Errorf("verification while a tile read fails = %v, want ErrUnavailable", err)
		}
	}
	if got := e.bad.list(); len(got) != 0 {
		t.Errorf("a failed read was reported as bad content from %q: %v", got, e.bad.errs)
	}
}

// swapSource answers one lookup with the record of another: genuine,
// signed, in the database, and not the one asked for.
type swapSource struct {
	*source
	asked, served string
}

func (s *swapSource) ReadRemote(ctx context.Context, path string) ([]byte, error) {
	if path == s.asked {
		path = s.served
	}
	return s.source.ReadRemote(ctx, path)
}

// TestAnotherModulesRecordIsBadContent: a source that answers a lookup
// with another module's genuine record serves bad content: reported, and
// the next source decides. Without the check, the record would verify
// (it is in the database), be stored as the lookup's, and the module
// would be "not in the checksum database".
func TestAnotherModulesRecordIsBadContent(t *testing.T) {
	ctx := context.Background()
	mods, db, m := setup(t)
	lib := mirrortest.Lookup(mods, "example.com/lib", "v1.1.0")
	swapper := &swapSource{source: newSource("swapper", m, db),
		asked: "/lookup/example.com/lib@v1.1.0", served: "/lookup/example.com/util@v1.0.0"}
	e := newEnv(t, db, openStore(t), swapper, newSource("good", m, db))
	if err := e.v.VerifyMod(ctx, lib.Path, lib.Version, bytes.NewReader(lib.Mod)); err != nil {
		t.Fatalf("VerifyMod(lib) with the swapper first: %v", err)
	}
	if got := e.bad.list(); len(got) != 1 || got[0] != "swapper" {
		t.Errorf("bad content reports = %q, want one for the swapper", got)
	}
	lines, err := e.v.Lookup(ctx, lib.Path, lib.Version)
	if err != nil || len(lines) == 0 || !strings.HasPrefix(lines[0], lib.Path+" ") {
		t.Errorf("the stored lookup of lib: %q, %v", lines, err)
	}
}
