package health

import "time"

// breakerState is where an upstream's circuit breaker stands.
type breakerState uint8

const (
	closed      breakerState = iota // in use
	open                            // kept out until the backoff ends
	halfOpen                        // allowed a few trial requests
	quarantined                     // caught serving bad content; kept out longer
)

// breaker is one upstream's circuit breaker, plus the hold an upstream's
// Retry-After puts on it. It is driven by the times passed in; it never reads
// a clock.
//
//	closed ──K consecutive failures, or error rate ≥ threshold──▶ open
//	open ──backoff passed──▶ half-open ──M successful trials──▶ closed
//	half-open ──a failed trial──▶ open, with the backoff doubled (capped)
//	any ──bad content──▶ quarantined ──Quarantine passed──▶ half-open
type breaker struct {
	state breakerState
	since time.Time // when state was entered
	until time.Time // open, quarantined: when it turns half-open
	// backoff is the length of the last opening, zero once the breaker has
	// closed since: the next opening lasts twice as long.
	backoff time.Duration
	// consecutive counts failures since the last success, in any state.
	consecutive int
	// trialOK counts successes in a row while half-open.
	trialOK int
	// trialsOut counts trials granted and not yet reported; lastGrant is
	// when the latest was granted.
	trialsOut int
	lastGrant time.Time
	// holdUntil keeps the upstream out, whatever its state, until the
	// Retry-After it sent has passed.
	holdUntil time.Time
}

// advance applies what the passage of time does: an open or quarantined
// breaker turns half-open when its time is up, and trials never reported
// are forgotten after TrialTimeout. It reports whether the breaker turned
// half-open.
func (b *breaker) advance(now time.Time, cfg *Config) bool {
	switch b.state {
	case open, quarantined:
		if !now.Before(b.until) {
			b.state, b.since, b.until = halfOpen, b.until, time.Time{}
			b.trialOK, b.trialsOut = 0, 0
			return true
		}
	case halfOpen:
		if b.trialsOut > 0 && !now.Before(b.lastGrant.Add(cfg.TrialTimeout)) {
			b.trialsOut = 0
		}
	}
	return false
}

// record applies one outcome. errRate and samples describe the window with
// the outcome already in it. It reports whether the breaker closed.
func (b *breaker) record(now time.Time, cfg *Config, o Outcome, errRate float64, samples int) (closedNow bool) {
	if o.RetryAfter > 0 {
		if h := now.Add(min(o.RetryAfter, cfg.MaxRetryAfter)); h.After(b.holdUntil) {
			b.holdUntil = h
		}
	}
	wasTrial := b.state == halfOpen
	if wasTrial && b.trialsOut > 0 {
		b.trialsOut--
	}
	if o.Failure == FailNone {
		b.consecutive = 0
		if wasTrial {
			b.trialOK++
			if b.trialOK >= cfg.HalfOpenSuccesses {
				b.state, b.since, b.backoff = closed, now, 0
				return true
			}
		}
		return false
	}
	b.consecutive++
	switch {
	case o.Failure == FailBadContent:
		if b.state != quarantined {
			b.since = now
		}
		b.state, b.until = quarantined, now.Add(cfg.Quarantine)
	case wasTrial:
		b.open(now, cfg)
	case b.state == closed:
		if b.consecutive >= cfg.FailureThreshold ||
			samples >= cfg.MinSamples && errRate >= cfg.ErrorRateThreshold {
			b.open(now, cfg)
		}
	}
	return false
}

// open opens the breaker for the next backoff: OpenBackoff after a close,
// double the last one otherwise, at most MaxOpenBackoff.
func (b *breaker) open(now time.Time, cfg *Config) {
	if b.backoff == 0 {
		b.backoff = cfg.OpenBackoff
	} else {
		b.backoff = min(2*b.backoff, cfg.MaxOpenBackoff)
	}
	b.state, b.since, b.until = open, now, now.Add(b.backoff)
	b.trialOK, b.trialsOut = 0, 0
}

// held reports whether a Retry-After keeps the upstream out at now.
func (b *breaker) held(now time.Time) bool { return now.Before(b.holdUntil) }

// canTrial reports whether a half-open breaker may be granted another trial.
func (b *breaker) canTrial(cfg *Config) bool {
	return b.state == halfOpen && b.trialsOut < cfg.HalfOpenTrials
}

// grant counts a trial handed out at now.
func (b *breaker) grant(now time.Time) {
	b.trialsOut++
	b.lastGrant = now
}

// deadline is the next instant after now at which time alone changes what
// advance or held would say, zero if none.
func (b *breaker) deadline(now time.Time, cfg *Config) time.Time {
	var d time.Time
	consider := func(t time.Time) {
		if t.After(now) && (d.IsZero() || t.Before(d)) {
			d = t
		}
	}
	consider(b.holdUntil)
	switch b.state {
	case open, quarantined:
		consider(b.until)
	case halfOpen:
		if b.trialsOut > 0 {
			consider(b.lastGrant.Add(cfg.TrialTimeout))
		}
	}
	return d
}
