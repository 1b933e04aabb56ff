package proxy

import "sync/atomic"

// Stats counts what a Handler has done since it was created.
type Stats struct {
	// UpstreamAttempts counts requests sent to upstreams for answers,
	// hedges included (checksum-database lookups made by the verifier are
	// not counted).
	UpstreamAttempts uint64
	// Hedges counts the attempts sent because an earlier attempt for the
	// same answer had not started answering within its hedge delay;
	// HedgesWon counts those that served the answer.
	Hedges, HedgesWon uint64
}

// handlerStats holds a Handler's counters.
type handlerStats struct {
	attempts, hedges, hedgesWon atomic.Uint64
}

// attempt counts one upstream attempt, hedged or not.
func (s *handlerStats) attempt(hedged bool) {
	s.attempts.Add(1)
	if hedged {
		s.hedges.Add(1)
	}
}

// hedgeWon counts a hedge that served the answer.
func (s *handlerStats) hedgeWon() { s.hedgesWon.Add(1) }

// Stats returns the handler's counters.
func (h *Handler) Stats() Stats {
	return Stats{
		UpstreamAttempts: h.stats.attempts.Load(),
		Hedges:           h.stats.hedges.Load(),
		HedgesWon:        h.stats.hedgesWon.Load(),
	}
}
