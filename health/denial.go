package health

import (
	"net/http"
	"time"
)

// Denial is a definitive "not found" (403, 404 or 410; 400 is not a
// denial) that an upstream gave for a protocol path another upstream
// served with a 200.
//
// A denying upstream is marked (see Pool.ReportDenial): it shows as
// degraded, its Status carries the latest Denial, and it scores
// Config.StalePenalty worse, until it serves that path or Config.Window
// has passed since the denial.
type Denial struct {
	// Path is the protocol path denied, as in Outcome.Path.
	Path string
	// Status is the status the upstream answered with: 403, 404 or 410.
	Status int
	// ServedBy names the upstream that served Path with a 200.
	ServedBy string
	// At is when the denial was reported.
	At time.Time
}

// DenialReason says what a Denial suggests is wrong with the upstream.
type DenialReason string

// The reasons of a Denial.
const (
	// DenialMisconfigured: it said 403, forbidding what another upstream
	// serves, which is a matter of its configuration (an access rule, a
	// missing credential, a policy on the module).
	DenialMisconfigured DenialReason = "misconfigured"
	// DenialStale: it said 404 or 410, not knowing what another upstream
	// serves: it is behind.
	DenialStale DenialReason = "stale"
)

// Reason returns what d suggests: DenialMisconfigured for a 403,
// DenialStale for a 404 or 410.
func (d Denial) Reason() DenialReason {
	if d.Status == http.StatusForbidden {
		return DenialMisconfigured
	}
	return DenialStale
}

// isDenial reports whether status is a definitive "not found" a Denial
// may carry.
func isDenial(status int) bool {
	switch status {
	case http.StatusForbidden, http.StatusNotFound, http.StatusGone:
		return true
	}
	return false
}

// ReportDenial records that u answered status for path, which the upstream
// named servedBy served with a 200 (see Denial). It marks u until u serves
// path (a Report of an Outcome with that Path, status 200 and no Failure)
// or Config.Window has passed since; a later denial replaces an earlier
// one. A status other than 403, 404 or 410, an empty path, or an upstream
// not in the pool is ignored.
func (p *Pool) ReportDenial(u *Upstream, path string, status int, servedBy string) {
	m := p.byUp[u]
	if m == nil || path == "" || !isDenial(status) {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.clock.Now()
	m.settle(now, &p.cfg)
	m.denial = &Denial{Path: path, Status: status, ServedBy: servedBy, At: now}
	m.written(now, &p.cfg)
	p.fresh.Store(false)
}

// deniedAt returns m's denial if it still holds at now, nil otherwise.
func (m *member) deniedAt(now time.Time, cfg *Config) *Denial {
	if m.denial == nil || !now.Before(m.denialEnd(cfg)) {
		return nil
	}
	return m.denial
}

// denialEnd is when m's denial (which must be set) stops holding.
func (m *member) denialEnd(cfg *Config) time.Time { return m.denial.At.Add(cfg.Window) }

// served applies to m's denial an outcome reported: serving the denied
// path clears it.
func (m *member) served(o Outcome) {
	if m.denial != nil && o.Failure == FailNone && o.Status == http.StatusOK && o.Path == m.denial.Path {
		m.denial = nil
	}
}
