package history

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// ValueStore keeps small named values, such as gofailover's cache store
// (through an adapter that translates its errors into these).
//
// ReadValue returns the named value; for a value never written it returns
// nil, or an error wrapping ErrNotFound. SwapValue replaces the named
// value with new if it equals old (an absent value equals an empty old),
// and returns an error wrapping ErrConflict otherwise. Any other error is
// a failure of the store.
type ValueStore interface {
	ReadValue(name string) ([]byte, error)
	SwapValue(name string, old, new []byte) error
}

// ErrNotFound is what a ValueStore's ReadValue may return, wrapped or
// not, for a value never written.
var ErrNotFound = errors.New("history: stored value not found")

// ErrConflict is what a ValueStore's SwapValue returns, wrapped or not,
// when the stored value is not the old one given.
var ErrConflict = errors.New("history: stored value changed concurrently")

// The layout in the store: the value Config.Key lists the upstreams (name,
// rank, when last seen); the value "<Key>/<tier>/<segment>/<name>" holds
// one segment of segmentLen points of one tier of the upstream name, tier 0
// being the fine one. Every value carries a version and a CRC32, and a
// segment says which upstream, tier layout and segment it holds, so that a
// corrupt, stray or outdated value is recognized and left out.

// segmentKey returns the name of the store value of segment seg of tier ti
// of upstream name.
func (h *History) segmentKey(name string, ti, seg int) string {
	return h.cfg.Key + "/" + strconv.Itoa(ti) + "/" + strconv.Itoa(seg) + "/" + name
}

// read returns the named store value, nil if it is absent, and remembers
// it as the old value of the next swap.
func (h *History) read(name string) ([]byte, error) {
	b, err := h.cfg.Store.ReadValue(name)
	if errors.Is(err, ErrNotFound) {
		b, err = nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("history: reading stored value %q: %w", name, err)
	}
	if len(b) == 0 {
		delete(h.stored, name)
		return nil, nil
	}
	h.stored[name] = b
	return b, nil
}

// load fills h with what the store holds, logging and leaving out what
// cannot be read or decoded. It runs before h is shared.
func (h *History) load() {
	if h.cfg.Store == nil {
		return
	}
	b, err := h.read(h.cfg.Key)
	if err != nil {
		h.log.Warn("stored health history cannot be read; starting empty", "err", err)
		return
	}
	if b == nil {
		return
	}
	m, err := decodeManifest(b)
	if err != nil {
		h.log.Warn("stored health history is unreadable; starting empty", "key", h.cfg.Key, "err", err)
		return
	}
	for _, e := range m {
		if e.name == "" || len(e.name) > maxNameLen || h.ups[e.name] != nil {
			continue
		}
		s := h.newSeries(e.name)
		s.rank, s.lastSeen = e.rank, time.Unix(0, e.lastSeen)
		h.ups[e.name] = s
		for ti, r := range s.rings {
			for seg := range r.dirty {
				h.loadSegment(s, ti, seg)
			}
		}
	}
}

// loadSegment fills segment seg of tier ti of s from the store.
func (h *History) loadSegment(s *series, ti, seg int) {
	key := h.segmentKey(s.name, ti, seg)
	b, err := h.read(key)
	if err != nil {
		h.log.Warn("stored health history cannot be read; leaving it out", "err", err)
		return
	}
	if b == nil {
		return
	}
	sg, err := decodeSegment(b)
	if err != nil {
		h.log.Warn("stored health history is unreadable; leaving it out", "key", key, "err", err)
		return
	}
	r := s.rings[ti]
	if sg.name != s.name || sg.index != seg {
		h.log.Warn("stored health history is misplaced; leaving it out", "key", key, "upstream", sg.name, "segment", sg.index)
		return
	}
	if sg.step != r.tier.step || sg.capacity != r.tier.capacity {
		h.log.Info("stored health history has another resolution; leaving it out", "key", key,
			"step", sg.step, "points", sg.capacity)
		return
	}
	for _, sl := range sg.slots {
		r.slots[sl.n%int64(len(r.slots))] = sl
	}
}

// Save writes to the store what changed since the last save: the segments
// of points changed, the upstream list, and empty values in place of the
// segments of dropped upstreams. It stops early, with an error, when ctx is
// done; what was not written is written by the next save. Without a store
// it does nothing.
func (h *History) Save(ctx context.Context) error {
	if h.cfg.Store == nil {
		return nil
	}
	h.saveMu.Lock()
	defer h.saveMu.Unlock()
	writes := h.changes()
	var errs []error
	for i, w := range writes {
		if err := ctx.Err(); err != nil {
			h.unsaved(writes[i:])
			errs = append(errs, fmt.Errorf("history: saving to the store: %w", err))
			break
		}
		if err := h.swap(w.key, w.value); err != nil {
			h.unsaved(writes[i : i+1])
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// write is one store value to write.
type write struct {
	key   string
	value []byte
	// What the value holds, to be marked unsaved if writing it fails: a
	// segment of up, or one of a dropped upstream, or (neither) the
	// upstream list, which each save compares with what is stored.
	up      *series
	ti, seg int
	dropped bool
}

// changes returns the writes of a save, the upstream list last, and
// clears the marks of what they cover.
func (h *History) changes() []write {
	h.mu.Lock()
	defer h.mu.Unlock()
	var ws []write
	for key := range h.dropped {
		ws = append(ws, write{key: key, dropped: true})
	}
	clear(h.dropped)
	m := make(manifest, 0, len(h.ups))
	for _, s := range h.ups {
		m = append(m, manifestEntry{name: s.name, rank: s.rank, lastSeen: s.lastSeen.UnixNano()})
		for ti, r := range s.rings {
			for seg, d := range r.dirty {
				if d {
					ws = append(ws, write{key: h.segmentKey(s.name, ti, seg), value: r.encodeSegment(s.name, seg),
						up: s, ti: ti, seg: seg})
					r.dirty[seg] = false
				}
			}
		}
	}
	ws = append(ws, write{key: h.cfg.Key, value: m.encode()})
	return ws
}

// unsaved marks what ws cover as changed again, so that the next save
// retries them.
func (h *History) unsaved(ws []write) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, w := range ws {
		switch {
		case w.dropped:
			h.dropped[w.key] = true
		case w.up != nil && h.ups[w.up.name] == w.up:
			w.up.rings[w.ti].dirty[w.seg] = true
		}
	}
}

// swap writes value under key, unless the store already holds it. If the
// store holds something other than what h last read or wrote, it is
// logged and overwritten: the History owns its values. h.saveMu is held.
func (h *History) swap(key string, value []byte) error {
	old := h.stored[key]
	if bytes.Equal(old, value) {
		return nil
	}
	err := h.cfg.Store.SwapValue(key, old, value)
	if errors.Is(err, ErrConflict) {
		h.log.Warn("stored health history was changed by someone else; overwriting it", "key", key)
		cur, rerr := h.cfg.Store.ReadValue(key)
		if rerr != nil && !errors.Is(rerr, ErrNotFound) {
			return fmt.Errorf("history: saving %q: rereading it after a conflict: %w", key, rerr)
		}
		err = h.cfg.Store.SwapValue(key, cur, value)
	}
	if err != nil {
		return fmt.Errorf("history: saving %q: %w", key, err)
	}
	if len(value) == 0 {
		delete(h.stored, key)
	} else {
		h.stored[key] = value
	}
	return nil
}
