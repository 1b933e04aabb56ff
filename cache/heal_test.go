package cache

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMissingDirectoriesAreRecreated: with blobs/ and tmp/ removed while
// the store is open, the next large answer is stored and served (NewBlob
// recreates tmp/, the commit recreates blobs/ and its subdirectory), and
// it is logged.
func TestMissingDirectoriesAreRecreated(t *testing.T) {
	dir := t.TempDir()
	s, logs := noScrub(t, dir)
	if err := s.PutBytes("before", Meta{Status: 200}, pattern(100<<10, 1)); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"blobs", "tmp"} {
		if err := os.RemoveAll(filepath.Join(dir, d)); err != nil {
			t.Fatal(err)
		}
	}
	body := pattern(300<<10, 2)
	if err := s.PutBytes("after", Meta{Status: 200}, body); err != nil {
		t.Fatalf("storing a large answer with blobs/ and tmp/ gone: %v", err)
	}
	if _, got := readObject(t, s, "after"); !bytes.Equal(got, body) {
		t.Error("wrong body")
	}
	if err := os.RemoveAll(filepath.Join(dir, "tmp")); err != nil {
		t.Fatal(err)
	}
	b, err := s.NewBlob()
	if err != nil {
		t.Fatalf("NewBlob with tmp/ gone: %v", err)
	}
	b.Write(body)
	if _, err := s.CommitBlob("again", Meta{Status: 200}, b); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "recreated a directory") {
		t.Errorf("recreating directories was not logged:\n%s", logs)
	}
	if err := s.Check(); err != nil {
		t.Errorf("Check: %v", err)
	}
}

// TestCheck: Check heals missing directories, and says why the store is
// not usable when it cannot: a directory that cannot be recreated, or a
// metadata directory removed under the open store.
func TestCheck(t *testing.T) {
	dir := t.TempDir()
	s, _ := noScrub(t, dir)
	if err := s.Check(); err != nil {
		t.Fatalf("Check of a new store: %v", err)
	}
	for _, d := range []string{"blobs", "tmp"} {
		os.RemoveAll(filepath.Join(dir, d))
	}
	if err := s.Check(); err != nil {
		t.Errorf("Check with blobs/ and tmp/ gone: %v", err)
	}
	for _, d := range []string{"blobs", "tmp"} {
		if fi, err := os.Stat(filepath.Join(dir, d)); err != nil || !fi.IsDir() {
			t.Errorf("Check did not recreate %s: %v", d, err)
		}
	}

	// A file where tmp/ should be cannot be healed.
	tmp := filepath.Join(dir, "tmp")
	os.RemoveAll(tmp)
	if err := os.WriteFile(tmp, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.Check(); err == nil || !strings.Contains(err.Error(), tmp) {
		t.Errorf("Check with a file in place of tmp/: %v, want an error naming it", err)
	}
	if _, err := s.NewBlob(); err == nil {
		t.Error("NewBlob with a file in place of tmp/ succeeded")
	}
	os.Remove(tmp)
	if err := s.Check(); err != nil {
		t.Errorf("Check once tmp/ can be recreated: %v", err)
	}

	// A metadata directory moved away under the store.
	meta, away := filepath.Join(dir, "meta"), filepath.Join(dir, "meta-away")
	if err := os.Rename(meta, away); err != nil {
		t.Fatal(err)
	}
	err := s.Check()
	if err := os.Rename(away, meta); err != nil {
		t.Fatal(err)
	}
	if err == nil || !strings.Contains(err.Error(), "reopened") {
		t.Errorf("Check with the metadata directory gone: %v", err)
	}
}
