package health

import (
	"slices"
	"time"
)

// member is one upstream of a Pool and everything the pool knows about
// it: the one place its state lives, found from the *Upstream through the
// pool's index. The pool's lock guards everything but up.
//
// Only the pool's write path (Report, SetStale, ReportDenial, and
// recomputing the candidate order) changes a member. A write first
// settles it at now, applying what the time passed since the last write
// did (breakers turning half-open, samples aging out, denials ending, with
// the State shown meanwhile), then changes it, then calls written. Readers
// look at it with view, which changes nothing and shows what a write at
// that instant would settle.
type member struct {
	up *Upstream

	win window
	br  breaker

	requests    uint64 // users' requests reported
	failures    uint64 // of them, failed
	probes      uint64 // probe requests reported
	probeFails  uint64 // of them, failed
	lastFailure FailureKind
	lastErr     error
	lastErrAt   time.Time
	stale       []string // versions it lacks while stale (see Pool.SetStale)
	// denial is the latest Denial, until the upstream serves its path or
	// a write finds it expired (see Pool.ReportDenial); readers tell
	// whether it still holds with deniedAt.
	denial *Denial

	// shown is the State shown when the member was last settled, at
	// settled, and shownSince when it began; it tells healthy from
	// degraded apart, which the breaker does not.
	shown      State
	shownSince time.Time
	settled    time.Time
	// episode is when the current episode began, as of settled: the
	// first failure of the outage while shown is down (State.Down),
	// when it last came back otherwise (see Status.EpisodeSince).
	episode time.Time
	// failStart is the first failure since the last success, zero
	// after a success: where an outage starts when the breaker opens.
	failStart time.Time
	// next is the first instant after settled at which time alone may
	// change what the member shows or how its breaker stands; zero if
	// none.
	next time.Time
}

func newMember(u *Upstream, now time.Time, cfg *Config) *member {
	return &member{
		up:         u,
		win:        newWindow(cfg.WindowSamples, cfg.Window, cfg.EWMAWeight, cfg.EWMAHalfLife),
		br:         breaker{since: now},
		shown:      StateHealthy,
		shownSince: now,
		settled:    now,
		episode:    now,
	}
}

// look is what a member shows at one instant, worked out from what it
// holds without changing it.
type look struct {
	br     breaker // the breaker as time leaves it by then
	win    stats   // the window's statistics then
	denial *Denial // the denial that holds then, if any
	state  State
}

// lookAt returns what m shows at now; an instant before m was last
// settled counts as that one.
func (m *member) lookAt(now time.Time, cfg *Config) look {
	if now.Before(m.settled) {
		now = m.settled
	}
	l := look{br: m.br}
	if l.br.advance(now, cfg) {
		// Trials start from a clean slate: the failures that opened the
		// breaker must not trip it again the moment it closes.
		l.win = m.win.none()
	} else {
		l.win = m.win.at(now)
	}
	l.denial = m.deniedAt(now, cfg)
	l.state = m.stateOf(&l, now, cfg)
	return l
}

// stateOf returns the State that l, m's look at now, shows.
func (m *member) stateOf(l *look, now time.Time, cfg *Config) State {
	switch {
	case l.br.state == quarantined:
		return StateQuarantined
	case l.br.state == open:
		return StateOpen
	case l.br.held(now):
		return StateOpen
	case l.br.state == halfOpen:
		return StateHalfOpen
	case l.br.consecutive > 0 || l.win.n > 0 && l.win.errorRate() >= cfg.DegradedErrorRate ||
		len(m.stale) > 0 || l.denial != nil:
		return StateDegraded
	default:
		return StateHealthy
	}
}

// view returns what m shows at now, since when its State has held, and
// when its current episode began (see Status.EpisodeSince); an instant
// before m was last settled counts as that one. It changes nothing.
//
// Between writes, what m shows changes only at the instants changes
// lists; view replays them from the State shown when m was settled, so
// that Since tells when the State really began, whenever the writes and
// reads happened.
func (m *member) view(now time.Time, cfg *Config) (l look, since, episode time.Time) {
	if m.next.IsZero() || now.Before(m.next) {
		// Time changed nothing since m was settled.
		return look{br: m.br, win: m.win.all(), denial: m.denial, state: m.shown}, m.shownSince, m.episode
	}
	st, since, episode := m.shown, m.shownSince, m.episode
	for _, t := range m.changes(now, cfg) {
		if s := m.lookAt(t, cfg).state; s != st {
			if s.Down() != st.Down() {
				episode = m.episodeStart(s, t)
			}
			st, since = s, t
		}
	}
	return m.lookAt(now, cfg), since, episode
}

