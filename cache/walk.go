package cache

import (
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// walkBatch is how many records Walk reads per Badger transaction, so
// that no transaction stays open while the caller's function runs.
const walkBatch = 256

// Walk calls fn, in key order, with the record of every key that starts
// with prefix; no body is opened. Undecodable records are logged and
// skipped. If fn returns an error, Walk stops and returns it unchanged.
// Records are read in batches, so no transaction stays open while fn runs;
// writes made meanwhile may or may not be seen.
func (s *Store) Walk(prefix string, fn func(Entry) error) error {
	pfx := dbKey(prefix)
	start := pfx
	batch := make([]Entry, 0, walkBatch)
	for {
		batch = batch[:0]
		var next []byte
		err := s.dbView(func(txn *badger.Txn) error {
			it := txn.NewIterator(badger.IteratorOptions{Prefix: pfx})
			defer it.Close()
			for it.Seek(start); it.Valid(); it.Next() {
				item := it.Item()
				if len(batch) == walkBatch {
					next = item.KeyCopy(nil)
					return nil
				}
				key := string(item.Key()[len(recordPrefix):])
				var (
					r      record
					decErr error
				)
				if err := item.Value(func(v []byte) error {
					r, decErr = decodeRecord(v)
					return nil
				}); err != nil {
					return fmt.Errorf("reading record %q: %w", key, err)
				}
				if decErr != nil {
					s.log.Warn("cache: skipping undecodable record", "key", key, "err", decErr)
					continue
				}
				r.Key = key
				batch = append(batch, r.Entry)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("cache: walking records with prefix %q: %w", prefix, short(err))
		}
		for _, e := range batch {
			if err := fn(e); err != nil {
				return err
			}
		}
		if next == nil {
			return nil
		}
		start = next
	}
}
