package sharedtier

import (
	"sync"
	"sync/atomic"

	"github.com/gofailover/gofailover/health"
)

// counters counts what the tier did.
type counters struct {
	hits, misses, bypassed, errors atomic.Int64
	bytesRead, bytesWritten        atomic.Int64
	uploaded, present, failed      atomic.Int64
	dropped, corrupt, abandoned    atomic.Int64
}

// Stats is what the tier has done since it started, and how the store
// stands.
type Stats struct {
	// Health is the store's health, as its breaker sees it.
	Health health.Status
	// Hits and Misses count reads that found an object or none; Bypassed
	// counts calls not made because the store was down; Errors counts
	// calls (and body reads) that failed; Abandoned counts reads given
	// up because the store was slower than the mirrors.
	Hits, Misses, Bypassed, Errors, Abandoned int64
	// BytesRead and BytesWritten count body bytes read from and uploaded
	// to the store.
	BytesRead, BytesWritten int64
	// Uploaded counts answers uploaded; Present those found already
	// stored (by another replica, or earlier); Failed those given up
	// after their retries; Dropped those refused by a full queue.
	Uploaded, Present, Failed, Dropped int64
	// Corrupt counts objects that failed the checks or verification, or
	// held other bytes than a verified answer, and were deleted.
	Corrupt int64
	// Queue is how many uploads wait or run.
	Queue int
}

// Stats returns what the tier has done and how the store stands. It
// changes nothing.
func (t *Tier) Stats() Stats {
	return Stats{
		Health:       t.pool.Snapshot()[0],
		Hits:         t.stats.hits.Load(),
		Misses:       t.stats.misses.Load(),
		Bypassed:     t.stats.bypassed.Load(),
		Errors:       t.stats.errors.Load(),
		Abandoned:    t.stats.abandoned.Load(),
		BytesRead:    t.stats.bytesRead.Load(),
		BytesWritten: t.stats.bytesWritten.Load(),
		Uploaded:     t.stats.uploaded.Load(),
		Present:      t.stats.present.Load(),
		Failed:       t.stats.failed.Load(),
		Dropped:      t.stats.dropped.Load(),
		Corrupt:      t.stats.corrupt.Load(),
		Queue:        t.queue.depth(),
	}
}

// maxGood bounds the objects remembered as verified; past it the memory
// starts afresh (an object forgotten is only not redirected to).
const maxGood = 1 << 16

// goodObjects remembers the entity tags of objects known to hold verified
// bytes: those this replica uploaded, or read and verified.
type goodObjects struct {
	mu   sync.Mutex
	tags map[string]string
}

func (g *goodObjects) add(path, etag string) {
	if etag == "" {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.tags == nil || len(g.tags) >= maxGood {
		g.tags = make(map[string]string)
	}
	g.tags[path] = etag
}

func (g *goodObjects) get(path string) (string, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	etag, ok := g.tags[path]
	return etag, ok
}

func (g *goodObjects) forget(path string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.tags, path)
}