// episodeStart is when an episode in which m shows s, entered at t,
// began: the first failure since the last success when s is down and
// that failure came no later than t, t otherwise.
func (m *member) episodeStart(s State, t time.Time) time.Time {
	if s.Down() && !m.failStart.IsZero() && !m.failStart.After(t) {
		return m.failStart
	}
	return t
}

// changes returns, in order, the instants after m was settled and up to
// now at which time alone may change what m shows: samples aging out, the
// breaker turning half-open, a hold ending, a denial expiring.
func (m *member) changes(now time.Time, cfg *Config) []time.Time {
	var ts []time.Time
	add := func(t time.Time) {
		if t.After(m.settled) && !t.After(now) {
			ts = append(ts, t)
		}
	}
	for i := range m.win.n {
		add(m.win.expiry(m.win.sample(i).at))
	}
	if m.br.state == open || m.br.state == quarantined {
		add(m.br.until)
	}
	add(m.br.holdUntil)
	if m.denial != nil {
		add(m.denialEnd(cfg))
	}
	slices.SortFunc(ts, time.Time.Compare)
	return slices.CompactFunc(ts, time.Time.Equal)
}

// settle brings m to now, which must not be before it was last settled:
// it applies what the passage of time did since, and records the State
// shown at now and since when. Every write starts with it.
func (m *member) settle(now time.Time, cfg *Config) {
	if !now.After(m.settled) {
		return
	}
	if m.next.IsZero() || now.Before(m.next) {
		m.settled = now // time changed nothing
		return
	}
	l, since, episode := m.view(now, cfg)
	if m.br.advance(now, cfg) {
		m.win.reset()
	}
	m.win.prune(now)
	m.denial = l.denial // nil once expired
	m.shown, m.shownSince, m.settled, m.episode = l.state, since, now, episode
	m.plan(now, cfg)
}

// written ends a write at now, which settled m at now first: it records
// the State that the change made shown.
func (m *member) written(now time.Time, cfg *Config) {
	l := look{br: m.br, win: m.win.all(), denial: m.denial}
	if st := m.stateOf(&l, now, cfg); st != m.shown {
		if st.Down() != m.shown.Down() {
			m.episode = m.episodeStart(st, now)
		}
		m.shown, m.shownSince = st, now
	}
	m.plan(now, cfg)
}

// plan works out m.next from m settled at now.
func (m *member) plan(now time.Time, cfg *Config) {
	next := m.deadline(now, cfg)
	if m.win.n > 0 {
		if e := m.win.expiry(m.win.sample(0).at); next.IsZero() || e.Before(next) {
			next = e
		}
	}
	m.next = next
}

// record applies one outcome at now. A 404 or any other answer with
// Failure == FailNone is a success: the upstream answered.
func (m *member) record(now time.Time, o Outcome, cfg *Config) {
	m.settle(now, cfg)
	failed := o.Failure != FailNone
	latency := noLatency
	switch {
	case o.FirstByte > 0:
		latency = o.FirstByte
	case o.Status != 0:
		latency = o.Total
	}
	switch {
	case !failed:
		m.failStart = time.Time{}
	case m.failStart.IsZero():
		m.failStart = now
	}
	m.win.add(now, latency, failed)
	switch {
	case o.Probe:
		m.probes++
		if failed {
			m.probeFails++
		}
	default:
		m.requests++
		if failed {
			m.failures++
		}
	}
	if failed {
		m.lastFailure, m.lastErr, m.lastErrAt = o.Failure, o.Err, now
	}
	m.served(o)
	all := m.win.all()
	m.br.record(now, cfg, o, all.errorRate(), all.n)
	m.written(now, cfg)
}

// setStale records at now which versions m lacks (see Pool.SetStale).
func (m *member) setStale(now time.Time, missing []string, cfg *Config) {
	m.settle(now, cfg)
	m.stale = slices.Clone(missing)
	m.written(now, cfg)
}

// deadline is the next instant after now at which time alone changes
// what m's breaker says or ends its denial, zero if none.
func (m *member) deadline(now time.Time, cfg *Config) time.Time {
	d := m.br.deadline(now, cfg)
	if m.denial != nil {
		if end := m.denialEnd(cfg); end.After(now) && (d.IsZero() || end.Before(d)) {
			d = end
		}
	}
	return d
}

// penalized reports whether m scores Config.StalePenalty worse at now: it
// is stale, or it denied a path another upstream served (one penalty for
// either or both).
func (m *member) penalized(now time.Time, cfg *Config) bool {
	return len(m.stale) > 0 || m.deniedAt(now, cfg) != nil
}
