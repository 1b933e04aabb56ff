package health

// Admit reports whether a request may be sent to u now, by its breaker
// alone: yes while the breaker is closed and no Retry-After holds it, and
// for a trial while it is half-open and a trial is free (the trial is then
// granted, as Candidates grants one). It is the gate for a single
// dependency that has no peers to be ranked against, such as the shared
// object store: when it says no, the caller goes without. It is a write,
// like Candidates: call it only to make a request. An upstream not in the
// pool is never admitted.
func (p *Pool) Admit(u *Upstream) bool {
	m := p.byUp[u]
	if m == nil {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.clock.Now()
	m.settle(now, &p.cfg)
	switch {
	case m.br.held(now):
		return false
	case m.br.state == closed:
		return true
	case m.br.canTrial(&p.cfg):
		m.br.grant(now)
		m.written(now, &p.cfg)
		p.fresh.Store(false)
		return true
	}
	return false
}
