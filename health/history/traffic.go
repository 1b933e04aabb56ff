package history

import "time"

// TrafficPoint is how users' requests were shared among the upstreams in
// one interval.
type TrafficPoint struct {
	// At is when the interval starts.
	At time.Time
	// Total counts all upstreams' requests in the interval.
	Total uint64
	// Share maps each upstream that had requests in the interval to its
	// share of Total, in (0, 1]; it is empty when Total is 0.
	Share map[string]float64
}

// Traffic returns, for each interval of the range and tier Series would
// use, each upstream's share of the users' requests in it: its Requests
// divided by all upstreams' Requests.
func (h *History) Traffic(since, now time.Time) []TrafficPoint {
	h.mu.RLock()
	defer h.mu.RUnlock()
	ti, first, last, ok := h.span(since, now)
	if !ok {
		return nil
	}
	out := make([]TrafficPoint, 0, last-first+1)
	for n := first; n <= last; n++ {
		tp := TrafficPoint{At: time.Unix(0, n*int64(h.tiers[ti].step)).UTC(), Share: map[string]float64{}}
		for _, s := range h.ups {
			tp.Total += s.rings[ti].requests(n)
		}
		if tp.Total > 0 {
			for name, s := range h.ups {
				if r := s.rings[ti].requests(n); r > 0 {
					tp.Share[name] = float64(r) / float64(tp.Total)
				}
			}
		}
		out = append(out, tp)
	}
	return out
}

// TrafficShare returns each upstream's share of all users' requests over
// the range and tier Series would use; upstreams without requests in it
// are left out, and the result is empty when there were none.
func (h *History) TrafficShare(since, now time.Time) map[string]float64 {
	h.mu.RLock()
	defer h.mu.RUnlock()
	out := map[string]float64{}
	ti, first, last, ok := h.span(since, now)
	if !ok {
		return out
	}
	var total uint64
	per := make(map[string]uint64, len(h.ups))
	for name, s := range h.ups {
		for n := first; n <= last; n++ {
			r := s.rings[ti].requests(n)
			per[name] += r
			total += r
		}
	}
	for name, r := range per {
		if r > 0 {
			out[name] = float64(r) / float64(total)
		}
	}
	return out
}
