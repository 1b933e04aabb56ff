package cache

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Start-up on a full disk. Opening Badger read-write writes at once: it
// replays the memtable log and flushes it to a table, and starts a new
// memtable log and value log, all through memory maps, so on a full disk
// it dies of SIGBUS. So Open measures free space first:
//
//   - With at least Badger's headroom free (deleting the ballast if that
//     is what it takes), Badger opens read-write as always; the gate then
//     decides whether the store writes (space.go).
//   - Below that, Badger opens read-only: cached answers are served, none
//     are stored. Badger refuses that when its memtable log was not
//     flushed (the previous run did not close the store), and on tmpfs
//     even reading such a log's unwritten tail needs free pages; so then
//     it is not tried.
//   - Failing that, an empty in-memory stand-in takes Badger's place:
//     every read is a miss, every write is refused. Nothing is lost: the
//     store on disk is untouched.
//
// Either way the store's background check reopens Badger read-write, under
// Store.dbMu, once free space is back above the reserve and the ballast's
// room (spacewatch.go). The store holds an exclusive lock on the cache
// directory from Open to Close, in every mode, so that a second process
// is refused (ErrLocked) whatever state the first is in.

// reopenBackoff is how long the store waits after failing to reopen
// Badger read-write before it tries again.
const reopenBackoff = time.Minute

// openMetaWithSpace opens the metadata store as free space allows, through
// open (which opens it read-write with the options given, sets s.db and
// counts the records) when there is room, and returns the digests of the
// blobs the records refer to. It takes the cache directory's lock, which
// closeMeta releases.
func (s *Store) openMetaWithSpace(open func(badger.Options) (map[[32]byte]struct{}, error)) (map[[32]byte]struct{}, error) {
	lock, err := lockExclusive(s.dir)
	if err != nil {
		return nil, err
	}
	g := s.space
	opts := g.opts
	g.lock = lock
	g.mu.Lock()
	g.findBallastLocked()
	g.measureLocked()
	if g.known && g.free < g.headroom {
		g.releaseBallastLocked("the disk is full at start-up")
		g.measureLocked()
	}
	low := g.known && g.free < g.headroom
	free := g.free
	g.mu.Unlock()

	if !low {
		referenced, err := open(opts)
		if err == nil {
			s.readWriteOpened()
			return referenced, nil
		}
		if !noSpace(err) {
			s.releaseLock()
			return nil, err
		}
		s.log.Error("cache: the disk filled up while the metadata store was opening; opening it read-only", "dir", s.metaDir, "err", err)
	}
	referenced, err := s.openLow(opts, free)
	if err != nil {
		s.releaseLock()
		return nil, err
	}
	return referenced, nil
}

// readWriteOpened records that Badger is open read-write, and decides
// whether the store writes: with the reserve free and the ballast in place
// (made now if there is room for it).
func (s *Store) readWriteOpened() {
	g := s.space
	g.mu.Lock()
	defer g.mu.Unlock()
	g.mode = metaReadWrite
	g.writable = true
	g.measureLocked()
	if !g.known {
		return
	}
	if !g.ballastOKLocked() && g.free-g.headroom >= g.reserve {
		g.tryBallastLocked()
		g.measureLocked()
	}
	if !g.ballastOKLocked() || g.free < g.reserve {
		g.readOnlyLocked(g.lowReasonLocked())
	}
}

// openLow opens Badger read-only, or the stand-in, on a disk with less
// than Badger's headroom free (free bytes), and returns the referenced
// blobs.
func (s *Store) openLow(opts badger.Options, free int64) (map[[32]byte]struct{}, error) {
	g := s.space
	if log, found := unflushedLog(s.metaDir); found {
		s.log.Error("cache: the disk is full and the metadata store was not closed cleanly (its memtable log "+log+" needs replaying, which needs space)", "dir", s.metaDir)
	} else if referenced, err := s.openReadOnly(opts); err != nil {
		s.log.Error("cache: the disk is full and the metadata store cannot be opened read-only", "dir", s.metaDir, "err", err)
	} else {
		g.setMode(metaReadOnly)
		s.log.Error("cache: the disk is full; opened the metadata store read-only: cached answers are served, new ones are not stored until space returns",
			"dir", s.dir, "free", formatSize(free), "reserve", formatSize(g.state().Reserve))
		return referenced, nil
	}
	db, err := standIn()
	if err != nil {
		return nil, err
	}
	s.db = db
	g.setMode(metaAbsent)
	s.log.Error("cache: serving without the cache until the disk has room: every answer is fetched, none is stored; the cache on disk is kept",
		"dir", s.dir, "free", formatSize(free), "needed", formatSize(g.headroom))
	return map[[32]byte]struct{}{}, nil
}

// openReadOnly opens Badger read-only, sets s.db and counts the records,
// returning the blobs they refer to.
func (s *Store) openReadOnly(opts badger.Options) (map[[32]byte]struct{}, error) {
	db, err := openBadgerSafely(opts.WithReadOnly(true))
	if err != nil {
		return nil, err
	}
	s.db = db
	referenced, err := s.countRecords()
	if err != nil {
		closeBadgerQuietly(db)
		s.db = nil
		return nil, err
	}
	return referenced, nil
}

