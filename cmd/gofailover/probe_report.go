package main

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gofailover/gofailover/health"
)

// verdict is what a probe run makes of a mirror, or of all of them.
type verdict string

// The verdicts.
const (
	// verdictHealthy: every request was answered as a good mirror answers
	// (200, or 404/410 where no other mirror serves the file), and its
	// @v/list is up to date. Of all mirrors: every one is healthy.
	verdictHealthy verdict = "healthy"
	// verdictDegraded: some answers, but failures, a stale @v/list, or a
	// 404/410 for a file another mirror serves. Of all mirrors: not every
	// one is healthy, but at least one is usable.
	verdictDegraded verdict = "degraded"
	// verdictUnusable: no request got an answer. Of all mirrors: none is
	// usable.
	verdictUnusable verdict = "unusable"
)

// exitStatus is the probe command's exit status for the verdict on all
// mirrors.
func (v verdict) exitStatus() int {
	switch v {
	case verdictHealthy:
		return exitProbeHealthy
	case verdictDegraded:
		return exitProbeDegraded
	}
	return exitProbeUnusable
}

// probeReport is what a probe run showed, as printed by writeProbeTable
// and writeProbeJSON.
type probeReport struct {
	// Module and Version are the probe module and version ("" when not
	// probed); SumDB is the checksum database name ("" when off).
	Module  string `json:"module"`
	Version string `json:"version"`
	SumDB   string `json:"sumdb"`
	// Rounds is how many times every mirror was asked for every endpoint,
	// IntervalSeconds the pause between rounds and TimeoutSeconds the
	// bound on each request.
	Rounds          int     `json:"rounds"`
	IntervalSeconds float64 `json:"interval_seconds"`
	TimeoutSeconds  float64 `json:"timeout_seconds"`
	// Verdict is the verdict on all mirrors; it gives the exit status.
	Verdict verdict `json:"verdict"`
	// Mirrors holds one report per mirror, in the order given.
	Mirrors []mirrorReport `json:"mirrors"`
}

// mirrorReport is what a probe run showed of one mirror.
type mirrorReport struct {
	// URL is the mirror's base URL without credentials.
	URL string `json:"url"`
	// Verdict is the verdict on the mirror.
	Verdict verdict `json:"verdict"`
	// Reachable says whether any request got a response at all.
	Reachable bool `json:"reachable"`
	// Requests counts the requests made, Failures those that got no
	// usable answer, FailuresByKind those by failure kind (health's
	// FailureKind: "refused", "timeout", "5xx", "bad_body", ...), and
	// Skipped the requests not made because an earlier one of the same
	// round could not reach the mirror or was told to back off.
	Requests       int            `json:"requests"`
	Failures       int            `json:"failures"`
	FailuresByKind map[string]int `json:"failures_by_kind"`
	Skipped        int            `json:"skipped"`
	// LatencyP50Seconds, LatencyP95Seconds and LatencyP99Seconds are the
	// percentiles of the time to the first byte of a response over every
	// request that got one; null when none did.
	LatencyP50Seconds *float64 `json:"latency_p50_seconds"`
	LatencyP95Seconds *float64 `json:"latency_p95_seconds"`
	LatencyP99Seconds *float64 `json:"latency_p99_seconds"`
	// Versions is the mirror's latest good @v/list of the probe module.
	Versions []string `json:"versions"`
	// Stale lists the versions that list lacks though another mirror
	// listed them, in two list probes in a row.
	Stale []string `json:"stale"`
	// LastError is the latest failure's error ("" when none).
	LastError string `json:"last_error"`
	// Endpoints holds one report per probe request, in the order made.
	Endpoints []endpointReport `json:"endpoints"`
	// Problems says in one line each what keeps the mirror from being
	// healthy.
	Problems []string `json:"problems"`
}

