package cache

import (
	"errors"
	"time"

	"github.com/dgraph-io/badger/v4"
)

const (
	// gcInterval is how often the store asks Badger to reclaim value-log space.
	gcInterval = 10 * time.Minute
	// gcDiscardRatio is the share of a value-log file that must be stale
	// before Badger rewrites it.
	gcDiscardRatio = 0.5
)

// collectGarbage runs Badger's value-log GC every gcInterval until stop is
// closed. Each round repeats RunValueLogGC while it keeps rewriting files.
// A rewrite writes up to a value-log file's worth through a memory map, so
// it runs only while that much is free above the reserve (space.go).
func (s *Store) collectGarbage(stop <-chan struct{}) {
	s.every(stop, gcInterval, nil, func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if need := s.space.opts.ValueLogFileSize; !s.space.room(need) {
				s.log.Info("cache: value-log garbage collection waits for free space", "dir", s.metaDir, "needs_above_reserve", formatSize(need))
				return
			}
			err := s.withDB(func(db *badger.DB) error { return db.RunValueLogGC(gcDiscardRatio) })
			if err == nil {
				continue
			}
			if !errors.Is(err, badger.ErrNoRewrite) && !errors.Is(err, badger.ErrRejected) {
				s.log.Warn("cache: value-log garbage collection failed", "dir", s.metaDir, "err", short(err))
			}
			return
		}
	})
}