// setMode records how the metadata store is open; outside read-write the
// store is read-only.
func (g *spaceGuard) setMode(m metaMode) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.mode = m
	if m != metaReadWrite {
		g.writable = false
		g.reason = g.lowReasonLocked()
	}
}

// reopenReadWrite replaces a read-only or stand-in Badger with one opened
// read-write, once space has returned; readers wait meanwhile. If that
// fails, the store goes on as it was (read-only, or with the stand-in),
// and tries again after reopenBackoff.
func (s *Store) reopenReadWrite() {
	g := s.space
	from := g.currentMode()
	s.dbMu.Lock()
	closeBadgerQuietly(s.db)
	db, err := openBadgerSafely(g.opts)
	if err != nil {
		s.log.Error("cache: cannot reopen the metadata store read-write now that the disk has room; trying again in a while",
			"dir", s.metaDir, "err", err, "retry_in", reopenBackoff)
		mode := from
		if from == metaReadOnly {
			db, err = openBadgerSafely(g.opts.WithReadOnly(true))
		}
		if from != metaReadOnly || err != nil {
			mode = metaAbsent
			if db, err = standIn(); err != nil {
				// Only a bad option fails an in-memory open; the closed
				// Badger answers every call with an error meanwhile.
				s.log.Error("cache: opening the in-memory stand-in", "err", err)
			}
		}
		if err == nil {
			s.db = db
			s.hot.clear()
		}
		s.dbMu.Unlock()
		g.setMode(mode)
		g.mu.Lock()
		g.reopenAt = time.Now().Add(reopenBackoff)
		g.mu.Unlock()
		return
	}
	s.db = db
	s.dbMu.Unlock()
	// No write is let through before the mode changes, so the counts are
	// those of the store on disk.
	// countRecords also takes the blobs the records refer to as unchecked
	// (integrity.go), as after any start.
	if _, err := s.countRecords(); err != nil {
		s.log.Error("cache: counting the records after reopening the metadata store", "dir", s.metaDir, "err", err)
	}
	s.readWriteOpened()
	ok, reason := s.Writable()
	s.log.Info("cache: the disk has room again; reopened the metadata store read-write",
		"dir", s.dir, "was", from.String(), "writable", ok, "reason", reason)
}

// currentMode returns how the metadata store is open.
func (g *spaceGuard) currentMode() metaMode {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.mode
}

// String names the mode for logs.
func (m metaMode) String() string {
	switch m {
	case metaReadOnly:
		return "read-only"
	case metaAbsent:
		return "absent"
	}
	return "read-write"
}

// closeMeta closes Badger and releases the cache directory's lock. On a
// disk that others filled, the ballast goes first: closing flushes the
// memtable into a new table.
func (s *Store) closeMeta() error {
	g := s.space
	g.mu.Lock()
	if g.mode == metaReadWrite {
		g.measureLocked()
		if g.known && g.free < g.headroom {
			g.releaseBallastLocked("closing the store on a full disk")
		}
	}
	g.mu.Unlock()
	s.dbMu.Lock()
	err := s.db.Close()
	s.dbMu.Unlock()
	s.releaseLock()
	return err
}

// releaseLock releases the cache directory's lock.
func (s *Store) releaseLock() {
	if g := s.space; g.lock != nil {
		g.lock.Close()
		g.lock = nil
	}
}

// unflushedLog reports whether Badger in dir has a memtable log (a *.mem
// file), which only an unclean stop leaves, and names it: Badger cannot
// open such a store read-only.
func unflushedLog(dir string) (string, bool) {
	logs, _ := filepath.Glob(filepath.Join(dir, "*.mem"))
	if len(logs) > 0 {
		return filepath.Base(logs[0]), true
	}
	return "", false
}

// openBadgerSafely is badger.Open with a panic turned into an error.
func openBadgerSafely(opts badger.Options) (db *badger.DB, err error) {
	defer func() {
		if r := recover(); r != nil {
			db, err = nil, fmt.Errorf("cache: opening the metadata store in %s: panic: %s", opts.Dir, truncateText(fmt.Sprint(r)))
		}
	}()
	db, err = badger.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("cache: opening the metadata store in %s: %w", opts.Dir, short(err))
	}
	return db, nil
}

// closeBadgerQuietly closes a Badger being given up, ignoring errors and
// panics.
func closeBadgerQuietly(db *badger.DB) {
	defer func() { _ = recover() }()
	_ = db.Close()
}

// standIn returns an empty in-memory Badger to stand in for the metadata
// store when it cannot be opened: reads miss, and the gate refuses writes.
func standIn() (*badger.DB, error) {
	db, err := badger.Open(badger.DefaultOptions("").
		WithInMemory(true).
		WithLogger(nil).
		WithMemTableSize(1 << 20).
		WithValueThreshold(1 << 10).
		WithBlockCacheSize(1 << 20).
		WithIndexCacheSize(1 << 20).
		WithNumCompactors(2).
		WithMetricsEnabled(false))
	if err != nil {
		return nil, fmt.Errorf("cache: opening an in-memory stand-in for the metadata store: %w", err)
	}
	return db, nil
}

// noSpace reports whether err says the file system is full.
func noSpace(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || strings.Contains(err.Error(), "no space left on device")
}
