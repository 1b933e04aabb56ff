package health

import (
	"math"
	"slices"
	"time"
)

// noLatency marks an outcome without a latency sample (no response arrived).
const noLatency time.Duration = -1

// sample is one outcome in a window.
type sample struct {
	at      int64         // Unix nanoseconds
	latency time.Duration // time to first byte, or noLatency
	failed  bool
}

// window is an upstream's recent outcomes: the last cap(buf) of them that
// are no older than maxAge, in a ring, with the failure and latency counts
// kept up to date, and an exponentially weighted moving average of latency
// that restarts when the window holds no latency sample. A new sample
// weighs weight, or more after a gap: 1 − 2^(−gap/halfLife). Its memory is
// fixed at creation.
type window struct {
	buf       []sample
	start     int // index of the oldest sample
	n         int
	failures  int
	latencies int
	maxAge    time.Duration
	weight    float64       // of a new sample in the EWMA
	halfLife  time.Duration // of the EWMA's memory in time
	ewma      float64       // nanoseconds; meaningful while latencies > 0
	ewmaAt    int64         // Unix nanoseconds of the latest latency sample
	scratch   []time.Duration
}

func newWindow(size int, maxAge time.Duration, weight float64, halfLife time.Duration) window {
	return window{
		buf:      make([]sample, size),
		maxAge:   maxAge,
		weight:   weight,
		halfLife: halfLife,
		scratch:  make([]time.Duration, 0, size),
	}
}

// prune drops samples older than maxAge.
func (w *window) prune(now time.Time) {
	oldest := now.UnixNano() - int64(w.maxAge)
	for w.n > 0 && w.buf[w.start].at <= oldest {
		w.dropOldest()
	}
}

func (w *window) dropOldest() {
	s := w.buf[w.start]
	if s.failed {
		w.failures--
	}
	if s.latency != noLatency {
		w.latencies--
	}
	w.start = (w.start + 1) % len(w.buf)
	w.n--
}

// add records an outcome at now.
func (w *window) add(now time.Time, latency time.Duration, failed bool) {
	w.prune(now)
	if w.n == len(w.buf) {
		w.dropOldest()
	}
	if latency != noLatency {
		if w.latencies == 0 {
			w.ewma = float64(latency)
		} else {
			w.ewma += w.sampleWeight(now) * (float64(latency) - w.ewma)
		}
		w.ewmaAt = now.UnixNano()
		w.latencies++
	}
	if failed {
		w.failures++
	}
	w.buf[(w.start+w.n)%len(w.buf)] = sample{at: now.UnixNano(), latency: latency, failed: failed}
	w.n++
}

// sampleWeight is the weight in the EWMA of a latency sample taken at now.
func (w *window) sampleWeight(now time.Time) float64 {
	gap := now.UnixNano() - w.ewmaAt
	if w.halfLife <= 0 || gap <= 0 {
		return w.weight
	}
	return max(w.weight, 1-math.Exp2(-float64(gap)/float64(w.halfLife)))
}

// reset forgets every sample.
func (w *window) reset() {
	w.start, w.n, w.failures, w.latencies, w.ewma = 0, 0, 0, 0, 0
}

// errorRate is the share of failed outcomes in the window, 0 when empty.
// Call prune first.
func (w *window) errorRate() float64 {
	if w.n == 0 {
		return 0
	}
	return float64(w.failures) / float64(w.n)
}

// latency returns the EWMA of latency and whether the window holds any
// latency sample. Call prune first.
func (w *window) latency() (time.Duration, bool) {
	if w.latencies == 0 {
		return 0, false
	}
	return time.Duration(w.ewma + 0.5), true
}

// percentiles returns the p50, p95 and p99 of the latency samples in the
// window (nearest-rank), zero when there are none. Call prune first.
func (w *window) percentiles() (p50, p95, p99 time.Duration) {
	s := w.scratch[:0]
	for i := range w.n {
		if l := w.buf[(w.start+i)%len(w.buf)].latency; l != noLatency {
			s = append(s, l)
		}
	}
	if len(s) == 0 {
		return 0, 0, 0
	}
	slices.Sort(s)
	return nearestRank(s, 50), nearestRank(s, 95), nearestRank(s, 99)
}

// nearestRank is the pct-th percentile of sorted s: the smallest sample
// with at least pct percent of the samples at or below it.
func nearestRank(s []time.Duration, pct int) time.Duration {
	i := (pct*len(s) + 99) / 100 // ceil(pct/100 × n)
	return s[max(i, 1)-1]
}
