package cache

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// valuePrefix starts the Badger key of every named value, apart from the
// records' keys.
const valuePrefix = "v/"

// maxValueLen bounds a named value: they are small settings and states,
// such as a checksum database's signed tree head.
const maxValueLen = 64 << 10

// ErrConflict is returned by SwapValue when the stored value is not the
// expected old one.
var ErrConflict = errors.New("cache: value changed concurrently")

// ReadValue returns the named value, or an empty result if it was never
// written.
func (s *Store) ReadValue(name string) ([]byte, error) {
	var val []byte
	err := s.dbView(func(txn *badger.Txn) error {
		item, err := txn.Get(valueKey(name))
		if err != nil {
			return err
		}
		val, err = item.ValueCopy(nil)
		return err
	})
	if errors.Is(err, badger.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("cache: reading value %q: %w", name, short(err))
	}
	return val, nil
}

// SwapValue atomically replaces the named value with new if it currently
// equals old (an absent value equals an empty old), and returns ErrConflict
// otherwise.
func (s *Store) SwapValue(name string, old, new []byte) error {
	if len(new) > maxValueLen {
		return fmt.Errorf("cache: value %q is %d bytes, more than %d", name, len(new), maxValueLen)
	}
	k := valueKey(name)
	if err := s.admit(int64(len(k) + len(new))); err != nil {
		return fmt.Errorf("cache: writing value %q: %w", name, err)
	}
	for attempt := 0; ; attempt++ {
		err := s.dbUpdate(func(txn *badger.Txn) error {
			var cur []byte
			item, err := txn.Get(k)
			switch {
			case errors.Is(err, badger.ErrKeyNotFound):
			case err != nil:
				return err
			default:
				if cur, err = item.ValueCopy(nil); err != nil {
					return err
				}
			}
			if !bytes.Equal(cur, old) {
				return ErrConflict
			}
			return txn.Set(k, bytes.Clone(new))
		})
		switch {
		case errors.Is(err, ErrConflict):
			return ErrConflict
		case errors.Is(err, badger.ErrConflict) && attempt < maxCommitRetries:
			continue
		case err != nil:
			return fmt.Errorf("cache: writing value %q: %w", name, short(err))
		}
		return nil
	}
}

// valueKey returns the Badger key of a named value.
func valueKey(name string) []byte {
	return append([]byte(valuePrefix), name...)
}
