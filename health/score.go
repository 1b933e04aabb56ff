package health

import "time"

// Tiers of the candidate order, best first.
const (
	tierTrial   = iota // half-open, granted a trial request
	tierUsable         // closed and not held: ordered by score
	tierOut            // open, held by Retry-After, or half-open without a trial
	tierQuarant        // quarantined
)

// entry is what ordering knows of one upstream.
type entry struct {
	u     *Upstream
	tier  int
	score time.Duration
	known bool // the window holds outcomes; an unknown score is near any
}

// score is an upstream's expected cost of one attempt, given its window's
// statistics: its latency EWMA plus its error rate times FailureCost, plus
// StalePenalty if it is penalized (stale, or denying what another serves). known is false when nothing
// was reported within the window.
func score(w stats, penalized bool, cfg *Config) (cost time.Duration, known bool) {
	if w.n == 0 {
		return 0, false
	}
	lat, _ := w.latency()
	cost = lat + time.Duration(w.errorRate()*float64(cfg.FailureCost))
	if penalized {
		cost += cfg.StalePenalty
	}
	return cost, true
}

// near reports whether score b is near score a (a ≤ b): close enough for
// the user's preference to decide between them.
func near(a, b time.Duration, cfg *Config) bool {
	return float64(b) <= float64(a)*(1+cfg.NearRatio)+float64(cfg.NearMargin)
}

// beats reports whether x comes before y when only the two are compared:
// among near scores (an unknown score is near anything) the user's
// preference decides, otherwise the lower score.
func beats(x, y entry, cfg *Config) bool {
	if !x.known || !y.known {
		return x.u.Rank < y.u.Rank
	}
	lo, hi := x.score, y.score
	if hi < lo {
		lo, hi = hi, lo
	}
	if near(lo, hi, cfg) {
		return x.u.Rank < y.u.Rank
	}
	return x.score < y.score
}

// order writes the candidate order of es into dst (which must have room
// for len(es)) and returns the head of the usable tier (nil if none). es is
// reordered in place.
//
// Within the trial, out and quarantined tiers upstreams go by preference.
// Within the usable tier, each place goes to the most preferred of the
// remaining upstreams whose score is near the best remaining score, except
// that the first place stays with leader (the previous head) unless the
// challenger would still win against the leader's score improved by the
// hysteresis margins.
func order(dst []*Upstream, es []entry, leader *Upstream, cfg *Config) (head *Upstream) {
	// Sort by (tier, rank): insertion sort, the pool is small.
	for i := 1; i < len(es); i++ {
		for j := i; j > 0 && less(es[j], es[j-1]); j-- {
			es[j], es[j-1] = es[j-1], es[j]
		}
	}
	lo := 0
	for lo < len(es) && es[lo].tier < tierUsable {
		lo++
	}
	hi := lo
	for hi < len(es) && es[hi].tier == tierUsable {
		hi++
	}
	usable := es[lo:hi]
	for i := range usable {
		pickInto(usable[i:], cfg)
	}
	if len(usable) > 1 {
		keepLeader(usable, leader, cfg)
	}
	for i := range es {
		dst[i] = es[i].u
	}
	if len(usable) > 0 {
		head = usable[0].u
	}
	return head
}

func less(a, b entry) bool {
	if a.tier != b.tier {
		return a.tier < b.tier
	}
	return a.u.Rank < b.u.Rank
}

// pickInto moves the entry that should come first among es to es[0]: the
// most preferred of those whose score is near the best known score. es is
// sorted by rank, which stays true of es[1:].
func pickInto(es []entry, cfg *Config) {
	best, any := time.Duration(0), false
	for _, e := range es {
		if e.known && (!any || e.score < best) {
			best, any = e.score, true
		}
	}
	for i, e := range es {
		if !e.known || !any || near(best, e.score, cfg) {
			// Keep the rest in rank order.
			copy(es[1:i+1], es[:i])
			es[0] = e
			return
		}
	}
}

// keepLeader puts leader back in first place when the challenger there does
// not clearly beat it.
func keepLeader(es []entry, leader *Upstream, cfg *Config) {
	if leader == nil || es[0].u == leader {
		return
	}
	li := -1
	for i := range es {
		if es[i].u == leader {
			li = i
			break
		}
	}
	if li < 0 || !es[li].known {
		return
	}
	favoured := es[li]
	favoured.score = time.Duration(max(0, float64(favoured.score-cfg.HysteresisMargin)/(1+cfg.HysteresisRatio)))
	if beats(es[0], favoured, cfg) {
		return
	}
	l := es[li]
	copy(es[1:li+1], es[:li])
	es[0] = l
}
