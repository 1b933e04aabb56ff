package cache

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// DefaultScrubRate is the scrub's read rate, in bytes per second, when
	// Options.ScrubRate is zero: gentle enough to go unnoticed beside
	// serving, fast enough to re-read 20 GiB of blobs in well under a day.
	DefaultScrubRate = 8 << 20
	// DefaultScrubInterval is how often a full scrub pass starts, when
	// Options.ScrubInterval is zero.
	DefaultScrubInterval = 24 * time.Hour
)

// maintenance is what the store keeps to trust its blob files and to look
// after itself: which blobs are still to be hashed, the scrub's and the
// expiry's settings and counters, and what Open found. Store.maint points
// to it; integrity.go, scrub.go, expire.go, marker.go and setaside.go use it.
type maintenance struct {
	// scrubRate is the scrub's bytes per second; zero turns it off.
	scrubRate int64
	// scrubInterval is how often a full pass starts.
	scrubInterval time.Duration
	// expireNegative and expireMutable are Options.ExpireNegativeAfter and
	// Options.ExpireMutableAfter; zero keeps such records.
	expireNegative, expireMutable time.Duration

	// mu guards unchecked and inflight.
	mu sync.Mutex
	// unchecked holds the digests of the blob files not hashed since Open:
	// a read hashes such a file before returning it. A digest leaves it
	// once a file at its path hashed right, or was removed or replaced by
	// an honest copy; from then on only honest files are put at that path.
	unchecked map[[32]byte]struct{}
	// nUnchecked is len(unchecked), read without the lock by the hit
	// path: once every blob is checked, Open takes no lock for it.
	nUnchecked atomic.Int64
	// inflight holds the checks on read in progress, so that concurrent
	// first reads of one blob hash it once.
	inflight map[[32]byte]*blobCheck

	// locks serialize, per blob path (striped by the digest's first byte),
	// what replaces or removes a blob file after looking at it.
	locks [64]sync.Mutex

	// uncleanStart reports that the previous run did not close the store.
	uncleanStart bool
	// setAside is where Open moved a damaged metadata store, if it did.
	setAside string

	corrupt        atomic.Int64
	scrubbedBytes  atomic.Int64
	scrubbedFiles  atomic.Int64
	scrubPasses    atomic.Int64
	lastScrub      atomic.Int64 // Unix nanoseconds; 0 for never
	expiredEntries atomic.Int64
}

// newMaintenance checks the options that concern the store's upkeep and
// applies their defaults.
func newMaintenance(opts Options) (*maintenance, error) {
	m := &maintenance{
		scrubRate:      opts.ScrubRate,
		scrubInterval:  opts.ScrubInterval,
		expireNegative: opts.ExpireNegativeAfter,
		expireMutable:  opts.ExpireMutableAfter,
		unchecked:      make(map[[32]byte]struct{}),
		inflight:       make(map[[32]byte]*blobCheck),
	}
	switch {
	case m.scrubRate == 0:
		m.scrubRate = DefaultScrubRate
	case m.scrubRate < 0:
		m.scrubRate = 0
	}
	switch {
	case m.scrubInterval == 0:
		m.scrubInterval = DefaultScrubInterval
	case m.scrubInterval < 0:
		return nil, fmt.Errorf("cache: ScrubInterval %v is negative", m.scrubInterval)
	}
	if m.expireNegative < 0 || m.expireMutable < 0 {
		return nil, fmt.Errorf("cache: ExpireNegativeAfter %v and ExpireMutableAfter %v must not be negative",
			m.expireNegative, m.expireMutable)
	}
	return m, nil
}

// startMaintenance is the end of Open: it notes whether the previous run
// closed the store, and starts the scrub and the expiry loops (stopped by
// Close). countRecords has made the blobs the records refer to unchecked.
func (s *Store) startMaintenance(referenced map[[32]byte]struct{}) {
	m := s.maint
	m.uncleanStart = s.markOpen()
	if m.uncleanStart {
		// Info, not Warn: the crash itself was the event; this is the cure.
		s.log.Info("cache: the previous run did not close the store; a scrub pass starts now",
			"dir", s.dir, "blobs", len(referenced))
	}
	if m.scrubRate > 0 {
		s.wg.Add(1)
		go s.scrubLoop(s.stop)
	}
	if m.expireNegative > 0 || m.expireMutable > 0 {
		s.wg.Add(1)
		go s.expireLoop(s.stop)
	}
}

// lockBlob locks the path of the blob with digest sum against concurrent
// replacement or removal, and returns the unlock function.
func (s *Store) lockBlob(sum [32]byte) func() {
	mu := &s.maint.locks[int(sum[0])%len(s.maint.locks)]
	mu.Lock()
	return mu.Unlock
}

// isUnchecked reports whether the blob with digest sum is to be hashed
// before it is served. Store.Open asks before opening the file: a digest
// that is checked stays checked, and from then on only honest files are
// put at its path.
func (s *Store) isUnchecked(sum [32]byte) bool {
	if s.maint.nUnchecked.Load() == 0 {
		return false
	}
	s.maint.mu.Lock()
	defer s.maint.mu.Unlock()
	_, ok := s.maint.unchecked[sum]
	return ok
}

// uncheck makes the blobs with the given digests unchecked: countRecords
// calls it whenever it walks the records (at Open, and when the metadata
// store is reopened), since blob files are hashed on their first read
// after every start, clean or not: bytes rot on a disk whether or not the
// process crashed.
func (s *Store) uncheck(sums map[[32]byte]struct{}) {
	s.maint.mu.Lock()
	defer s.maint.mu.Unlock()
	for sum := range sums {
		s.maint.unchecked[sum] = struct{}{}
	}
	s.maint.nUnchecked.Store(int64(len(s.maint.unchecked)))
}

// markChecked records that the file at sum's path hashed right, or is
// gone, or was replaced by an honest copy.
func (s *Store) markChecked(sum [32]byte) {
	s.maint.mu.Lock()
	delete(s.maint.unchecked, sum)
	s.maint.nUnchecked.Store(int64(len(s.maint.unchecked)))
	s.maint.mu.Unlock()
}

// uncheckedCount returns how many blobs are still to be hashed.
func (s *Store) uncheckedCount() int64 {
	s.maint.mu.Lock()
	defer s.maint.mu.Unlock()
	return int64(len(s.maint.unchecked))
}

// upkeepStats fills in what the store's upkeep found.
func (s *Store) upkeepStats(st *Stats) {
	m := s.maint
	st.CorruptBlobs = m.corrupt.Load()
	st.ScrubbedBytes = m.scrubbedBytes.Load()
	st.ScrubbedFiles = m.scrubbedFiles.Load()
	st.ScrubPasses = m.scrubPasses.Load()
	if ns := m.lastScrub.Load(); ns != 0 {
		st.LastScrubAt = time.Unix(0, ns)
	}
	st.UncheckedBlobs = s.uncheckedCount()
	st.UncleanStart = m.uncleanStart
	st.SetAside = m.setAside
	st.ExpiredEntries = m.expiredEntries.Load()
}
