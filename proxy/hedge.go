package proxy

import (
	"context"
	"sync"
	"time"

	"github.com/gofailover/gofailover/health"
	"github.com/gofailover/gofailover/proxy/protocol"
)

// Hedging defaults.
const (
	DefaultHedgeFloor   = 100 * time.Millisecond
	DefaultHedgeCeiling = 2 * time.Second
	DefaultHedgeBudget  = 0.1
	DefaultHedgeBurst   = 16
)

// latencies is what a Router may also offer: an upstream's recent p95 time
// to first byte, from which the hedge delay is derived.
type latencies interface {
	LatencyP95(u *health.Upstream) (time.Duration, bool)
}

// hedgeDelay is how long an attempt on u may go without a response header
// before the same request goes to the next candidate too: u's recent p95,
// within the floor and ceiling. When nothing is known of u (it has not
// answered yet: just after start, or it never answers), u is expected to
// answer about as fast as the slowest of the upstreams that have: their
// highest p95. The ceiling when nothing is known of any.
func (h *Handler) hedgeDelay(req *protocol.Request, u *health.Upstream) time.Duration {
	return h.upstreamHedgeDelay(h.router(req), u)
}

// upstreamHedgeDelay is hedgeDelay for an upstream of router.
func (h *Handler) upstreamHedgeDelay(router Router, u *health.Upstream) time.Duration {
	l, ok := router.(latencies)
	if !ok {
		return h.cfg.HedgeCeiling
	}
	p95, known := l.LatencyP95(u)
	if !known {
		for _, peer := range router.Upstreams() {
			if d, ok := l.LatencyP95(peer); ok && (!known || d > p95) {
				p95, known = d, true
			}
		}
	}
	if !known {
		return h.cfg.HedgeCeiling
	}
	return min(max(p95, h.cfg.HedgeFloor), h.cfg.HedgeCeiling)
}

// fetchHedged asks the candidates for req. It starts on the first; when
// that has not started answering within its hedge delay, the same request
// goes to the next candidate as well (within the hedge budget), and so on.
// The first usable answer wins and the others are cancelled. A failed
// attempt moves on to the next candidate at once.
//
// Mutable answers (lists, @latest) are hedged as well as immutable ones:
// they are small and held in memory, and they are the go command's first
// requests, so a mirror that has stopped answering would otherwise cost
// each of them the whole first-byte timeout until its breaker opens.
//
// A prefetch (job not nil) is not hedged, and its attempts take only
// request slots users' requests can spare.
func (h *Handler) fetchHedged(req *protocol.Request, candidates []*health.Upstream, job *prefetchJob) *answer {
	ctx, cancel := context.WithCancel(h.base)
	defer cancel()
	type done struct {
		u      *health.Upstream
		got    attemptResult
		hedged bool
	}
	results := make(chan done, len(candidates))
	headers := make(chan struct{}, len(candidates))
	next, running := 0, 0
	launch := func(hedged bool) {
		u := candidates[next]
		next++
		running++
		h.hedges.attempt(hedged)
		h.stats.attempt(hedged)
		last := next == len(candidates)
		go func() { results <- done{u, h.attempt(ctx, u, req, last, hedged, job != nil, headers), hedged} }()
	}

	var (
		tally     attemptTally
		winner    *done
		final     *answer
		answering bool // an attempt has its response header: no more hedging
		enough    bool // a "not found" is in hand and the rest are too slow
	)
	launch(false)
	timer := time.NewTimer(h.hedgeDelay(req, candidates[0]))
	defer timer.Stop()
	for running > 0 && winner == nil && final == nil && !enough {
		select {
		case d := <-results:
			running--
			if d.got.ok() {
				winner = &d
				if d.hedged {
					h.stats.hedgeWon()
					h.log.Debug("hedged request won", "upstream", d.u.Name, "key", req.Path)
				}
				break
			}
			final = tally.add(d.u, d.got)
			if final == nil && running == 0 && next < len(candidates) && ctx.Err() == nil {
				launch(false)
				answering = false
				timer.Reset(h.hedgeDelay(req, candidates[next-1]))
			}
		case <-headers:
			answering = true
		case <-timer.C:
			switch {
			case answering:
			case next < len(candidates) && job == nil && h.hedges.allow():
				h.log.Debug("hedging: no answer yet", "key", req.Path, "waiting_on", candidates[next-1].Name, "next", candidates[next].Name)
				launch(true)
				timer.Reset(h.hedgeDelay(req, candidates[next-1]))
			case len(tally.notFound) > 0:
				// An upstream has said the answer does not exist; the
				// others are asked only for a second opinion, which is
				// not worth waiting for beyond their usual time (the go
				// command probes many module paths that do not exist).
				h.log.Debug("giving up on a second opinion: not found already", "key", req.Path, "waiting_on", candidates[next-1].Name)
				enough = true
			case next < len(candidates):
				// The budget is spent for now; other requests refill it.
				// Look again after another delay rather than waiting
				// for the first-byte timeout.
				timer.Reset(h.hedgeDelay(req, candidates[next-1]))
			}
		}
	}
	// The losers are cancelled; their partial bodies are thrown away.
	cancel()
	for ; running > 0; running-- {
		if d := <-results; d.got.blob != nil {
			d.got.blob.Discard()
		}
	}
	switch {
	case winner != nil:
		h.reportDenials(req, tally, winner.u)
		return h.commit(req, winner.u, winner.got, job)
	case final != nil:
		return final
	}
	return h.conclude(req, tally)
}

// hedgeBudget keeps hedged requests to a share of all upstream attempts
// over about the last minute, plus a burst: a few hedges that need no
// plain attempts to pay for them, so that the first requests after a start
// or a quiet spell can hedge around a mirror that stopped answering. A nil
// budget allows no hedge.
type hedgeBudget struct {
	ratio float64
	burst int
	now   func() time.Time

	mu           sync.Mutex
	start        time.Time // of the current one-minute bucket
	attempts     int       // in the current bucket
	hedges       int
	prevAttempts int // in the previous bucket
	prevHedges   int
}

// rotate moves to a new bucket when the current one is a minute old.
func (b *hedgeBudget) rotate(now time.Time) {
	switch age := now.Sub(b.start); {
	case age >= 2*time.Minute:
		b.start, b.prevAttempts, b.prevHedges, b.attempts, b.hedges = now, 0, 0, 0, 0
	case age >= time.Minute:
		b.start, b.prevAttempts, b.prevHedges, b.attempts, b.hedges = now, b.attempts, b.hedges, 0, 0
	}
}

// attempt counts one upstream attempt, hedged or not.
func (b *hedgeBudget) attempt(hedged bool) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.rotate(b.now())
	b.attempts++
	if hedged {
		b.hedges++
	}
}

// allow reports whether one more hedge keeps hedges within the ratio of
// the attempts that are not hedges, plus the burst.
func (b *hedgeBudget) allow() bool {
	if b == nil {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.rotate(b.now())
	hedges := b.hedges + b.prevHedges
	plain := b.attempts + b.prevAttempts - hedges
	return float64(hedges+1) <= b.ratio*float64(plain)+float64(b.burst)
}
