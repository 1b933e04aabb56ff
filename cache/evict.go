package cache

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"
)

// evictInterval is how often the store checks its size against MaxBytes
// besides when a write takes it past.
const evictInterval = time.Minute

// defaultEvictGrace is how long a record stays safe from eviction after it was
// written or opened: a proxy stores an answer, then reads it back to
// serve it, and an eviction in between (which the write itself may set
// off, in a cache bound far below what is being fetched) would make it
// fail the request it fetched it for. The store can go over its bound by
// what was written within the grace.
const defaultEvictGrace = 5 * time.Second

// evictWhenFull evicts down to nine tenths of maxBytes whenever a write
// takes the store past it (and checks every evictInterval), until stop is
// closed.
func (s *Store) evictWhenFull(stop <-chan struct{}) {
	s.every(stop, evictInterval, s.overfull, func() {
		if s.Stats().Bytes <= s.maxBytes {
			return
		}
		st, err := s.Evict(s.maxBytes / 10 * 9)
		if err != nil {
			s.log.Warn("cache: eviction failed", "err", err)
			return
		}
		if s.Stats().Bytes > s.maxBytes {
			// What kept it over was written or read within the grace:
			// look again once that has passed.
			time.AfterFunc(s.evictGrace, func() {
				select {
				case s.overfull <- struct{}{}:
				default:
				}
			})
		}
		s.log.Info("cache: over its size bound; evicted the least recently used answers",
			"max_bytes", s.maxBytes, "entries", st.Entries, "bytes", st.Bytes, "files", st.Files)
	})
}

// candidate is a record that may be evicted.
type candidate struct {
	key    string
	size   int64
	sum    [32]byte
	inline bool
	used   int64 // Unix nanoseconds: last opened, or stored
}

// Evict removes the least recently used records (last opened since the
// store was opened, else stored longest ago) until the bodies kept total
// at most target bytes, and the blob files no kept record refers to.
// Records written or opened within the last 5 s are kept whatever the
// bound (defaultEvictGrace). A record written meanwhile may be evicted, or find its blob gone
// and read as a miss: eviction only ever costs a refetch, never serves
// wrong bytes.
func (s *Store) Evict(target int64) (Removed, error) {
	var (
		all  []candidate
		refs = make(map[[32]byte]int)
	)
	graceFrom := time.Now().Add(-s.evictGrace).UnixNano()
	err := s.eachRecord(func(key string, r *record) {
		if !r.inline {
			refs[r.SHA256]++
		}
		c := candidate{key: key, size: r.Size, sum: r.SHA256, inline: r.inline, used: r.StoredAt.UnixNano()}
		if t, ok := s.used.Load(key); ok {
			c.used = max(c.used, t.(int64))
		}
		if c.used > graceFrom {
			return // just written or read: kept (see defaultEvictGrace)
		}
		all = append(all, c)
	})
	if err != nil {
		return Removed{}, fmt.Errorf("cache: listing records to evict: %w", err)
	}
	slices.SortFunc(all, func(a, b candidate) int { return cmp.Compare(a.used, b.used) })

	var st Removed
	for _, c := range all {
		if s.Stats().Bytes <= target {
			break
		}
		if err := s.Delete(c.key); err != nil {
			return st, err
		}
		s.used.Delete(c.key)
		s.removed(c, refs, &st)
	}
	return st, nil
}

// Removed counts what Evict or Expire removed.
type Removed struct {
	// Entries and Bytes count the records deleted and their body sizes.
	Entries, Bytes int64
	// Files and FileBytes count the blob files removed (a blob another
	// record still refers to stays).
	Files, FileBytes int64
}

// removed counts in st the record of c, just deleted, and removes its blob
// file when no other record of refs (the blob references of the records
// listed) refers to it any longer.
func (s *Store) removed(c candidate, refs map[[32]byte]int, st *Removed) {
	st.Entries++
	st.Bytes += c.size
	if c.inline {
		return
	}
	if refs[c.sum]--; refs[c.sum] > 0 {
		return
	}
	p := s.blobPath(c.sum)
	info, err := os.Stat(p)
	if err != nil {
		return
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.log.Warn("cache: cannot remove the blob file of a deleted answer", "file", p, "err", err)
		return
	}
	st.Files++
	st.FileBytes += info.Size()
}
