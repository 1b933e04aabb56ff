package cache

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"os"
	"path/filepath"
)

// Blob is a body being streamed to a temporary file under the store's tmp
// directory. Get one from Store.NewBlob, Write the body, then either
// Store.CommitBlob it or Discard it; callers usually `defer b.Discard()`.
// A Blob is not safe for concurrent use.
type Blob struct {
	store *Store
	f     *os.File
	path  string
	hash  hash.Hash
	size  int64
	// err is the first write error; a Blob that failed a write cannot be committed.
	err error
	// closed reports that f has been closed.
	closed bool
	// gone reports that the temporary file no longer exists under path
	// (renamed into blobs/ or removed).
	gone bool
	// synced, once StartSync was called, delivers the fsync's result.
	synced chan error
}

// StartSync starts making the bytes written so far durable (fsync) in the
// background, so that it overlaps what the caller does before it commits,
// such as verifying the file: CommitBlob then waits for it rather than
// syncing. Call it once the whole body is written; nothing may be written
// after.
func (b *Blob) StartSync() {
	if b.synced != nil || b.closed || b.err != nil {
		return
	}
	b.synced = make(chan error, 1)
	go func() { b.synced <- b.f.Sync() }()
}

// waitSync waits for a sync StartSync started, if any.
func (b *Blob) waitSync() error {
	if b.synced == nil {
		return nil
	}
	err := <-b.synced
	b.synced <- err // for whoever waits next
	return err
}

// NewBlob creates a temporary file under the store's tmp directory for
// streaming a large body into the store. On a disk with less free space
// than the store's reserve, it (or a later Write) fails with an error
// wrapping ErrNoSpace.
func (s *Store) NewBlob() (*Blob, error) {
	if err := s.admit(0); err != nil {
		return nil, fmt.Errorf("cache: creating a temporary blob: %w", err)
	}
	f, err := s.createTemp("blob-*") // recreates a missing tmp directory
	if err != nil {
		return nil, err
	}
	return &Blob{store: s, f: f, path: f.Name(), hash: sha256.New()}, nil
}

// Write appends p to the blob's temporary file, hashing and counting it.
// It does not buffer: once Write returns, the bytes are in the file at Path.
func (b *Blob) Write(p []byte) (int, error) {
	if b.synced != nil {
		return 0, fmt.Errorf("cache: write to blob %s after StartSync", b.path)
	}
	if b.closed {
		return 0, fmt.Errorf("cache: write to closed blob %s", b.path)
	}
	if b.err != nil {
		return 0, b.err
	}
	if err := b.store.space.admitBlob(int64(len(p)), b.size); err != nil { // the free-space gate (space.go)
		b.err = fmt.Errorf("cache: writing blob %s: %w", b.path, err)
		return 0, b.err
	}
	n, err := b.f.Write(p)
	b.hash.Write(p[:n])
	b.size += int64(n)
	if err != nil {
		if noSpace(err) {
			err = b.store.space.full(err)
		}
		b.err = fmt.Errorf("cache: writing blob %s: %w", b.path, err)
		return n, b.err
	}
	return n, nil
}

// Path returns the temporary file's path. Its content is complete up to the
// last Write; other code may read (not write) it before CommitBlob.
func (b *Blob) Path() string { return b.path }

// Size returns the number of bytes written so far.
func (b *Blob) Size() int64 { return b.size }

// Discard closes and removes the temporary file. It returns nil, doing
// nothing, after a successful CommitBlob, and is safe to call more than once.
func (b *Blob) Discard() error {
	var errs []error
	b.waitSync() // the file is not closed under a running fsync
	if !b.closed {
		b.closed = true
		if err := b.f.Close(); err != nil {
			errs = append(errs, fmt.Errorf("cache: closing blob %s: %w", b.path, err))
		}
	}
	if !b.gone {
		b.gone = true
		if err := os.Remove(b.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("cache: removing blob %s: %w", b.path, err))
		}
	}
	return errors.Join(errs...)
}

// seal makes the blob's bytes durable and moves them to their
// content-addressed place under blobs/: fsync, close, rename (or drop the
// temporary file if a file with the same content, hashed to make sure, is
// already there; a file there that differs is replaced), fsync the
// directory. It returns the digest. On error the temporary file, if still
// present, is left for Discard.
func (b *Blob) seal() ([32]byte, error) {
	var sum [32]byte
	switch {
	case b.closed:
		return sum, fmt.Errorf("cache: commit of closed or discarded blob %s", b.path)
	case b.err != nil:
		return sum, fmt.Errorf("cache: commit of failed blob: %w", b.err)
	}
	syncErr := b.waitSync()
	if b.synced == nil {
		syncErr = b.f.Sync()
	}
	if syncErr != nil {
		return sum, fmt.Errorf("cache: syncing blob %s: %w", b.path, syncErr)
	}
	st, err := b.f.Stat()
	if err != nil {
		return sum, fmt.Errorf("cache: stat of blob %s: %w", b.path, err)
	}
	if st.Size() != b.size {
		return sum, fmt.Errorf("cache: blob %s is %d bytes on disk but %d were written", b.path, st.Size(), b.size)
	}
	b.closed = true
	if err := b.f.Close(); err != nil {
		return sum, fmt.Errorf("cache: closing blob %s: %w", b.path, err)
	}
	b.hash.Sum(sum[:0])

	s := b.store
	final := s.blobPath(sum)
	dir := filepath.Dir(final)
	if err := s.blobSubdir(dir); err != nil { // recreates a missing blobs directory
		return sum, err
	}
	unlock := s.lockBlob(sum)
	defer unlock()
	if s.holdsBlob(final, sum, b.size) {
		// The same content is already in place (hashed to make sure); keep it.
		b.gone = true
		if err := os.Remove(b.path); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.log.Warn("cache: removing duplicate temporary blob", "path", b.path, "err", err)
		}
	} else {
		// Absent, or corrupt: the rename puts the honest copy in its place.
		if err := os.Rename(b.path, final); err != nil {
			return sum, fmt.Errorf("cache: renaming blob %s to %s: %w", b.path, final, err)
		}
		b.gone = true
		s.markChecked(sum)
	}
	if err := syncDir(dir); err != nil {
		return sum, err
	}
	return sum, nil
}

// blobPath returns where the blob with the given digest lives.
func (s *Store) blobPath(sum [32]byte) string {
	h := hex.EncodeToString(sum[:])
	return filepath.Join(s.blobDir, h[:2], h)
}

// syncDir fsyncs a directory so that entries created or renamed in it survive a crash.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("cache: opening directory %s to sync: %w", dir, err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("cache: syncing directory %s: %w", dir, err)
	}
	return nil
}