// endpointReport is what the requests for one endpoint of one mirror
// showed over the rounds.
type endpointReport struct {
	// Kind names the request (health's ProbeKind: "sumdb-supported",
	// "list", "info", "mod", "zip", "latest") and URL is its URL without
	// credentials.
	Kind health.ProbeKind `json:"kind"`
	URL  string           `json:"url"`
	// Requests, Failures, FailuresByKind and Skipped count as in
	// mirrorReport.
	Requests       int            `json:"requests"`
	Failures       int            `json:"failures"`
	FailuresByKind map[string]int `json:"failures_by_kind"`
	Skipped        int            `json:"skipped"`
	// Statuses are the distinct HTTP statuses received, ascending.
	Statuses []int `json:"statuses"`
	// Outcomes are the distinct outcomes: an HTTP status, or the failure
	// kind of a request that got no status or a 200 it could not use
	// ("timeout", "bad_body", ...); statuses first, ascending.
	Outcomes []string `json:"outcomes"`
	// Missing says the mirror answered only 404 or 410 here while another
	// mirror answered 200.
	Missing bool `json:"missing"`

	served    bool // some request got a usable 200
	notFound  bool // some request got a 404 or 410
	statusSet map[int]bool
	outcomes  map[string]bool
}

// summarize builds the report of a run from its results, round by round
// (each in the pool's upstream order), and the pool's snapshot after it.
func summarize(c *probeCheck, rounds [][]health.ProbeResult, snapshot []health.Status) *probeReport {
	r := &probeReport{
		Module:          c.probe.Module,
		Version:         c.probe.Version,
		SumDB:           c.probe.SumDB,
		Rounds:          c.opts.rounds,
		IntervalSeconds: c.opts.interval.Seconds(),
		TimeoutSeconds:  c.probe.Timeout.Seconds(),
		Mirrors:         make([]mirrorReport, len(c.upstreams)),
	}
	for i, u := range c.upstreams {
		m := &r.Mirrors[i]
		*m = mirrorReport{URL: u.Name, FailuresByKind: map[string]int{}, Versions: []string{}, Stale: []string{}, Problems: []string{}}
		for _, round := range rounds {
			m.add(round[i])
		}
		m.addStatus(snapshot[i])
	}
	flagMissing(r.Mirrors)
	usable, healthy := 0, 0
	for i := range r.Mirrors {
		m := &r.Mirrors[i]
		m.finish(c.probe.Module)
		switch m.Verdict {
		case verdictHealthy:
			healthy++
			usable++
		case verdictDegraded:
			usable++
		}
	}
	switch {
	case healthy == len(r.Mirrors):
		r.Verdict = verdictHealthy
	case usable > 0:
		r.Verdict = verdictDegraded
	default:
		r.Verdict = verdictUnusable
	}
	return r
}

// add takes in one probe round of the mirror.
func (m *mirrorReport) add(res health.ProbeResult) {
	for _, e := range res.Endpoints {
		ep := m.endpoint(e.Kind, e.URL)
		switch {
		case e.Skipped:
			ep.Skipped++
			m.Skipped++
			continue
		case !e.Reported:
			continue // cut short by the caller
		}
		o := e.Outcome
		ep.Requests++
		m.Requests++
		if o.Status != 0 {
			m.Reachable = true
			ep.statusSet[o.Status] = true
		}
		if o.Failure != health.FailNone {
			ep.Failures++
			ep.FailuresByKind[string(o.Failure)]++
			m.Failures++
			m.FailuresByKind[string(o.Failure)]++
		}
		switch {
		case o.Status != 0 && (o.Failure == health.FailNone || o.Status != http.StatusOK):
			ep.outcomes[strconv.Itoa(o.Status)] = true
		default:
			ep.outcomes[string(o.Failure)] = true
		}
		switch {
		case o.Failure != health.FailNone:
		case o.Status == http.StatusOK:
			ep.served = true
		default:
			ep.notFound = true
		}
		if e.Kind == health.ProbeList && o.Status == http.StatusOK && o.Failure == health.FailNone {
			m.Versions = append([]string{}, e.Versions...)
			m.Stale = append([]string{}, res.Stale...)
		}
	}
}

// endpoint returns the mirror's report of the endpoint kind, adding it if
// it is new.
func (m *mirrorReport) endpoint(kind health.ProbeKind, url string) *endpointReport {
	for i := range m.Endpoints {
		if m.Endpoints[i].Kind == kind {
			return &m.Endpoints[i]
		}
	}
	m.Endpoints = append(m.Endpoints, endpointReport{
		Kind:           kind,
		URL:            url,
		FailuresByKind: map[string]int{},
		statusSet:      map[int]bool{},
		outcomes:       map[string]bool{},
	})
	return &m.Endpoints[len(m.Endpoints)-1]
}

