package cache

import (
	"errors"
	"fmt"
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

// expireLoop runs Expire every few minutes (every ExpireNegativeAfter or
// ExpireMutableAfter, whichever is shorter, and at most every five
// minutes) until stop is closed.
func (s *Store) expireLoop(stop <-chan struct{}) {
	m := s.maint
	every := maxExpireInterval
	for _, d := range []time.Duration{m.expireNegative, m.expireMutable} {
		if d > 0 {
			every = min(every, d)
		}
	}
	s.every(stop, max(every, minExpireInterval), nil, func() {
		if ok, _ := s.Writable(); !ok {
			return // deleting writes too; the space gate refuses it (space.go)
		}
		st, err := s.Expire(time.Now())
		if err != nil {
			s.log.Warn("cache: expiry sweep failed", "err", err)
			return
		}
		if st.Entries > 0 {
			s.log.Debug("cache: deleted expired answers", "entries", st.Entries, "bytes", st.Bytes, "files", st.Files)
		}
	})
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
func (s *Store) Expire(now time.Time) (Removed, error) {
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
		return Removed{}, fmt.Errorf("cache: listing records to expire: %w", err)
	}
	var (
		st   Removed
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
		if deleted {
			s.removed(c, refs, &st)
		}
	}
	s.maint.expiredEntries.Add(st.Entries)
	return st, errors.Join(errs...)
}
