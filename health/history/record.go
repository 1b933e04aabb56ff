package history

import (
	"time"

	"github.com/gofailover/gofailover/health"
)

// maxNameLen bounds an upstream name, so that every stored value stays
// small; statuses of upstreams with longer names are not recorded.
const maxNameLen = 4096

// Record aggregates the snapshot statuses, taken at now, into the points
// holding now, and drops the upstreams not seen for longer than the
// longest tier reaches. Statuses without an Upstream, or whose name is
// empty or longer than 4096 bytes, are skipped; a time before the Unix
// epoch is ignored.
func (h *History) Record(now time.Time, statuses []health.Status) {
	if now.Before(time.Unix(0, 0)) {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, st := range statuses {
		if st.Upstream == nil || st.Upstream.Name == "" || len(st.Upstream.Name) > maxNameLen {
			continue
		}
		s := h.ups[st.Upstream.Name]
		if s == nil {
			s = h.newSeries(st.Upstream.Name)
			h.ups[s.name] = s
		}
		s.rank = st.Upstream.Rank
		if now.After(s.lastSeen) {
			s.lastSeen = now
		}
		smp := newSample(st, s.increments(st))
		for _, r := range s.rings {
			r.add(r.interval(now), smp)
		}
	}
	h.prune(now)
}

// increments returns how much st's counters rose since the previous
// snapshot, and remembers them. Counters of which any went down belong to
// a new pool and count from zero, as do those of the first snapshot.
func (s *series) increments(st health.Status) counters {
	cur := counters{st.Requests, st.Failures, st.Probes, st.ProbeFailures}
	prev, had := s.prev, s.hasPrev
	s.prev, s.hasPrev = cur, true
	if !had || cur.requests < prev.requests || cur.failures < prev.failures ||
		cur.probes < prev.probes || cur.probeFailures < prev.probeFailures {
		return cur
	}
	return counters{
		requests:      cur.requests - prev.requests,
		failures:      cur.failures - prev.failures,
		probes:        cur.probes - prev.probes,
		probeFailures: cur.probeFailures - prev.probeFailures,
	}
}

// prune drops the upstreams last seen longer ago than the longest tier
// reaches, and marks their store values for emptying. h.mu is held.
func (h *History) prune(now time.Time) {
	cutoff := now.Add(-h.longestKeep())
	for name, s := range h.ups {
		if s.lastSeen.Before(cutoff) {
			delete(h.ups, name)
			if h.cfg.Store == nil {
				continue
			}
			for i, r := range s.rings {
				for j := range r.dirty {
					h.dropped[h.segmentKey(name, i, j)] = true
				}
			}
		}
	}
}