// addStatus takes the latency percentiles and the latest error from the
// pool's view of the mirror.
func (m *mirrorReport) addStatus(s health.Status) {
	if m.Reachable {
		m.LatencyP50Seconds = seconds(s.P50)
		m.LatencyP95Seconds = seconds(s.P95)
		m.LatencyP99Seconds = seconds(s.P99)
	}
	if s.LastError != nil && m.Failures > 0 {
		m.LastError = s.LastError.Error()
	}
}

// seconds returns d in seconds, for JSON.
func seconds(d time.Duration) *float64 {
	s := d.Seconds()
	return &s
}

// flagMissing marks the endpoints a mirror answered only with 404 or 410
// while another mirror served them.
func flagMissing(mirrors []mirrorReport) {
	for i := range mirrors {
		for j := range mirrors[i].Endpoints {
			ep := &mirrors[i].Endpoints[j]
			if ep.served || !ep.notFound {
				continue
			}
			for k := range mirrors {
				for _, other := range mirrors[k].Endpoints {
					if k != i && other.Kind == ep.Kind && other.served {
						ep.Missing = true
					}
				}
			}
		}
	}
}

// finish sorts what add collected, states the problems and gives the
// verdict. module is the probe module.
func (m *mirrorReport) finish(module string) {
	missing := false
	for i := range m.Endpoints {
		ep := &m.Endpoints[i]
		ep.Statuses = sortedStatuses(ep.statusSet)
		ep.Outcomes = sortedOutcomes(ep.outcomes)
		missing = missing || ep.Missing
	}
	if m.Failures > 0 {
		p := fmt.Sprintf("%d of %d requests failed (%s)", m.Failures, m.Requests, countsText(m.FailuresByKind))
		if m.Skipped > 0 {
			p += fmt.Sprintf(", %d skipped after a failure", m.Skipped)
		}
		if m.LastError != "" {
			p += "; last error: " + m.LastError
		}
		m.Problems = append(m.Problems, p)
	}
	if len(m.Stale) > 0 {
		m.Problems = append(m.Problems, fmt.Sprintf("stale: its @v/list of %s lacks %s, which another mirror lists",
			module, strings.Join(m.Stale, ", ")))
	}
	for _, ep := range m.Endpoints {
		if ep.Missing {
			m.Problems = append(m.Problems, fmt.Sprintf("answers %s to %s, which another mirror serves",
				strings.Join(ep.Outcomes, ","), ep.URL))
		}
	}
	switch {
	case m.Requests == m.Failures:
		m.Verdict = verdictUnusable
	case m.Failures > 0 || m.Skipped > 0 || len(m.Stale) > 0 || missing:
		m.Verdict = verdictDegraded
	default:
		m.Verdict = verdictHealthy
	}
}

// sortedStatuses returns the statuses in set, ascending.
func sortedStatuses(set map[int]bool) []int {
	out := make([]int, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// sortedOutcomes returns the outcomes in set: HTTP statuses first,
// ascending, then failure kinds in alphabetical order.
func sortedOutcomes(set map[string]bool) []string {
	out := make([]string, 0, len(set))
	for o := range set {
		out = append(out, o)
	}
	sort.Slice(out, func(i, j int) bool {
		a, aErr := strconv.Atoi(out[i])
		b, bErr := strconv.Atoi(out[j])
		switch {
		case aErr == nil && bErr == nil:
			return a < b
		case aErr == nil || bErr == nil:
			return aErr == nil
		}
		return out[i] < out[j]
	})
	return out
}

// countsText writes counts by name as "a: 1, b: 2", sorted by name.
func countsText(counts map[string]int) string {
	names := make([]string, 0, len(counts))
	for n := range counts {
		names = append(names, n)
	}
	slices.Sort(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s: %d", n, counts[n])
	}
	return strings.Join(parts, ", ")
}
