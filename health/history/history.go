// Package history owns the time series of upstream health: what the pool's
// snapshots showed of each upstream, sampled every few seconds, kept at two
// resolutions in fixed-size rings, and saved in a small key/value store so
// that plots and alert windows survive a restart.
//
// A History records []health.Status as taken from health.Pool.Snapshot
// (Run does so on a timer; Record does it once, for tests). Each snapshot
// of an upstream is aggregated into the point of the fine tier (default
// 10s, kept 6h) and into the point of the coarse tier (default 5m, kept 14
// days) that hold its time; see Point for how. The pool's counters are
// cumulative, so each snapshot contributes their increase since the
// previous one; counters that went down (a new pool) count from zero. The
// first snapshot of an upstream after New also counts from zero: the pool
// counts since its creation, which is expected to be the process start.
//
// Memory and stored size are bounded whatever the uptime: each tier of each
// upstream is a ring of a fixed number of points, and an upstream that
// stops appearing in snapshots is kept until all its data has aged out of
// the longest tier, then dropped, from the store as well.
package history

import (
	"cmp"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// History is the health time series of every upstream seen. It is safe for
// concurrent use: queries may run while Record and Save do.
type History struct {
	cfg   Config
	log   *slog.Logger
	tiers []tier

	mu  sync.RWMutex
	ups map[string]*series
	// dropped holds the names of the store values of upstreams dropped
	// since the last save, to be emptied by the next.
	dropped map[string]bool

	// saveMu serializes saves and guards stored.
	saveMu sync.Mutex
	// stored holds the bytes last read from or written to each store value
	// (absent when empty), the old value of the next compare-and-swap.
	stored map[string][]byte
}

// series is one upstream's history.
type series struct {
	name     string
	rank     int       // health.Upstream.Rank when last seen
	lastSeen time.Time // latest snapshot of it, zero if none
	rings    []*ring   // one per tier, finest first
	prev     counters  // its counters in the latest snapshot
	hasPrev  bool      // whether prev was taken in this process
}

// counters are the cumulative counters of a health.Status.
type counters struct {
	requests, failures, probes, probeFailures uint64
}

// New returns a History configured by cfg, with zero fields taking their
// defaults, holding what cfg.Store kept. Stored history that cannot be read
// or decoded is logged and left out: the History then starts (partly)
// empty.
func New(cfg Config) *History {
	cfg = cfg.withDefaults()
	h := &History{
		cfg:     cfg,
		log:     cfg.Logger,
		tiers:   cfg.tiers(),
		ups:     make(map[string]*series),
		dropped: make(map[string]bool),
		stored:  make(map[string][]byte),
	}
	h.load()
	return h
}

// newSeries returns an empty series of the upstream named name.
func (h *History) newSeries(name string) *series {
	s := &series{name: name, rings: make([]*ring, len(h.tiers))}
	for i, t := range h.tiers {
		s.rings[i] = newRing(t)
	}
	return s
}

// Upstreams returns the names of the upstreams that have history, in the
// user's preference order as last seen (Rank), ties by name. Upstreams no
// longer configured stay listed until their data has aged out.
func (h *History) Upstreams() []string {
	h.mu.RLock()
	defer h.mu.RUnlock()
	list := make([]*series, 0, len(h.ups))
	for _, s := range h.ups {
		list = append(list, s)
	}
	slices.SortFunc(list, func(a, b *series) int {
		return cmp.Or(cmp.Compare(a.rank, b.rank), cmp.Compare(a.name, b.name))
	})
	names := make([]string, len(list))
	for i, s := range list {
		names[i] = s.name
	}
	return names
}

// longestKeep is how far back the longest tier reaches.
func (h *History) longestKeep() time.Duration {
	var d time.Duration
	for _, t := range h.tiers {
		d = max(d, t.keep())
	}
	return d
}
