package cache

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/dgraph-io/badger/v4"
)

// errCorruptBlob says that a blob file does not hash to its name.
var errCorruptBlob = errors.New("cache: blob file does not hash to its name")

// errKeep is returned inside deleteIf's transaction when the record is to
// be kept.
var errKeep = errors.New("cache: record kept")

// blobCheck is a check on read of one blob file in progress; waiters read
// its result once done is closed.
type blobCheck struct {
	done chan struct{}
	// info identifies the file that was hashed.
	info os.FileInfo
	// got is its digest; err is a read error (the file was not judged).
	got [32]byte
	err error
}

// hashFile returns the SHA-256 of f's content, read with ReadAt so that
// f's offset stays where it was.
func hashFile(f *os.File, size int64) ([32]byte, error) {
	var sum [32]byte
	h := sha256.New()
	n, err := io.Copy(h, io.NewSectionReader(f, 0, size))
	if err != nil {
		return sum, fmt.Errorf("cache: hashing blob %s: %w", f.Name(), err)
	}
	if n != size {
		return sum, fmt.Errorf("cache: hashing blob %s: read %d bytes of %d", f.Name(), n, size)
	}
	h.Sum(sum[:0])
	return sum, nil
}

// verifyOnRead hashes the open blob file f (named after sum, of size
// bytes) before Store.Open returns it, for a blob that was unchecked when
// Open looked it up. It returns nil if f holds what its name says, an
// error wrapping errCorruptBlob if not (the file was then removed and its
// records dropped), or a read error. Concurrent first reads of one file
// share one hash.
func (s *Store) verifyOnRead(key string, f *os.File, info os.FileInfo, sum [32]byte) error {
	m := s.maint
	m.mu.Lock()
	if _, ok := m.unchecked[sum]; !ok {
		// Checked since Open looked: was it this very file?
		m.mu.Unlock()
		return s.verifyOwn(key, f, info, sum)
	}
	if c := m.inflight[sum]; c != nil {
		m.mu.Unlock()
		<-c.done
		if c.err != nil || !os.SameFile(c.info, info) {
			return s.verifyOwn(key, f, info, sum)
		}
		if c.got != sum {
			return fmt.Errorf("%w: %s (key %q)", errCorruptBlob, s.blobPath(sum), key)
		}
		return nil
	}
	c := &blobCheck{done: make(chan struct{}), info: info}
	m.inflight[sum] = c
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		delete(m.inflight, sum)
		m.mu.Unlock()
		close(c.done)
	}()
	c.got, c.err = hashFile(f, info.Size())
	return s.judge(key, info, sum, c.got, c.err, "read")
}

// verifyOwn hashes f without sharing the work.
func (s *Store) verifyOwn(key string, f *os.File, info os.FileInfo, sum [32]byte) error {
	got, err := hashFile(f, info.Size())
	return s.judge(key, info, sum, got, err, "read")
}

// judge acts on the hash of a blob file: a right one marks the digest
// checked, a wrong one condemns the file. found says who hashed it.
func (s *Store) judge(key string, info os.FileInfo, sum, got [32]byte, err error, found string) error {
	switch {
	case err != nil:
		return err
	case got == sum:
		s.markChecked(sum)
		return nil
	}
	s.condemn(sum, got, info, found)
	return fmt.Errorf("%w: %s (key %q)", errCorruptBlob, s.blobPath(sum), key)
}

