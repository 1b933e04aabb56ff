package main

import (
	"slices"

	"github.com/gofailover/gofailover/health"
)

// pools are the server's upstream pools: the public one, and the one for
// private modules when private upstreams are configured (else nil). The
// history, the alerts and the status page watch both.
type pools struct {
	public, private *health.Pool
}

// Snapshot returns the health of every upstream, the public ones first.
func (p pools) Snapshot() []health.Status {
	out := p.public.Snapshot()
	if p.private != nil {
		out = append(out, p.private.Snapshot()...)
	}
	return out
}

// isPrivate reports whether u is an upstream for private modules.
func (p pools) isPrivate(u *health.Upstream) bool {
	return p.private != nil && slices.Contains(p.private.Upstreams(), u)
}
