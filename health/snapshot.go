package health

import (
	"slices"
	"time"
)

// State is how an upstream stands, as shown in a Snapshot.
type State string

// The states of an upstream.
const (
	// StateHealthy: in use, no recent trouble.
	StateHealthy State = "healthy"
	// StateDegraded: in use, but it failed since its last success, its
	// error rate is at least Config.DegradedErrorRate, it is stale, or it
	// denied a path another upstream served (see Denial).
	StateDegraded State = "degraded"
	// StateOpen: its breaker is open, or it asked to be left alone
	// (Retry-After); tried only when nothing else is left.
	StateOpen State = "open"
	// StateHalfOpen: its breaker is letting trial requests through.
	StateHalfOpen State = "half-open"
	// StateQuarantined: it served bad content; tried only when nothing
	// else is left, until Config.Quarantine has passed.
	StateQuarantined State = "quarantined"
)

// Down reports whether an upstream in state s is out of use: open,
// half-open or quarantined. An outage is the stretch of time in which an
// upstream is down, however often its breaker tries it again.
func (s State) Down() bool {
	return s == StateOpen || s == StateHalfOpen || s == StateQuarantined
}

// Status is one upstream's health at one instant.
type Status struct {
	// Upstream is the upstream described.
	Upstream *Upstream
	// State is how it stands, and Since when it has stood so.
	State State
	Since time.Time
	// EpisodeSince is when the upstream's current episode began. While
	// it is down (State.Down) the episode is the outage, and it began
	// at the first failure since the upstream's last success before its
	// breaker opened (or when it was kept out, if no failure led to
	// it): breaker trials in between, open or half-open, do not restart
	// it. Otherwise the upstream is up (healthy or degraded), since it
	// last came back from an outage, or since the pool was created.
	EpisodeSince time.Time
	// Until is when an open or quarantined upstream turns half-open, or
	// when a Retry-After hold ends if that is later; zero otherwise.
	Until time.Time
	// Score is the expected cost of one attempt, lower is better: EWMA plus
	// ErrorRate × Config.FailureCost, plus Config.StalePenalty while Stale
	// is not empty or Denial is set (once if both are). ScoreKnown is false
	// when nothing was reported within Config.Window (and Score is zero).
	Score      time.Duration
	ScoreKnown bool
	// EWMA, P50, P95 and P99 describe the time to first byte over the
	// window; zero when there is no sample.
	EWMA, P50, P95, P99 time.Duration
	// ErrorRate is the share of failures among the Samples outcomes in the
	// window.
	ErrorRate float64
	Samples   int
	// ConsecutiveFailures counts failures since the last success.
	ConsecutiveFailures int
	// Backoff is the length of the breaker's current or last opening, zero
	// once it has closed.
	Backoff time.Duration
	// Stale lists the versions of the probe module that the upstream's
	// @v/list lacks and another upstream's has, while it is stale (see
	// Pool.SetStale); it shows as degraded meanwhile.
	Stale []string
	// Denial is the latest Denial the upstream gave, while it holds (see
	// Pool.ReportDenial): until the upstream serves the path, or
	// Config.Window after it; it shows as degraded meanwhile.
	Denial *Denial
	// LastFailure, LastError and LastErrorAt describe the latest failure.
	LastFailure FailureKind
	LastError   error
	LastErrorAt time.Time
	// Requests and Failures count the outcomes of users' requests reported
	// since the pool was created; Probes and ProbeFailures count those of
	// active probes.
	Requests, Failures    uint64
	Probes, ProbeFailures uint64
}

// Snapshot returns the health of every upstream, in the order given to
// NewPool, as of now. It changes nothing: taking snapshots, however often,
// does not alter what the pool does or shows later.
func (p *Pool) Snapshot() []Status {
	p.mu.RLock()
	defer p.mu.RUnlock()
	now := p.clock.Now()
	out := make([]Status, len(p.members))
	for i, m := range p.members {
		out[i] = m.status(now, &p.cfg)
	}
	return out
}

// status returns m's Status at now. It changes nothing.
func (m *member) status(now time.Time, cfg *Config) Status {
	l, since, episode := m.view(now, cfg)
	ewma, _ := l.win.latency()
	p50, p95, p99 := m.win.percentiles(l.win)
	sc, known := score(l.win, len(m.stale) > 0 || l.denial != nil, cfg)
	var denial *Denial
	if l.denial != nil {
		d := *l.denial
		denial = &d
	}
	until := time.Time{}
	if l.br.state == open || l.br.state == quarantined {
		until = l.br.until
	}
	if l.br.held(now) && l.br.holdUntil.After(until) {
		until = l.br.holdUntil
	}
	return Status{
		Upstream:            m.up,
		State:               l.state,
		Since:               since,
		EpisodeSince:        episode,
		Until:               until,
		Score:               sc,
		ScoreKnown:          known,
		EWMA:                ewma,
		P50:                 p50,
		P95:                 p95,
		P99:                 p99,
		ErrorRate:           l.win.errorRate(),
		Samples:             l.win.n,
		ConsecutiveFailures: l.br.consecutive,
		Backoff:             l.br.backoff,
		Stale:               slices.Clone(m.stale),
		Denial:              denial,
		LastFailure:         m.lastFailure,
		LastError:           m.lastErr,
		LastErrorAt:         m.lastErrAt,
		Requests:            m.requests,
		Failures:            m.failures,
		Probes:              m.probes,
		ProbeFailures:       m.probeFails,
	}
}
