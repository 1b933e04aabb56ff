package history

import "time"

// segmentLen is the number of slots kept in one store value. With every
// field at its largest, a segment encodes to about 45 KB, below the 64 KiB
// the cache allows a value (see TestSegmentFitsInAValue).
const segmentLen = 360

// ring is one tier of one upstream: a fixed array of slots where the
// interval n lives in slot n mod capacity. A slot holding an older interval
// than the one asked for is a gap, so gaps need no writing, and memory is
// fixed at creation whatever the uptime.
type ring struct {
	tier  tier
	slots []slot
	// dirty marks the segments changed since they were last saved.
	dirty []bool
}

// newRing returns an empty ring of t.
func newRing(t tier) *ring {
	return &ring{
		tier:  t,
		slots: make([]slot, t.capacity),
		dirty: make([]bool, segments(t.capacity)),
	}
}

// segments returns the number of segments of a ring of capacity slots.
func segments(capacity int) int {
	return (capacity + segmentLen - 1) / segmentLen
}

// interval returns the interval of the ring's tier that holds t, which is
// not before the Unix epoch.
func (r *ring) interval(t time.Time) int64 {
	return t.UnixNano() / int64(r.tier.step)
}

// start returns when interval n starts.
func (r *ring) start(n int64) time.Time {
	return time.Unix(0, n*int64(r.tier.step)).UTC()
}

// add aggregates s into interval n, n ≥ 0, replacing whatever other
// interval the slot held.
func (r *ring) add(n int64, s sample) {
	i := int(n % int64(len(r.slots)))
	sl := &r.slots[i]
	if sl.samples == 0 || sl.n != n {
		*sl = slot{n: n}
	}
	sl.add(s)
	r.dirty[i/segmentLen] = true
}

// point returns the Point of interval n, n ≥ 0: Empty if the ring does not
// hold it.
func (r *ring) point(n int64) Point {
	sl := &r.slots[n%int64(len(r.slots))]
	if sl.samples == 0 || sl.n != n {
		return Point{At: r.start(n), Empty: true}
	}
	return sl.point(r.start(n))
}

// requests returns the users' requests counted in interval n, n ≥ 0.
func (r *ring) requests(n int64) uint64 {
	sl := &r.slots[n%int64(len(r.slots))]
	if sl.samples == 0 || sl.n != n {
		return 0
	}
	return sl.requests
}
