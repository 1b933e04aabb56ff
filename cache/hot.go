package cache

import (
	"sync"
	"sync/atomic"
)

// Hot records: Open keeps the decoded records of small inline answers
// (.info, .mod, lists, not-found reasons, checksum-database tiles) in
// memory, so that a hit on one costs a map lookup instead of a Badger read
// transaction, a copy and a decode. The bytes are the ones Badger returned
// and decodeRecord checked (CRC-32C), never modified.
//
// A hot record is never served after its key's record changed: every
// write of a record (put, Delete, deleteIf, MarkVerified: all of them go
// through update or forget) forgets the key once its transaction has
// ended, and a reopened metadata store forgets them all. An Open that read
// Badger while a write was under way does not keep what it read: each
// write bumps gen, and Open keeps a record only if gen has not moved since
// before its read (checked under mu, where writes forget).
const (
	// hotMaxBody is the largest inline body kept hot.
	hotMaxBody = 16 << 10
	// hotMaxBytes bounds the memory of the hot records (bodies, keys and
	// an estimate of the overhead of each).
	hotMaxBytes = 4 << 20
	// hotOverhead estimates a hot record's memory besides its body and key.
	hotOverhead = 160
)

// hotRecords is the store's set of hot records.
type hotRecords struct {
	mu    sync.RWMutex
	m     map[string]*record
	bytes int64
	// gen counts the writes that forgot a key (or every key).
	gen atomic.Uint64
}

// hotSize is what a record of key costs the bound.
func hotSize(key string, r *record) int64 {
	return int64(len(key)+len(r.body)+len(r.Upstream)) + hotOverhead
}

// get returns key's hot record, or nil.
func (h *hotRecords) get(key string) *record {
	h.mu.RLock()
	r := h.m[key]
	h.mu.RUnlock()
	return r
}

// keep remembers r as key's record, read from Badger after gen was
// loaded: unless a write has forgotten anything since. When the bound is
// reached, arbitrary records are dropped to make room.
func (h *hotRecords) keep(key string, r *record, gen uint64) {
	if !r.inline || len(r.body) > hotMaxBody {
		return
	}
	n := hotSize(key, r)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.gen.Load() != gen {
		return
	}
	if h.m == nil {
		h.m = map[string]*record{}
	}
	if old := h.m[key]; old != nil {
		h.bytes -= hotSize(key, old)
	}
	for k, old := range h.m {
		if h.bytes+n <= hotMaxBytes {
			break
		}
		delete(h.m, k)
		h.bytes -= hotSize(k, old)
	}
	h.m[key] = r
	h.bytes += n
}

// forget drops key's hot record: call it after every write of key's
// record, once the write's transaction has ended, failed or not.
func (h *hotRecords) forget(key string) {
	h.mu.Lock()
	h.gen.Add(1)
	if old := h.m[key]; old != nil {
		delete(h.m, key)
		h.bytes -= hotSize(key, old)
	}
	h.mu.Unlock()
}

// clear drops every hot record: the metadata store was replaced.
func (h *hotRecords) clear() {
	h.mu.Lock()
	h.gen.Add(1)
	h.m = nil
	h.bytes = 0
	h.mu.Unlock()
}
