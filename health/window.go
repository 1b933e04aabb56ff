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
//
// Only the pool's write path changes a window (add, prune, reset). Readers
// take its statistics as of an instant with at, which leaves the samples
// that have aged out where they are.
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
}

func newWindow(size int, maxAge time.Duration, weight float64, halfLife time.Duration) window {
	return window{
		buf:      make([]sample, size),
		maxAge:   maxAge,
		weight:   weight,
		halfLife: halfLife,
	}
}

// sample returns the i-th sample held, oldest first.
func (w *window) sample(i int) sample { return w.buf[(w.start+i)%len(w.buf)] }

// expired reports whether a sample taken at (Unix nanoseconds) no longer
// counts at now.
func (w *window) expired(at int64, now time.Time) bool {
	return at <= now.UnixNano()-int64(w.maxAge)
}

// expiry is the instant at which a sample taken at (Unix nanoseconds)
// stops counting.
func (w *window) expiry(at int64) time.Time { return time.Unix(0, at+int64(w.maxAge)) }

// prune drops samples older than maxAge.
func (w *window) prune(now time.Time) {
	for w.n > 0 && w.expired(w.buf[w.start].at, now) {
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

// stats are a window's statistics at one instant: over the samples held
// that have not aged out by then.
type stats struct {
	first     int // index, oldest first, of the first sample counted
	n         int // samples counted
	failures  int // of them, failed
	latencies int // of them, with a latency
	ewma      float64
}

// at returns the window's statistics at now, which must not be before the
// latest sample added, without dropping anything.
func (w *window) at(now time.Time) stats {
	s := stats{n: w.n, failures: w.failures, latencies: w.latencies, ewma: w.ewma}
	for s.n > 0 {
		old := w.sample(s.first)
		if !w.expired(old.at, now) {
			break
		}
		if old.failed {
			s.failures--
		}
		if old.latency != noLatency {
			s.latencies--
		}
		s.first++
		s.n--
	}
	return s
}

// all returns the statistics of every sample held, as at returns them at
// an instant when none has aged out.
func (w *window) all() stats {
	return stats{n: w.n, failures: w.failures, latencies: w.latencies, ewma: w.ewma}
}

// none returns the statistics of a window without samples, as it is once
// reset.
func (w *window) none() stats { return stats{first: w.n} }

// errorRate is the share of failed outcomes among those counted, 0 when
// there are none.
func (s stats) errorRate() float64 {
	if s.n == 0 {
		return 0
	}
	return float64(s.failures) / float64(s.n)
}

// latency returns the EWMA of latency and whether any latency sample is
// counted.
func (s stats) latency() (time.Duration, bool) {
	if s.latencies == 0 {
		return 0, false
	}
	return time.Duration(s.ewma + 0.5), true
}

// percentileBuf is the number of latencies percentiles sorts without
// allocating.
const percentileBuf = 128

// percentiles returns the p50, p95 and p99 of the latency samples counted
// in s (nearest-rank), zero when there are none.
func (w *window) percentiles(s stats) (p50, p95, p99 time.Duration) {
	if s.latencies == 0 {
		return 0, 0, 0
	}
	var arr [percentileBuf]time.Duration
	ls := arr[:0]
	for i := s.first; i < s.first+s.n; i++ {
		if l := w.sample(i).latency; l != noLatency {
			ls = append(ls, l)
		}
	}
	slices.Sort(ls)
	return nearestRank(ls, 50), nearestRank(ls, 95), nearestRank(ls, 99)
}

// nearestRank is the pct-th percentile of sorted s: the smallest sample
// with at least pct percent of the samples at or below it.
func nearestRank(s []time.Duration, pct int) time.Duration {
	i := (pct*len(s) + 99) / 100 // ceil(pct/100 × n)
	return s[max(i, 1)-1]
}
