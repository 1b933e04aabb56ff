package cache

import (
	"errors"
	"fmt"
	"os"
	"time"
)

const (
	// maxExpireInterval is the longest time between two expiry sweeps.
	maxExpireInterval = 5 * time.Minute
	// minExpireInterval is the shortest (for tiny ages in tests).
	minExpireInterval = 10 * time.Millisecond
	// statusOK is the status of an answer that is not a remembered "not found".
	statusOK = 200
)

// ExpireStats says what one expiry sweep did.
type ExpireStats struct {
	// Entries and Bytes count the records deleted and their body sizes.
	Entries, Bytes int64
	// Files and FileBytes count the blob files removed (a blob another
	// record still refers to stays).
	Files, FileBytes int64
}

// expireLoop runs Expire every few minutes (every ExpireNegativeAfter or
// ExpireMutableAfter, whichever is shorter, and at most every five
// minutes) until stop is closed.
func (s *Store) expireLoop(stop <-chan struct{}) {
	defer s.wg.Done()
	m := s.maint
	every := maxExpireInterval
	for _, d := range []time.Duration{m.expireNegative, m.expireMutable} {
		if d > 0 {
			every = min(every, d)
		}
	}
	every = max(every, minExpireInterval)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		if ok, _ := s.Writable(); !ok {
			continue // deleting writes too; the space gate refuses it (space.go)
		}
		st, err := s.Expire(time.Now())
		if err != nil {
			s.log.Warn("cache: expiry sweep failed", "err", err)
			continue
		}
		if st.Entries > 0 {
			s.log.Debug("cache: deleted expired answers", "entries", st.Entries, "bytes", st.Bytes, "files", st.Files)
		}
	}
}

// expired reports whether r is past its age limit at now: an answer
// other than 200 (a remembered "not found") after ExpireNegativeAfter, a
// mutable 200 answer after ExpireMutableAfter. Immutable 200 answers
// never expire (eviction alone removes them).
func (m *maintenance) expired(r *record, now time.Time) bool {
	age := now.Sub(r.StoredAt)
	switch {
	case r.Status != statusOK:
		return m.expireNegative > 0 && age > m.expireNegative
	case !r.Immutable:
		return m.expireMutable > 0 && age > m.expireMutable
	}
	return false
}

// Expire deletes the records that are past their age limit at now
// (Options.ExpireNegativeAfter, Options.ExpireMutableAfter), and the blob
// files no remaining record refers to. A record rewritten meanwhile is
// kept; a blob committed meanwhile for another key with the same content
// may find its file gone and read as a miss, as with Evict: expiry only
// ever costs a refetch. The background sweep calls it with the current
// time.
func (s *Store) Expire(now time.Time) (ExpireStats, error) {
	var (
		due  []candidate
		refs = make(map[[32]byte]int)
	)
	err := s.eachRecord(func(key string, r *record) {
		if !r.inline {
			refs[r.SHA256]++
		}
		if s.maint.expired(r, now) {
			due = append(due, candidate{key: key, size: r.Size, sum: r.SHA256, inline: r.inline})
		}
	})
	if err != nil {
		return ExpireStats{}, fmt.Errorf("cache: listing records to expire: %w", err)
	}
	var (
		st   ExpireStats
		errs []error
	)
	for _, c := range due {
		deleted, err := s.deleteIf(c.key, func(r *record) bool {
			return r.SHA256 == c.sum && s.maint.expired(r, now)
		})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !deleted {
			continue
		}
		st.Entries++
		st.Bytes += c.size
		if c.inline {
			continue
		}
		if refs[c.sum]--; refs[c.sum] > 0 {
			continue
		}
		p := s.blobPath(c.sum)
		info, err := os.Stat(p)
		if err != nil {
			continue
		}
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			s.log.Warn("cache: cannot remove an expired blob", "file", p, "err", err)
			continue
		}
		st.Files++
		st.FileBytes += info.Size()
	}
	s.maint.expiredEntries.Add(st.Entries)
	return st, errors.Join(errs...)
}
