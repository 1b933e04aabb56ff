package cache

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// openMarker is the file, in the cache directory, that says the store is
// open: Open writes it and a clean Close removes it, so finding it at Open
// means the previous run ended without closing the store (a crash, a
// kill, a power cut).
const openMarker = "open"

// markOpen writes the open marker and reports whether it was already there.
// It runs holding the metadata store's lock. A marker that cannot be
// written is logged: the next start after a crash then looks clean.
func (s *Store) markOpen() (unclean bool) {
	p := filepath.Join(s.dir, openMarker)
	_, err := os.Lstat(p)
	unclean = err == nil
	text := fmt.Sprintf("gofailover cache opened by process %d at %s; removed when it closes the store\n",
		os.Getpid(), time.Now().UTC().Format(time.RFC3339))
	if err := writeSynced(p, []byte(text)); err != nil {
		s.log.Warn("cache: cannot write the open marker; a crash will not be noticed at the next start", "err", err)
	}
	return unclean
}

// markClosed removes the open marker: the store was closed cleanly.
func (s *Store) markClosed() {
	p := filepath.Join(s.dir, openMarker)
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.log.Warn("cache: cannot remove the open marker; the next start will take this run for a crash", "err", err)
		return
	}
	if err := syncDir(s.dir); err != nil {
		s.log.Warn("cache: removing the open marker", "err", err)
	}
}

// writeSynced writes data to the file at p, replacing it, and makes it
// durable (the file and its directory entry).
func writeSynced(p string, data []byte) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("cache: creating %s: %w", p, err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("cache: writing %s: %w", p, err)
	}
	return syncDir(filepath.Dir(p))
}
