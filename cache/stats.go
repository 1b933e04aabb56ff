package cache

import (
	"fmt"
	"sync/atomic"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Stats counts what the store holds.
type Stats struct {
	// Entries is the number of records.
	Entries int64
	// Bytes is the sum of the records' body sizes.
	Bytes int64

	// CorruptBlobs counts the blob files found, since Open, not to hash
	// to their names (by the scrub, by the check on a first read, or by a
	// commit of the same content): each was removed or replaced, and the
	// records that referred to it dropped.
	CorruptBlobs int64
	// ScrubbedBytes and ScrubbedFiles count what the scrub has hashed
	// since Open; ScrubPasses counts its complete passes since Open.
	ScrubbedBytes, ScrubbedFiles, ScrubPasses int64
	// LastScrubAt is when the last complete scrub pass ended, in this run
	// or an earlier one; zero if none has.
	LastScrubAt time.Time
	// UncheckedBlobs counts the blob files not hashed since Open: the
	// first read of each hashes it before it is served.
	UncheckedBlobs int64
	// UncleanStart reports that the previous run did not close the store.
	UncleanStart bool
	// SetAside is where Open moved a damaged metadata store, if it did.
	SetAside string
	// ExpiredEntries counts the records the expiry sweep deleted since Open.
	ExpiredEntries int64

	// Writable reports that the store stores new answers; ReadOnly says,
	// when it does not, why: "disk full: 12.0 MiB free, reserve 1.0 GiB".
	Writable bool
	ReadOnly string
	// FreeBytes is the free space on the cache's file system at the last
	// measurement (about a second old at most), and ReserveBytes the free
	// space the store leaves there; both zero where it is not measured.
	FreeBytes, ReserveBytes int64
}

// counters keeps Stats up to date as records come and go.
type counters struct {
	entries atomic.Int64
	bytes   atomic.Int64
}

// prior describes the record a write replaces, as read inside the write's transaction.
type prior struct {
	exists bool
	size   int64
}

// replace accounts for a record of size newSize taking old's place.
func (c *counters) replace(old prior, newSize int64) {
	if !old.exists {
		c.entries.Add(1)
	}
	c.bytes.Add(newSize - old.size)
}

// remove accounts for the deletion of old.
func (c *counters) remove(old prior) {
	if old.exists {
		c.entries.Add(-1)
		c.bytes.Add(-old.size)
	}
}

// Stats returns the number of records and the sum of their body sizes,
// and what the store's upkeep found. It is O(1): the counts are kept up
// to date as records are written.
func (s *Store) Stats() Stats {
	st := Stats{Entries: s.counts.entries.Load(), Bytes: s.counts.bytes.Load()}
	s.upkeepStats(&st)
	s.spaceStats(&st)
	return st
}

// countRecords sets the counters from a walk over every record, and
// returns the digests of the blobs the records refer to; Open calls it
// once, and sets the store aside if the walk finds it damaged.
// Undecodable records are not counted, matching how writes see them
// (they read as misses, so their blobs are not needed either).
func (s *Store) countRecords() (map[[32]byte]struct{}, error) {
	var entries, bytes int64
	blobs := make(map[[32]byte]struct{})
	err := s.eachRecordAtOpen(func(_ string, r *record) {
		entries++
		bytes += r.Size
		if !r.inline {
			blobs[r.SHA256] = struct{}{}
		}
	})
	if err != nil {
		return nil, fmt.Errorf("cache: counting records: %w", err)
	}
	s.counts.entries.Store(entries)
	s.counts.bytes.Store(bytes)
	s.uncheck(blobs) // hashed on their first read (integrity.go)
	return blobs, nil
}

// eachRecord calls fn with every record that decodes (the body of an
// inline one is not kept past the call), logging and skipping the others.
func (s *Store) eachRecord(fn func(key string, r *record)) error {
	err := s.dbView(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: []byte(recordPrefix)})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			item := it.Item()
			key := string(item.Key()[len(recordPrefix):])
			err := item.Value(func(v []byte) error {
				r, err := decodeRecord(v)
				if err != nil {
					return err
				}
				fn(key, &r)
				return nil
			})
			if err != nil {
				s.log.Warn("cache: skipping unreadable record", "key", key, "err", err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("reading records in %s: %w", s.metaDir, short(err))
	}
	return nil
}
