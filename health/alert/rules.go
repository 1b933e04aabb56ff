package alert

import (
	"fmt"
	"time"

	"github.com/gofailover/gofailover/health"
)

// finding is one rule's judgement of one upstream, or of the pool, at one
// evaluation. Value, threshold and summary matter only when it holds.
type finding struct {
	key      key
	severity Severity
	holds    bool
	// unknown says the rule cannot judge now (too little data): the
	// alert stays as it is, neither starting nor resolving.
	unknown   bool
	value     float64
	threshold float64
	summary   string
}

// isDown reports whether an upstream in state s counts as down for
// upstream_down: its breaker is open or half-open.
func isDown(s health.State) bool {
	return s == health.StateOpen || s == health.StateHalfOpen
}

// severityOf is the severity of rule's alert about an upstream of the
// given rank (ignored for all_upstreams_down).
func severityOf(rule Rule, rank int) Severity {
	switch {
	case rule == AllUpstreamsDown:
		return P0
	case rule == UpstreamQuarantined, rank == 0:
		return P1
	default:
		return P2
	}
}

// newFinding starts a finding of rule about u.
func newFinding(rule Rule, u *health.Upstream) finding {
	return finding{key: key{rule, u.Name}, severity: severityOf(rule, u.Rank), threshold: 1}
}

// judgeDown applies upstream_down to s.
func judgeDown(s health.Status) finding {
	f := newFinding(UpstreamDown, s.Upstream)
	if isDown(s.State) {
		f.holds, f.value = true, 1
		// Dated from the outage's first failure, which breaker trials do
		// not move; the state, which they do, is left to the status page.
		since := ""
		if !s.EpisodeSince.IsZero() {
			since = " since " + s.EpisodeSince.UTC().Format("15:04:05 UTC")
		}
		f.summary = fmt.Sprintf("upstream %s is down%s%s", s.Upstream.Name, since, lastFailure(s))
	}
	return f
}

// judgeQuarantined applies upstream_quarantined to s.
func judgeQuarantined(s health.Status) finding {
	f := newFinding(UpstreamQuarantined, s.Upstream)
	if s.State == health.StateQuarantined {
		f.holds, f.value = true, 1
		f.summary = fmt.Sprintf("upstream %s is quarantined: it served content that failed checksum verification", s.Upstream.Name)
	}
	return f
}

// judgeErrorRate applies error_rate_high to s.
//
// The error rate over the pool's window is judged once the window holds
// Config.MinSamples outcomes. A dead mirror seldom gets there: its breaker
// opens after a few failures, so that little more than a probe round
// reaches it, and every breaker trial starts the window afresh. Before
// this rule also judged failures in a row, a mirror refusing connections
// made it pending only after minutes, when the backoff had grown long
// enough for MinSamples probes to pile up between trials. So the rule
// also holds when the latest Config.ErrorStreak outcomes all failed
// (ConsecutiveFailures, which no breaker trial resets): an error rate of
// 100% over them. A dead mirror's first probe round or first few requests
// make it pending, and it holds through every trial until one succeeds.
func judgeErrorRate(s health.Status, cfg *Config) finding {
	f := newFinding(ErrorRateHigh, s.Upstream)
	f.value, f.threshold = s.ErrorRate, cfg.ErrorRate
	if s.ConsecutiveFailures >= cfg.ErrorStreak && (s.Samples < cfg.MinSamples || s.ErrorRate <= cfg.ErrorRate) {
		f.holds, f.value = true, 1
		f.summary = fmt.Sprintf("upstream %s failed its last %d requests in a row%s",
			s.Upstream.Name, s.ConsecutiveFailures, lastFailure(s))
		return f
	}
	if s.Samples < cfg.MinSamples {
		// Too few outcomes to tell, as just after the breaker let the
		// upstream try again with a clean window: a firing alert about
		// a mirror that is still failing must not resolve and re-fire.
		f.unknown = true
		return f
	}
	if s.ErrorRate > cfg.ErrorRate {
		f.holds = true
		f.summary = fmt.Sprintf("upstream %s failed %.0f%% of its last %d requests, above %.0f%%%s",
			s.Upstream.Name, 100*s.ErrorRate, s.Samples, 100*cfg.ErrorRate, lastFailure(s))
	}
	return f
}

// judgeLatency applies latency_high to s against the upstream's baseline
// b, and adds the reading to b when it is new and the condition does not
// hold (see the package comment).
func judgeLatency(now time.Time, s health.Status, b *baseline, cfg *Config) finding {
	f := newFinding(LatencyHigh, s.Upstream)
	isNew := b.fresh(s.Requests + s.Probes)
	if s.EWMA <= 0 {
		return f // no latency in the pool's window: nothing to judge
	}
	v := s.EWMA.Seconds()
	floor := cfg.LatencyFloor.Seconds()
	dyn, ok := b.threshold(cfg.LatencyK, cfg.LatencyMinSpread, cfg.LatencyMinPoints)
	if ok && v > floor && v > dyn {
		thr := max(dyn, floor)
		f.holds, f.value, f.threshold = true, v, thr
		f.summary = fmt.Sprintf("upstream %s latency is %v, above %v (mean + %g·σ of its latency over %v, floor %v)",
			s.Upstream.Name, round(s.EWMA), round(seconds(thr)), cfg.LatencyK, cfg.LatencyWindow, cfg.LatencyFloor)
		return f
	}
	if isNew {
		b.add(now, v, cfg.LatencyWindow)
	}
	return f
}

// judgePool applies all_upstreams_down to the whole pool.
func judgePool(statuses []health.Status) finding {
	f := finding{key: key{rule: AllUpstreamsDown}, severity: P0}
	n, down := 0, 0
	for _, s := range statuses {
		if s.Upstream == nil {
			continue
		}
		n++
		if isDown(s.State) || s.State == health.StateQuarantined {
			down++
		}
	}
	f.value, f.threshold = float64(down), float64(n)
	if n > 0 && down == n {
		f.holds = true
		f.summary = fmt.Sprintf("all %d upstreams are down: serving from the cache only", n)
		if n == 1 {
			f.summary = "the only upstream is down: serving from the cache only"
		}
	}
	return f
}

// lastFailure describes s's latest failure for a summary, or is empty.
func lastFailure(s health.Status) string {
	if s.LastFailure == health.FailNone {
		return ""
	}
	return fmt.Sprintf("; last failure: %s", s.LastFailure)
}

// seconds converts seconds to a Duration.
func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// round rounds d to the millisecond, for summaries.
func round(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
