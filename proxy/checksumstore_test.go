package proxy

import (
	"errors"
	"net/http"
	"testing"

	"github.com/gofailover/gofailover/cache"
	"github.com/gofailover/gofailover/proxy/checksum"
)

// TestChecksumStore: the adapter gives the verifier only what was stored
// verified, and the verifier's errors for the cache's.
func TestChecksumStore(t *testing.T) {
	store, err := cache.Open(cache.Options{Reserve: 64 << 20, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	cs := checksumStore{s: store}
	const key = "/sumdb/sum.example/lookup/example.com/m@v1.0.0"
	if _, err := cs.ReadVerified(key); !errors.Is(err, checksum.ErrNotFound) {
		t.Errorf("ReadVerified of nothing = %v, want ErrNotFound", err)
	}
	if err := store.PutBytes(key, cache.Meta{Status: http.StatusOK, Immutable: true}, []byte("unverified")); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.ReadVerified(key); !errors.Is(err, checksum.ErrNotVerified) {
		t.Errorf("ReadVerified of a pass-through answer = %v, want ErrNotVerified", err)
	}
	if err := cs.PutVerified(key, []byte("record"), "https://mirror.example"); err != nil {
		t.Fatal(err)
	}
	if b, err := cs.ReadVerified(key); err != nil || string(b) != "record" {
		t.Errorf("ReadVerified = %q, %v", b, err)
	}
	if e, err := store.Lookup(key); err != nil || !e.Verified || !e.Immutable || e.Upstream != "https://mirror.example" {
		t.Errorf("stored entry %+v, %v", e, err)
	}

	if v, err := cs.ReadValue("sumdb-config/x"); v != nil || err != nil {
		t.Errorf("ReadValue of nothing = %q, %v", v, err)
	}
	if err := cs.SwapValue("sumdb-config/x", nil, []byte("a")); err != nil {
		t.Fatal(err)
	}
	if err := cs.SwapValue("sumdb-config/x", []byte("b"), []byte("c")); !errors.Is(err, checksum.ErrConflict) {
		t.Errorf("SwapValue from a stale value = %v, want ErrConflict", err)
	}
}
