package health

import "time"

// member is one upstream of a Pool and everything the pool knows about
// it: the one place its state lives, found from the *Upstream through the
// pool's index. The pool's lock guards everything but up.
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

	// shown is the State last shown, and since when it has held; it tells
	// healthy from degraded apart, which the breaker does not.
	shown      State
	shownSince time.Time
}

func newMember(u *Upstream, now time.Time, cfg *Config) *member {
	return &member{
		up:         u,
		win:        newWindow(cfg.WindowSamples, cfg.Window, cfg.EWMAWeight, cfg.EWMAHalfLife),
		br:         breaker{since: now},
		shown:      StateHealthy,
		shownSince: now,
	}
}

// advance applies the passage of time up to now.
func (s *member) advance(now time.Time, cfg *Config) {
	if s.br.advance(now, cfg) {
		// Trials start from a clean slate: the failures that opened the
		// breaker must not trip it again the moment it closes.
		s.win.reset()
	}
	s.win.prune(now)
}

// record applies one outcome at now. A 404 or any other answer with
// Failure == FailNone is a success: the upstream answered.
func (s *member) record(now time.Time, o Outcome, cfg *Config) {
	s.advance(now, cfg)
	failed := o.Failure != FailNone
	latency := noLatency
	switch {
	case o.FirstByte > 0:
		latency = o.FirstByte
	case o.Status != 0:
		latency = o.Total
	}
	s.win.add(now, latency, failed)
	switch {
	case o.Probe:
		s.probes++
		if failed {
			s.probeFails++
		}
	default:
		s.requests++
		if failed {
			s.failures++
		}
	}
	if failed {
		s.lastFailure, s.lastErr, s.lastErrAt = o.Failure, o.Err, now
	}
	s.br.record(now, cfg, o, s.win.errorRate(), s.win.n)
	s.state(now, cfg)
}

// state returns the upstream's State at now (after advance) and keeps
// shown and shownSince up to date.
func (s *member) state(now time.Time, cfg *Config) (State, time.Time) {
	var st State
	since := s.br.since
	switch {
	case s.br.state == quarantined:
		st = StateQuarantined
	case s.br.state == open:
		st = StateOpen
	case s.br.held(now):
		st = StateOpen
		since = time.Time{}
	case s.br.state == halfOpen:
		st = StateHalfOpen
	case s.br.consecutive > 0 || s.win.n > 0 && s.win.errorRate() >= cfg.DegradedErrorRate || len(s.stale) > 0:
		st = StateDegraded
		since = time.Time{}
	default:
		st = StateHealthy
		since = time.Time{}
	}
	if st != s.shown {
		if since.IsZero() {
			since = now
		}
		s.shown, s.shownSince = st, since
	}
	return s.shown, s.shownSince
}
