package alert

import (
	"math"
	"time"
)

// maxBaselinePoints bounds the readings a baseline keeps, whatever the
// evaluation interval; the oldest go first.
const maxBaselinePoints = 4096

// reading is one latency reading, in seconds, taken at an evaluation.
type reading struct {
	at      time.Time
	seconds float64
}

// baseline is one upstream's recent latency readings, against which the
// latest one is judged. See the package comment for when a reading joins.
type baseline struct {
	points []reading // oldest first
	// outcomes is the upstream's count of reported outcomes (requests and
	// probes) at the previous evaluation, so that a reading is known to
	// be new; seen says whether there was a previous evaluation.
	outcomes uint64
	seen     bool
}

// fresh records the upstream's count of reported outcomes and reports
// whether it moved since the previous evaluation.
func (b *baseline) fresh(outcomes uint64) bool {
	moved := !b.seen || outcomes != b.outcomes
	b.outcomes, b.seen = outcomes, true
	return moved
}

// add appends a reading taken at now and drops those older than window.
func (b *baseline) add(now time.Time, seconds float64, window time.Duration) {
	cut := now.Add(-window)
	i := 0
	for i < len(b.points) && !b.points[i].at.After(cut) {
		i++
	}
	if len(b.points)-i >= maxBaselinePoints {
		i = len(b.points) - maxBaselinePoints + 1
	}
	b.points = append(b.points[i:], reading{at: now, seconds: seconds})
}

// threshold returns mean + k·σ of the readings, σ being at least minSpread
// of the mean, and false when there are fewer than minPoints readings.
func (b *baseline) threshold(k, minSpread float64, minPoints int) (float64, bool) {
	n := len(b.points)
	if n == 0 || n < minPoints {
		return 0, false
	}
	var sum float64
	for _, p := range b.points {
		sum += p.seconds
	}
	mean := sum / float64(n)
	var sq float64
	for _, p := range b.points {
		d := p.seconds - mean
		sq += d * d
	}
	sd := max(math.Sqrt(sq/float64(n)), minSpread*mean)
	return mean + k*sd, true
}
