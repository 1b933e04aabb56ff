package cache

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/dgraph-io/badger/v4"
)

// checkProbeKey is the record key Check looks up to see that Badger answers.
const checkProbeKey = "\x00check-probe"

// createTemp creates a temporary file under the tmp directory, recreating
// the directory if it was removed while the store was open.
func (s *Store) createTemp(pattern string) (*os.File, error) {
	f, err := os.CreateTemp(s.tmpDir, pattern)
	if errors.Is(err, os.ErrNotExist) {
		if err := s.recreateDir(s.tmpDir); err != nil {
			return nil, err
		}
		f, err = os.CreateTemp(s.tmpDir, pattern)
	}
	if err != nil {
		return nil, fmt.Errorf("cache: creating temporary file in %s: %w", s.tmpDir, err)
	}
	return f, nil
}

// blobSubdir makes sure dir, a subdirectory of the blobs directory,
// exists, recreating the blobs directory if it was removed while the
// store was open. A directory it creates is made durable.
func (s *Store) blobSubdir(dir string) error {
	err := os.Mkdir(dir, 0o755)
	if errors.Is(err, os.ErrNotExist) {
		if err := s.recreateDir(s.blobDir); err != nil {
			return err
		}
		err = os.Mkdir(dir, 0o755)
	}
	switch {
	case err == nil:
		return syncDir(s.blobDir)
	case errors.Is(err, os.ErrExist):
		return nil
	}
	return fmt.Errorf("cache: creating blob directory %s: %w", dir, err)
}

// makeBlobSubdirs creates, once, the 256 subdirectories blob files go in
// (by the first byte of their digest), so that a commit does not pay for
// creating one and making it durable: on a young cache, most would. What
// cannot be made now (a full disk) is made by the commit that needs it
// (blobSubdir).
func (s *Store) makeBlobSubdirs() {
	entries, err := os.ReadDir(s.blobDir)
	if err != nil || len(entries) >= 256 {
		return
	}
	made := false
	for i := range 256 {
		err := os.Mkdir(filepath.Join(s.blobDir, fmt.Sprintf("%02x", i)), 0o755)
		if err == nil {
			made = true
		} else if !errors.Is(err, os.ErrExist) {
			break
		}
	}
	if made {
		if err := syncDir(s.blobDir); err != nil {
			s.log.Warn("cache: making the blob directories durable", "err", err)
		}
	}
}

// recreateDir creates dir (and the cache directory above it) after it
// was found missing, and logs it.
func (s *Store) recreateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("cache: recreating missing directory %s: %w", dir, err)
	}
	if err := syncDir(filepath.Dir(dir)); err != nil {
		return err
	}
	s.log.Warn("cache: recreated a directory removed while the store was open", "dir", dir)
	return nil
}

// Check reports whether the store is usable, for a readiness probe: nil,
// or an error saying why not. It recreates the blobs and tmp directories
// if they are missing, creates and removes a file in tmp (a full disk is
// not a failure: the store is then read-only, as Writable says), and reads
// from Badger. A metadata directory removed while the store is open cannot be
// healed: the store must be reopened.
func (s *Store) Check() error {
	if _, err := os.Stat(filepath.Join(s.metaDir, manifestName)); err != nil {
		return fmt.Errorf("cache: metadata store in %s is gone (%w); the store must be reopened", s.metaDir, err)
	}
	for _, d := range []string{s.blobDir, s.tmpDir} {
		st, err := os.Stat(d)
		switch {
		case errors.Is(err, os.ErrNotExist):
			if err := s.recreateDir(d); err != nil {
				return err
			}
		case err != nil:
			return fmt.Errorf("cache: directory %s: %w", d, err)
		case !st.IsDir():
			return fmt.Errorf("cache: %s is not a directory", d)
		}
	}
	// A full disk leaves the store usable, read-only (Writable says so).
	switch f, err := s.createTemp("check-*"); {
	case err == nil:
		name := f.Name()
		f.Close()
		if err := os.Remove(name); err != nil {
			return fmt.Errorf("cache: removing %s: %w", name, err)
		}
	case !noSpace(err):
		return err
	}
	err := s.dbView(func(txn *badger.Txn) error {
		_, err := txn.Get(dbKey(checkProbeKey))
		return err
	})
	if err != nil && !errors.Is(err, badger.ErrKeyNotFound) {
		return fmt.Errorf("cache: reading the metadata store in %s: %w", s.metaDir, short(err))
	}
	return nil
}
