package health

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Pool routes requests to the healthiest upstreams. It implements the
// proxy's Router: Candidates gives the order to try the upstreams in, and
// Report feeds every attempt's outcome back into each upstream's health
// state (statistics over a sliding window, a circuit breaker, quarantine and
// Retry-After holds); SetStale and ReportDenial mark an upstream that
// lacks, or refuses, what its peers serve.
//
// The order puts first an upstream whose breaker is half-open and may take
// a trial request, then the usable upstreams by score (see Config), then
// open, held and half-open ones without a free trial, then quarantined ones:
// every upstream is always returned, so that when nothing else is left the
// worst ones are still tried.
//
// A Pool is safe for concurrent use. Candidates reuses one computed order
// until a Report, a breaker or hold deadline, or Config.Refresh passes.
//
// Only writes change a Pool: Report, SetStale, ReportDenial and
// Candidates (which
// grants trials, and is where time alone moves breakers along). Reads
// (Snapshot, LatencyP95) work out what the pool shows at the time of the
// call without changing anything, so that however often a status page or
// a metrics scrape looks, the pool behaves and shows the same.
type Pool struct {
	cfg     Config
	clock   Clock
	ups     []*Upstream
	members []*member // members[i].up is ups[i]
	// byUp finds an upstream's member. It, ups and members are fixed by
	// NewPool and read without the lock. (The state cannot hang off the
	// *Upstream itself: one upstream may be in several pools.)
	byUp map[*Upstream]*member

	// mu guards the members and the scratch below. Writers (Report,
	// SetStale, ReportDenial, recompute) lock it; readers (Snapshot, LatencyP95), which
	// change nothing, share it.
	mu     sync.RWMutex
	leader *Upstream   // head of the usable tier last time
	es     []entry     // scratch for order
	buf    []*Upstream // scratch for order

	// The current order, read without the lock: valid while fresh and
	// before until (Unix nanoseconds).
	cur   atomic.Pointer[[]*Upstream]
	until atomic.Int64
	fresh atomic.Bool

	observer atomic.Pointer[observerBox]
}

// Observer hears of every outcome a Pool records, such as metrics that
// count upstream requests. Observe must be quick and must not call the
// Pool.
type Observer interface {
	Observe(u *Upstream, o Outcome)
}

// observerBox holds an Observer for an atomic pointer.
type observerBox struct{ Observer }

// SetObserver makes o hear of every outcome reported from now on; nil
// stops it.
func (p *Pool) SetObserver(o Observer) {
	if o == nil {
		p.observer.Store(nil)
		return
	}
	p.observer.Store(&observerBox{o})
}

// NewPool returns a Pool over ups, whose Rank fields give the user's
// preference. Zero fields of cfg take their defaults (DefaultConfig); a nil
// clock means SystemClock.
func NewPool(ups []*Upstream, cfg Config, clock Clock) *Pool {
	if clock == nil {
		clock = SystemClock{}
	}
	cfg = cfg.withDefaults()
	now := clock.Now()
	p := &Pool{
		cfg:     cfg,
		clock:   clock,
		ups:     append([]*Upstream(nil), ups...),
		members: make([]*member, len(ups)),
		byUp:    make(map[*Upstream]*member, len(ups)),
		es:      make([]entry, len(ups)),
		buf:     make([]*Upstream, len(ups)),
	}
	for i, u := range p.ups {
		p.members[i] = newMember(u, now, &p.cfg)
		p.byUp[u] = p.members[i]
	}
	return p
}

// Candidates returns every upstream, best first. The caller must not modify
// the slice. An upstream placed first for a half-open trial counts as having
// been sent one until its outcome is reported (or Config.TrialTimeout
// passes), so call Candidates only to make requests.
func (p *Pool) Candidates() []*Upstream {
	if p.fresh.Load() {
		if p.clock.Now().UnixNano() < p.until.Load() {
			return *p.cur.Load()
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.recompute(p.clock.Now())
}

// Report records the outcome of one request to u. Outcomes for upstreams
// not in the pool are ignored.
func (p *Pool) Report(u *Upstream, o Outcome) {
	m := p.byUp[u]
	if m == nil {
		return
	}
	p.mu.Lock()
	// The clock is read under the lock, so that the writes' times never
	// go back.
	m.record(p.clock.Now(), o, &p.cfg)
	p.fresh.Store(false)
	p.mu.Unlock()
	if obs := p.observer.Load(); obs != nil {
		obs.Observe(u, o)
	}
}

// SetStale records that u's list of the probe module lacks the given
// versions, which another upstream lists; nil or empty means u is up to
// date again. A stale upstream scores Config.StalePenalty worse and shows
// as degraded.
func (p *Pool) SetStale(u *Upstream, missing []string) {
	m := p.byUp[u]
	if m == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	m.setStale(p.clock.Now(), missing, &p.cfg)
	p.fresh.Store(false)
}

// Upstreams returns the pool's upstreams in the order given to NewPool.
// The caller must not modify the slice.
func (p *Pool) Upstreams() []*Upstream { return p.ups }

// recompute works out the order at now, granting a trial to a half-open
// upstream when one may take it, and publishes it. It is the write path
// that time alone takes: it settles every member at now. p.mu is held.
func (p *Pool) recompute(now time.Time) []*Upstream {
	cfg := &p.cfg
	var deadline time.Time
	granted := false
	for i, s := range p.members {
		s.settle(now, cfg)
		e := entry{u: s.up}
		switch {
		case s.br.state == quarantined:
			e.tier = tierQuarant
		case s.br.held(now):
			e.tier = tierOut
		case s.br.state == open:
			e.tier = tierOut
		case s.br.state == halfOpen:
			e.tier = tierOut
			if !granted && s.br.canTrial(cfg) {
				// One trial per call, so that concurrent fetches do not
				// all land on a mirror that may still be failing.
				s.br.grant(now)
				s.written(now, cfg)
				e.tier, granted = tierTrial, true
			}
		default:
			e.tier = tierUsable
			e.score, e.known = score(s.win.all(), s.penalized(now, cfg), cfg)
		}
		if d := s.deadline(now, cfg); !d.IsZero() && (deadline.IsZero() || d.Before(deadline)) {
			deadline = d
		}
		p.es[i] = e
	}
	p.leader = order(p.buf, p.es, p.leader, cfg)

	until := now.Add(cfg.Refresh)
	if !deadline.IsZero() && deadline.Before(until) {
		until = deadline
	}
	cur := p.cur.Load()
	if cur == nil || !slices.Equal(*cur, p.buf) {
		list := append([]*Upstream(nil), p.buf...)
		cur = &list
		p.cur.Store(cur)
	}
	p.until.Store(until.UnixNano())
	// An order that grants a trial is used once: the next call decides
	// afresh whether another trial is allowed.
	p.fresh.Store(!granted)
	return *cur
}
