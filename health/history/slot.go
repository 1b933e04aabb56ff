package history

import (
	"math"
	"time"

	"github.com/gofailover/gofailover/health"
)

// sample is what one snapshot says of one upstream, with its counters
// turned into the increments since the previous snapshot.
type sample struct {
	state           stateCode
	hasLatency      bool
	p50, p95, p99   uint64 // microseconds
	hasRate         bool
	ratePPM         uint64 // error rate in parts per million
	requests, fails uint64
	probes, pfails  uint64
}

// newSample returns the sample of st, whose counters went up by d since
// the previous snapshot.
func newSample(st health.Status, d counters) sample {
	return sample{
		state:      codeOf(st.State),
		hasLatency: st.P50 > 0 || st.P95 > 0 || st.P99 > 0,
		p50:        micros(st.P50),
		p95:        micros(st.P95),
		p99:        micros(st.P99),
		hasRate:    st.Samples > 0,
		ratePPM:    ppm(st.ErrorRate),
		requests:   d.requests,
		fails:      d.failures,
		probes:     d.probes,
		pfails:     d.probeFailures,
	}
}

// slot is one point of a ring as kept in memory and in the store: sums and
// maxima from which Point is worked out.
type slot struct {
	n       int64  // the interval: it starts n steps after the Unix epoch
	samples uint32 // snapshots aggregated; 0 marks an unused slot
	latN    uint32 // of them, with latency
	rateN   uint32 // of them, with an error rate
	state   stateCode
	p50Sum  uint64 // microseconds
	p95Max  uint64 // microseconds
	p99Max  uint64 // microseconds
	rateSum uint64 // parts per million
	// The counters' increments.
	requests, failures, probes, probeFailures uint64
}

// add aggregates s into the slot. A slot that has aggregated as many
// samples as it can count ignores further ones.
func (sl *slot) add(s sample) {
	if sl.samples == math.MaxUint32 {
		return
	}
	sl.samples++
	sl.state = max(sl.state, s.state)
	if s.hasLatency {
		sl.latN++
		sl.p50Sum += s.p50
		sl.p95Max = max(sl.p95Max, s.p95)
		sl.p99Max = max(sl.p99Max, s.p99)
	}
	if s.hasRate {
		sl.rateN++
		sl.rateSum += s.ratePPM
	}
	sl.requests += s.requests
	sl.failures += s.fails
	sl.probes += s.probes
	sl.probeFailures += s.pfails
}

// point returns the Point of the slot, whose interval starts at at.
func (sl *slot) point(at time.Time) Point {
	p := Point{
		At:            at,
		Samples:       int(sl.samples),
		P95:           duration(sl.p95Max),
		P99:           duration(sl.p99Max),
		Requests:      sl.requests,
		Failures:      sl.failures,
		Probes:        sl.probes,
		ProbeFailures: sl.probeFailures,
		State:         sl.state.state(),
	}
	if sl.latN > 0 {
		p.P50 = duration(sl.p50Sum / uint64(sl.latN))
		p.HasLatency = true
	}
	if sl.rateN > 0 {
		p.ErrorRate = float64(sl.rateSum) / float64(sl.rateN) / 1e6
		p.HasErrorRate = true
	}
	return p
}

// micros returns d in whole microseconds, 0 if it is negative.
func micros(d time.Duration) uint64 {
	return uint64(max(d, 0) / time.Microsecond)
}

// duration returns us microseconds as a Duration, capped at the largest.
func duration(us uint64) time.Duration {
	if us > math.MaxInt64/uint64(time.Microsecond) {
		return math.MaxInt64
	}
	return time.Duration(us) * time.Microsecond
}

// ppm returns the rate r in [0, 1] in parts per million; a rate out of
// range is clamped, NaN counts as 0.
func ppm(r float64) uint64 {
	if !(r > 0) {
		return 0
	}
	return uint64(math.Round(min(r, 1) * 1e6))
}
