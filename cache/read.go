package cache

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Open returns the entry for key with its body, or ErrNotFound. A record
// whose blob file is missing or has the wrong size, or that cannot be
// decoded, is logged and reported as ErrNotFound: a partial body is never
// returned. A blob file not yet hashed since the store was opened is
// hashed before it is returned; one that does not hash to its name is
// removed, its records dropped, and reported as ErrNotFound. Small inline
// records are kept in memory once read, until their key is written again
// (hot.go). The caller must Close the Object.
func (s *Store) Open(key string) (*Object, error) {
	if r := s.hot.get(key); r != nil {
		s.noteUse(key)
		return &Object{Entry: r.Entry, Body: bytes.NewReader(r.body)}, nil
	}
	gen := s.hot.gen.Load()
	var val []byte
	err := s.dbView(func(txn *badger.Txn) error {
		item, err := txn.Get(dbKey(key))
		if err != nil {
			return err
		}
		val, err = item.ValueCopy(nil)
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("cache: reading record %q: %w", key, short(err))
	}
	r, err := decodeRecord(val)
	if err != nil {
		s.log.Warn("cache: undecodable record", "key", key, "err", err)
		return nil, ErrNotFound
	}
	r.Key = key
	s.noteUse(key)
	if r.inline {
		s.hot.keep(key, &r, gen)
		return &Object{Entry: r.Entry, Body: bytes.NewReader(r.body)}, nil
	}
	return s.openBlob(r.Entry)
}

// OpenEntry returns e, an entry CommitBlob returned, with its body: the
// blob file is opened by its digest, with the checks Open makes, without
// reading the record again. The bytes are the entry's whatever has
// happened to its key since (a blob file never changes). A body gone since
// (evicted) is ErrNotFound. The caller must Close the Object.
func (s *Store) OpenEntry(e Entry) (*Object, error) {
	s.noteUse(e.Key)
	return s.openBlob(e)
}

// openBlob opens the blob file of e, checking its size, and hashing it
// first if its digest has not been checked since the store was opened.
func (s *Store) openBlob(e Entry) (*Object, error) {
	key := e.Key
	p := s.blobPath(e.SHA256)
	// Asked before the file is opened: once a digest is checked, only
	// honest files are put at its path (integrity.go).
	unchecked := s.isUnchecked(e.SHA256)
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		s.log.Warn("cache: blob file missing", "key", key, "path", p)
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("cache: opening blob of %q: %w", key, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("cache: stat of blob of %q: %w", key, err)
	}
	if !st.Mode().IsRegular() || st.Size() != e.Size {
		f.Close()
		s.log.Warn("cache: blob file has the wrong size", "key", key, "path", p, "size", st.Size(), "want", e.Size)
		return nil, ErrNotFound
	}
	if unchecked {
		if err := s.verifyOnRead(key, f, st, e.SHA256); err != nil {
			f.Close()
			if errors.Is(err, errCorruptBlob) {
				return nil, ErrNotFound
			}
			return nil, err
		}
	}
	return &Object{Entry: e, Body: f}, nil
}

// noteUse notes, while MaxBytes is set, that key was opened now, for
// eviction.
func (s *Store) noteUse(key string) {
	if s.maxBytes > 0 {
		s.used.Store(key, time.Now().UnixNano())
	}
}

// Lookup returns key's record without opening its body, or ErrNotFound.
func (s *Store) Lookup(key string) (Entry, error) {
	var (
		e      Entry
		decErr error
	)
	err := s.dbView(func(txn *badger.Txn) error {
		item, err := txn.Get(dbKey(key))
		if err != nil {
			return err
		}
		// decodeRecord copies out everything Entry keeps (the upstream
		// string, the digest), so decoding in place is safe.
		return item.Value(func(v []byte) error {
			var r record
			r, decErr = decodeRecord(v)
			e = r.Entry
			return nil
		})
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return Entry{}, ErrNotFound
	}
	if err != nil {
		return Entry{}, fmt.Errorf("cache: reading record %q: %w", key, short(err))
	}
	if decErr != nil {
		s.log.Warn("cache: undecodable record", "key", key, "err", decErr)
		return Entry{}, ErrNotFound
	}
	e.Key = key
	return e, nil
}
