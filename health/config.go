package health

import "time"

// Config holds every threshold of a Pool. A zero field means its default,
// the value DefaultConfig gives; so Config{} is the default configuration.
type Config struct {
	// Window is how long an outcome counts in an upstream's statistics
	// (error rate, percentiles, and whether its latency is known at all),
	// and how long a Denial marks an upstream.
	// An upstream with nothing reported for this long is "unknown" again
	// and ranks as if it were as good as the best, so a preferred mirror
	// that was merely slow gets tried again. Default 5m.
	Window time.Duration
	// WindowSamples bounds the outcomes kept per upstream: the window is the
	// last WindowSamples outcomes no older than Window. Default 128.
	WindowSamples int
	// EWMAWeight is the weight of a new latency sample in the exponentially
	// weighted moving average, in (0, 1]. Default 0.2.
	EWMAWeight float64
	// EWMAHalfLife makes the EWMA forget with time as well as with
	// samples: a new sample weighs at least 1 − 2^(−gap/EWMAHalfLife), gap
	// being the time since the previous latency sample. Under steady
	// traffic EWMAWeight rules; an upstream that only probes reach (one
	// that traffic left because it was slow) is judged by its latest
	// answers, so that it wins its traffic back within a probe round or
	// two of healing. Default 3s.
	EWMAHalfLife time.Duration
	// FailureCost is what one failed attempt is taken to cost when scoring:
	// score = latency EWMA + error rate × FailureCost. Default 1s.
	FailureCost time.Duration
	// StalePenalty is added to the score of an upstream whose @v/list of the
	// probe module lacks versions another upstream lists (see Prober), or
	// that denied a path another upstream served (see Pool.ReportDenial),
	// once for either or both, so that a mirror that stopped updating
	// loses its traffic to fresh ones but is still preferred to one that
	// fails. Default 1s.
	StalePenalty time.Duration

	// FailureThreshold opens the breaker after this many consecutive
	// failures. Default 5.
	FailureThreshold int
	// ErrorRateThreshold opens the breaker when the error rate over the
	// window reaches it, once the window holds at least MinSamples
	// outcomes. Default 0.5.
	ErrorRateThreshold float64
	// MinSamples is the fewest outcomes in the window for
	// ErrorRateThreshold to apply. Default 20.
	MinSamples int
	// OpenBackoff is how long the breaker stays open the first time. Each
	// time it opens again without having closed in between (a failed trial),
	// the backoff doubles, up to MaxOpenBackoff. Default 5s.
	OpenBackoff time.Duration
	// MaxOpenBackoff caps the open backoff. Default 5m.
	MaxOpenBackoff time.Duration
	// HalfOpenTrials is how many trial requests a half-open upstream may
	// have outstanding at once. Default 1.
	HalfOpenTrials int
	// HalfOpenSuccesses closes a half-open breaker after this many
	// successful trials in a row; one failed trial opens it again with the
	// next, longer backoff. Default 3.
	HalfOpenSuccesses int
	// TrialTimeout frees a granted trial that was never reported (the
	// caller did not use the candidate, or the request is still running).
	// Default 1m.
	TrialTimeout time.Duration
	// Quarantine is how long an upstream caught serving bad content
	// (FailBadContent) is kept out, longer than an open breaker. It is
	// half-open afterwards. Default 30m.
	Quarantine time.Duration
	// MaxRetryAfter caps how long an upstream's Retry-After keeps it out.
	// Default 10m.
	MaxRetryAfter time.Duration

	// NearRatio and NearMargin say when two scores are near: b is near a
	// (a ≤ b) when b ≤ a×(1+NearRatio) + NearMargin. Near upstreams are
	// ordered by the user's preference (Upstream.Rank). Defaults 0.2 and
	// 10ms.
	NearRatio  float64
	NearMargin time.Duration
	// HysteresisRatio and HysteresisMargin favour the current leader (the
	// first candidate): another upstream replaces it only if it would still
	// win against the leader's score improved to
	// (score − HysteresisMargin) / (1 + HysteresisRatio). Defaults 0.1 and
	// 5ms.
	HysteresisRatio  float64
	HysteresisMargin time.Duration
	// DegradedErrorRate shows a closed upstream as degraded when its error
	// rate over the window reaches it (or it has failed since its last
	// success). It does not change routing. Default 0.05.
	DegradedErrorRate float64
	// Refresh is the longest the candidate order is reused without being
	// recomputed when nothing is reported, so that aging statistics take
	// effect. Breaker and hold deadlines are honoured exactly regardless.
	// Default 1s.
	Refresh time.Duration
}

// DefaultConfig returns the default thresholds.
func DefaultConfig() Config {
	return Config{
		Window:             5 * time.Minute,
		WindowSamples:      128,
		EWMAWeight:         0.2,
		EWMAHalfLife:       3 * time.Second,
		FailureCost:        time.Second,
		StalePenalty:       time.Second,
		FailureThreshold:   5,
		ErrorRateThreshold: 0.5,
		MinSamples:         20,
		OpenBackoff:        5 * time.Second,
		MaxOpenBackoff:     5 * time.Minute,
		HalfOpenTrials:     1,
		HalfOpenSuccesses:  3,
		TrialTimeout:       time.Minute,
		Quarantine:         30 * time.Minute,
		MaxRetryAfter:      10 * time.Minute,
		NearRatio:          0.2,
		NearMargin:         10 * time.Millisecond,
		HysteresisRatio:    0.1,
		HysteresisMargin:   5 * time.Millisecond,
		DegradedErrorRate:  0.05,
		Refresh:            time.Second,
	}
}

// withDefaults returns c with every zero (or out-of-range) field replaced by
// its default.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	dur := func(v *time.Duration, def time.Duration) {
		if *v <= 0 {
			*v = def
		}
	}
	num := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	frac := func(v *float64, def float64, max float64) {
		if *v <= 0 || *v > max {
			*v = def
		}
	}
	dur(&c.Window, d.Window)
	num(&c.WindowSamples, d.WindowSamples)
	frac(&c.EWMAWeight, d.EWMAWeight, 1)
	dur(&c.EWMAHalfLife, d.EWMAHalfLife)
	dur(&c.FailureCost, d.FailureCost)
	dur(&c.StalePenalty, d.StalePenalty)
	num(&c.FailureThreshold, d.FailureThreshold)
	frac(&c.ErrorRateThreshold, d.ErrorRateThreshold, 1)
	num(&c.MinSamples, d.MinSamples)
	dur(&c.OpenBackoff, d.OpenBackoff)
	dur(&c.MaxOpenBackoff, d.MaxOpenBackoff)
	if c.MaxOpenBackoff < c.OpenBackoff {
		c.MaxOpenBackoff = c.OpenBackoff
	}
	num(&c.HalfOpenTrials, d.HalfOpenTrials)
	num(&c.HalfOpenSuccesses, d.HalfOpenSuccesses)
	dur(&c.TrialTimeout, d.TrialTimeout)
	dur(&c.Quarantine, d.Quarantine)
	dur(&c.MaxRetryAfter, d.MaxRetryAfter)
	frac(&c.NearRatio, d.NearRatio, 100)
	dur(&c.NearMargin, d.NearMargin)
	frac(&c.HysteresisRatio, d.HysteresisRatio, 100)
	dur(&c.HysteresisMargin, d.HysteresisMargin)
	frac(&c.DegradedErrorRate, d.DegradedErrorRate, 1)
	dur(&c.Refresh, d.Refresh)
	return c
}
