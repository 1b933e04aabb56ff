package health

import "time"

// LatencyP95 returns u's 95th-percentile latency (time to first byte) over
// the window as of now, and false when the window holds no latency for it
// (or u is not in the pool). The proxy derives its hedge delay from it. It
// changes nothing.
func (p *Pool) LatencyP95(u *Upstream) (time.Duration, bool) {
	m := p.byUp[u]
	if m == nil {
		return 0, false
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	l := m.lookAt(p.clock.Now(), &p.cfg)
	if l.win.latencies == 0 {
		return 0, false
	}
	_, p95, _ := m.win.percentiles(l.win)
	return p95, true
}
