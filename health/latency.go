package health

import "time"

// LatencyP95 returns u's 95th-percentile latency (time to first byte) over
// the window, and false when the window holds no latency for it. The proxy
// derives its hedge delay from it.
func (p *Pool) LatencyP95(u *Upstream) (time.Duration, bool) {
	s := p.byUp[u]
	if s == nil {
		return 0, false
	}
	now := p.clock.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	s.advance(now, &p.cfg)
	if _, ok := s.win.latency(); !ok {
		return 0, false
	}
	_, p95, _ := s.win.percentiles()
	return p95, true
}
