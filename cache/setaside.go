package cache

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// setAsidePrefix starts the name, in the cache directory, of a damaged
// metadata store that Open moved aside: meta.damaged-<UTC time>. It is
// kept for inspection; nothing removes it.
const setAsidePrefix = "meta.damaged-"

// errUnreadableValue says that Badger could not read a record's value.
var errUnreadableValue = errors.New("value unreadable (Badger logged why)")

// damageError says that the metadata store is damaged: Open sets it aside.
type damageError struct{ err error }

func (e *damageError) Error() string { return "metadata store is damaged: " + e.err.Error() }
func (e *damageError) Unwrap() error { return e.err }

// openMeta opens Badger in s.metaDir with opts, sets s.db, and counts the
// records, returning the digests of the blobs they refer to. If the store
// is damaged (its tables fail their checks, Badger fails or panics while
// opening it, or the walk over the records fails or panics) it is moved
// aside to meta.damaged-<time> in the cache directory, logged at ERROR,
// and a fresh store is opened in its place; the blob files no record
// refers to are then swept as after any start. A store another process
// holds is never set aside: the error wraps ErrLocked. Errors of the
// environment (permissions, a full disk, too many open files) are
// returned as they are.
func (s *Store) openMeta(opts badger.Options) (map[[32]byte]struct{}, error) {
	referenced, err := s.tryOpenMeta(opts)
	var dmg *damageError
	if !errors.As(err, &dmg) {
		return referenced, err
	}
	aside, serr := s.setAsideMeta(opts.ReadOnly)
	if serr != nil {
		return nil, fmt.Errorf("cache: %w; setting it aside failed: %w", err, serr)
	}
	s.maint.setAside = aside
	s.log.Error("cache: the metadata store is damaged; set it aside and started a fresh one (cached answers are fetched again)",
		"reason", dmg.err.Error(), "damaged_store", aside)
	referenced, err = s.tryOpenMeta(opts)
	if err != nil {
		return nil, fmt.Errorf("cache: opening a fresh metadata store in %s after setting the damaged one aside: %w", s.metaDir, err)
	}
	return referenced, nil
}

// tryOpenMeta is one attempt of openMeta; a damaged store is a
// *damageError.
func (s *Store) tryOpenMeta(opts badger.Options) (map[[32]byte]struct{}, error) {
	if err := os.MkdirAll(s.metaDir, 0o755); err != nil {
		return nil, fmt.Errorf("cache: creating directory %s: %w", s.metaDir, err)
	}
	unlock, err := lockDir(s.metaDir, opts.ReadOnly)
	if err != nil {
		return nil, err
	}
	err = checkTables(s.metaDir, opts)
	unlock()
	if err != nil {
		return nil, &damageError{err}
	}
	db, err := openBadger(opts)
	if err != nil {
		if strings.Contains(err.Error(), "Cannot acquire directory lock") {
			return nil, fmt.Errorf("cache: opening %s: %w: %w", s.metaDir, ErrLocked, short(err))
		}
		if environmental(err) {
			return nil, fmt.Errorf("cache: opening metadata store in %s: %w", s.metaDir, short(err))
		}
		return nil, &damageError{fmt.Errorf("opening it in %s: %w", s.metaDir, short(err))}
	}
	s.db = db
	referenced, err := s.countRecords()
	if err != nil {
		closeBadger(db)
		s.db = nil
		if environmental(err) {
			return nil, err
		}
		var dmg *damageError
		if !errors.As(err, &dmg) {
			err = &damageError{err}
		}
		return nil, err
	}
	return referenced, nil
}

// openBadger is badger.Open with a panic turned into an error.
func openBadger(opts badger.Options) (db *badger.DB, err error) {
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, fmt.Errorf("panic: %s", panicText(r))
		}
	}()
	return badger.Open(opts)
}

// closeBadger closes a store being given up, ignoring errors and panics.
func closeBadger(db *badger.DB) {
	defer func() { _ = recover() }()
	_ = db.Close()
}

// eachRecordAtOpen is eachRecord for Open's walk: a value Badger cannot
// read, an iteration error or a panic inside Badger is damage, not a
// record to skip. Records that do not decode are still logged and skipped
// (they read as misses).
func (s *Store) eachRecordAtOpen(fn func(key string, r *record)) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &damageError{fmt.Errorf("panic reading records in %s: %s", s.metaDir, panicText(r))}
		}
	}()
	err = s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(recordPrefix)})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			key := string(item.Key()[len(recordPrefix):])
			var decErr error
			err := item.Value(func(v []byte) error {
				if len(v) == 0 {
					// No record is empty: Badger logs a value it cannot
					// read (a truncated value log) and yields nothing.
					return errUnreadableValue
				}
				r, err := decodeRecord(v)
				if err != nil {
					decErr = err
					return nil
				}
				fn(key, &r)
				return nil
			})
			if err != nil {
				return fmt.Errorf("reading record %q: %w", key, err)
			}
			if decErr != nil {
				s.log.Warn("cache: skipping undecodable record", "key", key, "err", decErr)
			}
		}
		return nil
	})
	if err != nil {
		err = fmt.Errorf("reading records in %s: %w", s.metaDir, short(err))
		if !environmental(err) {
			err = &damageError{err}
		}
	}
	return err
}

// setAsideMeta moves the metadata directory to a new meta.damaged-<time>
// beside it, in the cache directory (on the same file system, so the move
// is a rename, and writable wherever the cache is), holding the lock that
// keeps another process from opening it meanwhile.
func (s *Store) setAsideMeta(readOnly bool) (string, error) {
	unlock, err := lockDir(s.metaDir, readOnly)
	if err != nil {
		return "", err
	}
	defer unlock()
	base := filepath.Join(s.dir, setAsidePrefix+time.Now().UTC().Format("20060102T150405Z"))
	target := base
	for i := 2; ; i++ {
		if _, err := os.Lstat(target); errors.Is(err, os.ErrNotExist) {
			break
		}
		target = fmt.Sprintf("%s-%d", base, i)
	}
	if err := os.Rename(s.metaDir, target); err != nil {
		return "", fmt.Errorf("cache: moving the damaged metadata store %s to %s: %w", s.metaDir, target, err)
	}
	if err := syncDir(s.dir); err != nil {
		return "", err
	}
	return target, nil
}

// environmental reports whether err comes from the store's surroundings
// (permissions, a full disk, a read-only file system, too many open files,
// no memory) rather than from damage: such a store is not set aside.
func environmental(err error) bool {
	if errors.Is(err, fs.ErrPermission) {
		return true
	}
	msg := strings.ToLower(err.Error())
	for _, s := range []string{
		"no space left on device",
		"disk quota exceeded",
		"read-only file system",
		"too many open files",
		"cannot allocate memory",
		"permission denied",
		"operation not permitted",
	} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// panicText is a recovered panic's value as one bounded line (Badger's
// panics carry multi-line dumps).
func panicText(r any) string {
	return truncateText(strings.Join(strings.Fields(fmt.Sprint(r)), " "))
}
