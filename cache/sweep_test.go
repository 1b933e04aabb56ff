package cache

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestOpenRemovesUnusedBlobs: blob files of deleted and replaced records,
// and one a crash left without its record, are removed when the store is
// opened again; blobs still referred to, shared ones included, and files
// that are not blobs stay.
func TestOpenRemovesUnusedBlobs(t *testing.T) {
	dir := t.TempDir()
	s, _ := openTest(t, dir, 16)
	put := func(key, body string) string {
		t.Helper()
		b, err := s.NewBlob()
		if err != nil {
			t.Fatal(err)
		}
		defer b.Discard()
		b.Write([]byte(body))
		if _, err := s.CommitBlob(key, Meta{Status: 200}, b); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte(body))
		return s.blobPath(sum)
	}
	kept := put("kept", strings.Repeat("k", 100))
	shared := put("shared-1", strings.Repeat("s", 100))
	put("shared-2", strings.Repeat("s", 100))
	deleted := put("deleted", strings.Repeat("d", 100))
	replaced := put("replaced", strings.Repeat("r", 100))
	put("replaced", strings.Repeat("R", 100))
	if err := s.Delete("deleted"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete("shared-2"); err != nil {
		t.Fatal(err)
	}
	s.Close()

	// A crash between a blob's rename into place and its record's commit.
	orphanSum := sha256.Sum256([]byte("orphan"))
	orphan := filepath.Join(dir, "blobs", hex.EncodeToString(orphanSum[:1]), hex.EncodeToString(orphanSum[:]))
	os.MkdirAll(filepath.Dir(orphan), 0o755)
	os.WriteFile(orphan, []byte("orphan"), 0o644)
	stranger := filepath.Join(dir, "blobs", "README")
	os.WriteFile(stranger, []byte("not a blob"), 0o644)

	s, logs := openTest(t, dir, 16)
	for path, want := range map[string]bool{kept: true, shared: true, deleted: false, replaced: false, orphan: false, stranger: true} {
		if _, err := os.Stat(path); (err == nil) != want {
			t.Errorf("%s: exists %v, want %v", path, err == nil, want)
		}
	}
	for key, body := range map[string]string{"kept": strings.Repeat("k", 100), "shared-1": strings.Repeat("s", 100), "replaced": strings.Repeat("R", 100)} {
		if _, got := readObject(t, s, key); !bytes.Equal(got, []byte(body)) {
			t.Errorf("%s: body %q after the sweep", key, got)
		}
	}
	if !strings.Contains(logs.String(), "files=3") {
		t.Errorf("want a log line counting 3 removed files:\n%s", logs)
	}
}