// condemn deals with a blob file, identified by info, that hashed to got
// instead of sum: if it is still in place it is removed, every record that
// refers to sum dropped, and the finding counted and logged at ERROR, in
// that order (so that Stats shows it once it is dealt with). The next
// request for those keys fetches an honest copy. A file already gone was
// condemned by another check; one replaced meanwhile was replaced by a
// commit of the honest copy (which counted it): neither is counted again.
func (s *Store) condemn(sum, got [32]byte, info os.FileInfo, found string) {
	p := s.blobPath(sum)
	unlock := s.lockBlob(sum)
	cur, err := os.Lstat(p)
	if err != nil || !os.SameFile(cur, info) {
		s.markChecked(sum) // gone, or an honest copy in its place
		unlock()
		return
	}
	if err := os.Remove(p); err != nil {
		// It stays unchecked: every read hashes it again and refuses it.
		s.log.Error("cache: cannot remove a corrupt blob file", "file", p, "err", err)
	} else {
		s.markChecked(sum)
		if err := syncDir(filepath.Dir(p)); err != nil {
			s.log.Warn("cache: removing a corrupt blob file", "file", p, "err", err)
		}
	}
	unlock()
	if err := s.dropRecordsOf(sum, info); err != nil {
		s.log.Error("cache: dropping the records of a corrupt blob failed", "file", p, "err", err)
	}
	s.maint.corrupt.Add(1)
	s.log.Error("cache: blob file does not hash to its name; removed it and dropped its records",
		"file", p, "size", info.Size(), "sha256", hex.EncodeToString(got[:]), "found_by", found)
}

// dropRecordsOf deletes every record whose body is the blob with digest
// sum, unless a file other than the corrupt one (bad) is at its path: an
// honest copy committed meanwhile keeps them.
func (s *Store) dropRecordsOf(sum [32]byte, bad os.FileInfo) error {
	var keys []string
	err := s.eachRecord(func(key string, r *record) {
		if !r.inline && r.SHA256 == sum {
			keys = append(keys, key)
		}
	})
	if err != nil {
		return fmt.Errorf("cache: listing the records of blob %x: %w", sum, err)
	}
	p := s.blobPath(sum)
	var errs []error
	for _, key := range keys {
		_, err := s.deleteIf(key, func(r *record) bool {
			if r.inline || r.SHA256 != sum {
				return false
			}
			cur, err := os.Lstat(p)
			return err != nil || os.SameFile(cur, bad)
		})
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// deleteIf deletes key's record if it decodes and drop says so, in one
// transaction, and reports whether it did. An absent or undecodable
// record is left alone.
func (s *Store) deleteIf(key string, drop func(*record) bool) (bool, error) {
	k := dbKey(key)
	if err := s.admit(int64(len(k))); err != nil {
		return false, fmt.Errorf("cache: deleting record %q: %w", key, err)
	}
	old, err := s.update(k, func(txn *badger.Txn) error {
		item, err := txn.Get(k)
		if err != nil {
			if errors.Is(err, badger.ErrKeyNotFound) {
				return errKeep
			}
			return err
		}
		keep := true
		if err := item.Value(func(v []byte) error {
			if r, err := decodeRecord(v); err == nil {
				keep = !drop(&r)
			}
			return nil
		}); err != nil {
			return err
		}
		if keep {
			return errKeep
		}
		return txn.Delete(k)
	})
	switch {
	case errors.Is(err, errKeep):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("cache: deleting record %q: %w", key, short(err))
	}
	s.counts.remove(old)
	s.used.Delete(key)
	return true, nil
}

// holdsBlob reports whether the file at final (where the blob with digest
// sum lives) already holds exactly size bytes that hash to sum, so that a
// commit of that content may keep it. A file there that does not is
// counted and logged as corrupt: the commit replaces it. The caller holds
// lockBlob(sum).
func (s *Store) holdsBlob(final string, sum [32]byte, size int64) bool {
	f, err := os.Open(final)
	if err != nil {
		return false // absent (or unreadable: the rename replaces it)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return false
	}
	attrs := []any{"file", final, "size", st.Size(), "want_size", size, "found_by", "commit"}
	if st.Size() == size {
		got, err := hashFile(f, size)
		if err != nil {
			s.log.Warn("cache: cannot read a blob file that a commit would keep; replacing it", "file", final, "err", err)
			return false
		}
		if got == sum {
			s.markChecked(sum)
			return true
		}
		attrs = append(attrs, "sha256", hex.EncodeToString(got[:]))
	}
	s.maint.corrupt.Add(1)
	s.log.Error("cache: blob file does not hash to its name; replacing it with the copy being committed", attrs...)
	return false
}
