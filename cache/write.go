package cache

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// maxCommitRetries bounds retries of a write that lost a race with a
// concurrent write of the same key.
const maxCommitRetries = 16

// PutBytes stores data as key's body. Bodies of at most Options.InlineMax
// bytes are kept inside Badger with the record; larger ones become blob
// files, as with CommitBlob. A zero m.StoredAt means now.
func (s *Store) PutBytes(key string, m Meta, data []byte) error {
	if int64(len(data)) > s.inlineMax {
		if err := checkKey(key); err != nil {
			return err
		}
		b, err := s.NewBlob()
		if err != nil {
			return err
		}
		defer b.Discard()
		if _, err := b.Write(data); err != nil {
			return err
		}
		_, err = s.CommitBlob(key, m, b)
		return err
	}
	r := record{
		Entry:  Entry{Meta: m, Size: int64(len(data)), SHA256: sha256.Sum256(data)},
		inline: true,
		body:   data,
	}
	return s.put(key, &r)
}

// CommitBlob makes b key's body: it fsyncs and closes the temporary file,
// renames it to its content-addressed place under blobs/ (or drops it if
// that blob already exists), fsyncs the directory, and only then commits the
// record, so the entry becomes visible only once its body is durable and
// complete. It returns the entry committed (OpenEntry opens its body). A
// zero m.StoredAt means now. After a successful CommitBlob, b.Discard does
// nothing.
func (s *Store) CommitBlob(key string, m Meta, b *Blob) (Entry, error) {
	if b.store != s {
		return Entry{}, fmt.Errorf("cache: blob %s belongs to another store", b.path)
	}
	if err := checkKey(key); err != nil {
		return Entry{}, err
	}
	if err := checkMeta(m); err != nil {
		return Entry{}, fmt.Errorf("%w (key %q)", err, key)
	}
	// Checked before the blob moves into place, so that a refusal leaves
	// nothing under blobs/ (put checks again for the record).
	if err := s.admit(int64(len(key))); err != nil {
		return Entry{}, fmt.Errorf("cache: storing %q: %w", key, err)
	}
	sum, err := b.seal()
	if err != nil {
		return Entry{}, fmt.Errorf("%w (key %q)", err, key)
	}
	r := record{Entry: Entry{Meta: m, Key: key, Size: b.size, SHA256: sum}}
	if err := s.put(key, &r); err != nil {
		return Entry{}, err
	}
	return r.Entry, nil
}

// put commits r as key's record and updates the counters.
func (s *Store) put(key string, r *record) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if r.StoredAt.IsZero() {
		r.StoredAt = time.Now()
	}
	val, err := encodeRecord(r)
	if err != nil {
		return fmt.Errorf("%w (key %q)", err, key)
	}
	k := dbKey(key)
	if err := s.admit(int64(len(k) + len(val))); err != nil {
		return fmt.Errorf("cache: writing record %q: %w", key, err)
	}
	old, err := s.update(k, func(txn *badger.Txn) error { return txn.Set(k, val) })
	if err != nil {
		return fmt.Errorf("cache: writing record %q: %w", key, short(err))
	}
	s.counts.replace(old, r.Size)
	s.noteUse(key) // a record just written is about to be read: see evictGrace
	if s.maxBytes > 0 && s.counts.bytes.Load() > s.maxBytes {
		select {
		case s.overfull <- struct{}{}:
		default: // an eviction is already due
		}
	}
	return nil
}

// Delete removes key's record; deleting an absent key is not an error.
// Blob files stay: they are content-addressed and may be shared (Evict
// and the next Open remove those no record refers to).
func (s *Store) Delete(key string) error {
	k := dbKey(key)
	if err := s.admit(int64(len(k))); err != nil {
		return fmt.Errorf("cache: deleting record %q: %w", key, err)
	}
	old, err := s.update(k, func(txn *badger.Txn) error { return txn.Delete(k) })
	if err != nil {
		return fmt.Errorf("cache: deleting record %q: %w", key, short(err))
	}
	s.counts.remove(old)
	s.used.Delete(key)
	return nil
}

// update runs change in a write transaction after reading the record it
// replaces, retrying if a concurrent write to the same key got there first
// (Badger's conflict detection), so the counters see each change once.
func (s *Store) update(k []byte, change func(*badger.Txn) error) (prior, error) {
	defer s.hot.forget(string(k[len(recordPrefix):]))
	for attempt := 0; ; attempt++ {
		var old prior
		err := s.dbUpdate(func(txn *badger.Txn) error {
			var err error
			if old, err = readPrior(txn, k); err != nil {
				return err
			}
			return change(txn)
		})
		if errors.Is(err, badger.ErrConflict) && attempt < maxCommitRetries {
			continue
		}
		return old, err
	}
}

// readPrior reads the size of the record at k, if any, inside txn. An
// undecodable record counts as absent, as it does everywhere else.
func readPrior(txn *badger.Txn, k []byte) (prior, error) {
	item, err := txn.Get(k)
	if errors.Is(err, badger.ErrKeyNotFound) {
		return prior{}, nil
	}
	if err != nil {
		return prior{}, err
	}
	var old prior
	err = item.Value(func(v []byte) error {
		if r, err := decodeRecord(v); err == nil {
			old = prior{exists: true, size: r.Size}
		}
		return nil
	})
	return old, err
}

// MarkVerified sets the Verified flag of key's record, for a body the
// caller has checked after it was stored. It returns ErrNotFound if the
// record is gone, or was replaced by one with another body (digest).
func (s *Store) MarkVerified(key string, sum [32]byte) error {
	k := dbKey(key)
	defer s.hot.forget(key)
	// The record is written again whole: an inline body at most.
	if err := s.admit(int64(len(k)) + s.inlineMax); err != nil {
		return fmt.Errorf("cache: marking %q verified: %w", key, err)
	}
	for attempt := 0; ; attempt++ {
		err := s.dbUpdate(func(txn *badger.Txn) error {
			item, err := txn.Get(k)
			if err != nil {
				return err
			}
			val, err := item.ValueCopy(nil)
			if err != nil {
				return err
			}
			r, err := decodeRecord(val)
			if err != nil || r.SHA256 != sum {
				return badger.ErrKeyNotFound
			}
			r.Verified = true
			enc, err := encodeRecord(&r)
			if err != nil {
				return err
			}
			return txn.Set(k, enc)
		})
		switch {
		case errors.Is(err, badger.ErrKeyNotFound):
			return ErrNotFound
		case errors.Is(err, badger.ErrConflict) && attempt < maxCommitRetries:
			continue
		case err != nil:
			return fmt.Errorf("cache: marking %q verified: %w", key, short(err))
		}
		return nil
	}
}
