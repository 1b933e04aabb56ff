package cache

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
)

const (
	// recordPrefix starts the Badger key of every record, leaving room for
	// other kinds of keys later.
	recordPrefix = "r/"
	// maxKeyLen bounds a key, below Badger's own limit of 65000 bytes.
	maxKeyLen = 60000
	// maxInlineMax bounds Options.InlineMax so that one record always fits
	// in one Badger transaction.
	maxInlineMax = 1 << 20
)

// Store is an on-disk cache of answers, safe for concurrent use.
type Store struct {
	// db is Badger, or what stands in for it on a full disk; after Open,
	// use it through dbView, dbUpdate and withDB, which hold dbMu for
	// reading: a reopen may replace it (metadb.go).
	db        *badger.DB
	dbMu      sync.RWMutex
	dir       string
	metaDir   string
	blobDir   string
	tmpDir    string
	log       *slog.Logger
	inlineMax int64
	counts    counters
	// maxBytes is Options.MaxBytes; used holds, while it is set, when
	// each key was last opened (Unix nanoseconds), for eviction.
	maxBytes int64
	used     sync.Map
	// hot holds the records of small inline answers Open has read (hot.go).
	hot hotRecords
	// overfull wakes the eviction loop when a write takes the store past
	// maxBytes.
	overfull chan struct{}
	// evictGrace is how long a record written or opened stays safe from
	// eviction: defaultEvictGrace (tests shorten it).
	evictGrace time.Duration
	// maint is what the store keeps to check its blobs and look after
	// itself (maintenance.go).
	maint *maintenance
	// space is the free-space gate, and how the metadata store is open
	// (space.go, readonly.go).
	space *spaceGuard

	stop      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// Open opens (creating if needed) the store in opts.Dir: Badger in Dir/meta,
// blob files in Dir/blobs, temporary files in Dir/tmp, which Open empties.
// If another Store (in this or another process) has the directory open, the
// error wraps ErrLocked. A damaged metadata store is moved aside to
// Dir/meta.damaged-<time> and a fresh one started (see openMeta). Open
// starts the store's background work: garbage collection, eviction, the
// scrub and the expiry sweep, which Close stops.
func Open(opts Options) (*Store, error) {
	if opts.Dir == "" {
		return nil, errors.New("cache: no directory given")
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.Default()
	}
	inlineMax := opts.InlineMax
	switch {
	case inlineMax == 0:
		inlineMax = DefaultInlineMax
	case inlineMax < 0 || inlineMax > maxInlineMax:
		return nil, fmt.Errorf("cache: InlineMax %d out of range 0..%d", inlineMax, maxInlineMax)
	}
	maint, err := newMaintenance(opts)
	if err != nil {
		return nil, err
	}
	space, err := newSpaceGuard(opts, badgerOptions(filepath.Join(opts.Dir, "meta"), logger, badgerLogLevel(opts)), logger)
	if err != nil {
		return nil, err
	}
	s := &Store{
		dir:        opts.Dir,
		metaDir:    filepath.Join(opts.Dir, "meta"),
		blobDir:    filepath.Join(opts.Dir, "blobs"),
		tmpDir:     filepath.Join(opts.Dir, "tmp"),
		log:        logger,
		inlineMax:  inlineMax,
		maxBytes:   max(opts.MaxBytes, 0),
		overfull:   make(chan struct{}, 1),
		evictGrace: defaultEvictGrace,
		maint:      maint,
		space:      space,
		stop:       make(chan struct{}),
	}
	for _, d := range []string{s.dir, s.metaDir, s.blobDir, s.tmpDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("cache: creating directory %s: %w", d, err)
		}
	}
	// openMeta sets a damaged metadata store aside (setaside.go).
	// openMetaWithSpace opens it read-only, or not at all, on a full
	// disk (readonly.go).
	referenced, err := s.openMetaWithSpace(s.openMeta)
	if err != nil {
		return nil, err
	}
	// Only now, holding Badger's directory lock, may tmp be emptied: another
	// process using it would have failed the lock.
	if err := s.emptyTmp(); err != nil {
		_ = s.closeMeta()
		return nil, err
	}
	if !s.space.state().Absent { // without records, every blob would look unused
		s.sweepBlobs(referenced)
	}
	s.makeBlobSubdirs()
	s.startMaintenance(referenced)
	s.wg.Add(1)
	go s.collectGarbage(s.stop)
	s.wg.Add(1)
	go s.watchSpace(s.stop)
	if s.maxBytes > 0 {
		s.wg.Add(1)
		go s.evictWhenFull(s.stop)
	}
	return s, nil
}

// badgerOptions returns Badger's options, tuned for a laptop's memory, with
// its log lines at minLevel or above going to logger.
func badgerOptions(dir string, logger *slog.Logger, minLevel slog.Level) badger.Options {
	return badger.DefaultOptions(dir).
		WithLogger(badgerLogger{log: logger, min: minLevel}).
		WithMemTableSize(8 << 20).
		WithNumMemtables(2).
		WithNumLevelZeroTables(2).
		WithNumLevelZeroTablesStall(4).
		WithBlockCacheSize(8 << 20). // zero panics with compression on
		WithIndexCacheSize(4 << 20).
		WithValueThreshold(64 << 10).
		WithValueLogFileSize(256 << 20).
		WithBaseTableSize(1 << 20).
		WithNumCompactors(2).
		WithMetricsEnabled(false)
}

// emptyTmp removes whatever an earlier run left in the tmp directory.
func (s *Store) emptyTmp() error {
	ents, err := os.ReadDir(s.tmpDir)
	if err != nil {
		return fmt.Errorf("cache: reading %s: %w", s.tmpDir, err)
	}
	for _, e := range ents {
		p := filepath.Join(s.tmpDir, e.Name())
		if err := os.RemoveAll(p); err != nil {
			return fmt.Errorf("cache: removing leftover temporary file %s: %w", p, err)
		}
	}
	return nil
}

// Close stops background work and closes Badger. Calls after the first
// return the first call's result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.stop)
		s.wg.Wait()
		if err := s.closeMeta(); err != nil {
			s.closeErr = fmt.Errorf("cache: closing metadata store in %s: %w", s.metaDir, short(err))
		} else {
			s.markClosed()
		}
	})
	return s.closeErr
}

// dbKey returns the Badger key of key's record.
func dbKey(key string) []byte {
	k := make([]byte, 0, len(recordPrefix)+len(key))
	return append(append(k, recordPrefix...), key...)
}

// checkKey reports whether key can be stored.
func checkKey(key string) error {
	switch {
	case key == "":
		return errors.New("cache: empty key")
	case len(key) > maxKeyLen:
		return fmt.Errorf("cache: key of %d bytes is longer than %d (starts %.64q)", len(key), maxKeyLen, key)
	}
	return nil
}

// badgerLogLevel is the least level of Badger's own log lines that are
// passed on: Options.BadgerLogLevel, WARN when it is not set.
func badgerLogLevel(opts Options) slog.Level {
	if opts.BadgerLogLevel == nil {
		return slog.LevelWarn
	}
	return opts.BadgerLogLevel.Level()
}
