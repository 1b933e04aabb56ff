package alert

import "time"

// Config holds the Engine's durations and thresholds. A zero field means
// its default, the value DefaultConfig gives; so Config{} is the default
// configuration.
type Config struct {
	// Interval is the time between evaluations in Engine.Run. Default 15s.
	Interval time.Duration
	// For is how long a condition must hold before its alert fires, so
	// that one blip does not page anyone. Default 1m; negative means none:
	// an alert fires at the first evaluation that sees its condition.
	For time.Duration
	// ResolvedRetention is how long a resolved alert is still shown by
	// Engine.Alerts. Default 24h.
	ResolvedRetention time.Duration

	// LatencyK is the number of standard deviations above the mean of the
	// baseline at which latency is high. Default 3.
	LatencyK float64
	// LatencyFloor is the latency at or below which latency_high never
	// fires, however it compares with the baseline. Default 500ms.
	LatencyFloor time.Duration
	// LatencyWindow is how far back the baseline of latency readings
	// reaches. Default 1h.
	LatencyWindow time.Duration
	// LatencyMinPoints is the fewest readings in the baseline for
	// latency_high to fire at all. Default 10.
	LatencyMinPoints int
	// LatencyMinSpread is the least standard deviation assumed of the
	// baseline, as a fraction of its mean, so that a very steady upstream
	// does not fire on a small rise. Default 0.1.
	LatencyMinSpread float64

	// ErrorRate is the error rate above which error_rate_high holds, in
	// (0, 1]. Default 0.2.
	ErrorRate float64
	// MinSamples is the fewest outcomes in the pool's window for
	// error_rate_high to judge the error rate over it. Default 10.
	MinSamples int
	// ErrorStreak is the number of failures in a row (requests and
	// probes, since the upstream's last success) at which error_rate_high
	// holds whatever the window holds: an error rate of 100% over them.
	// Default 2: a mirror refusing connections is probed once a round
	// (the prober skips the rest of its round) and quickly loses users'
	// requests to the other mirrors, so it may fail only once or twice
	// before the next evaluation.
	ErrorStreak int
}

// DefaultConfig returns the default durations and thresholds.
func DefaultConfig() Config {
	return Config{
		Interval:          15 * time.Second,
		For:               time.Minute,
		ResolvedRetention: 24 * time.Hour,
		LatencyK:          3,
		LatencyFloor:      500 * time.Millisecond,
		LatencyWindow:     time.Hour,
		LatencyMinPoints:  10,
		LatencyMinSpread:  0.1,
		ErrorRate:         0.2,
		MinSamples:        10,
		ErrorStreak:       2,
	}
}

// withDefaults returns c with every zero (or out-of-range) field replaced
// by its default, and a negative For by zero.
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
	frac := func(v *float64, def, max float64) {
		if !(*v > 0 && *v <= max) { // also catches NaN
			*v = def
		}
	}
	dur(&c.Interval, d.Interval)
	switch {
	case c.For == 0:
		c.For = d.For
	case c.For < 0:
		c.For = 0
	}
	dur(&c.ResolvedRetention, d.ResolvedRetention)
	frac(&c.LatencyK, d.LatencyK, 1000)
	dur(&c.LatencyFloor, d.LatencyFloor)
	dur(&c.LatencyWindow, d.LatencyWindow)
	num(&c.LatencyMinPoints, d.LatencyMinPoints)
	frac(&c.LatencyMinSpread, d.LatencyMinSpread, 100)
	frac(&c.ErrorRate, d.ErrorRate, 1)
	num(&c.MinSamples, d.MinSamples)
	num(&c.ErrorStreak, d.ErrorStreak)
	return c
}
