package history

import "time"

// Series returns the points of upstream from the one holding since to the
// one holding now, oldest first, one per interval, gaps included as Empty
// points. It uses the fine tier when it reaches back to since, else the
// coarse one, and starts no earlier than that tier reaches. It returns nil
// for an unknown upstream or when since is after now.
func (h *History) Series(upstream string, since, now time.Time) []Point {
	h.mu.RLock()
	defer h.mu.RUnlock()
	s := h.ups[upstream]
	ti, first, last, ok := h.span(since, now)
	if s == nil || !ok {
		return nil
	}
	r := s.rings[ti]
	out := make([]Point, 0, last-first+1)
	for n := first; n <= last; n++ {
		out = append(out, r.point(n))
	}
	return out
}

// span returns the tier for the range from since to now, the finest that
// reaches back to since or else the one that reaches furthest, and the
// first and last of its intervals to show; ok is false when there are none
// (since after now, or now before the Unix epoch).
func (h *History) span(since, now time.Time) (ti int, first, last int64, ok bool) {
	if since.After(now) || now.Before(time.Unix(0, 0)) {
		return 0, 0, 0, false
	}
	ti = -1
	for i, t := range h.tiers {
		if !since.Before(now.Add(-t.keep())) && (ti < 0 || t.step < h.tiers[ti].step) {
			ti = i
		}
	}
	if ti < 0 {
		for i, t := range h.tiers {
			if ti < 0 || t.keep() > h.tiers[ti].keep() {
				ti = i
			}
		}
	}
	step := int64(h.tiers[ti].step)
	last = now.UnixNano() / step
	first = last - int64(h.tiers[ti].capacity) + 1
	if since.After(time.Unix(0, first*step)) {
		first = since.UnixNano() / step
	}
	return ti, max(first, 0), last, true
}
