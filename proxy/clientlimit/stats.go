package clientlimit

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// Stats are a Listener's counts since it was created.
type Stats struct {
	// Open is the number of connections open now; Max is the cap.
	Open, Max int
	// Accepted counts the connections let in.
	Accepted uint64
	// Refused counts the connections closed at once because the cap was
	// reached and no connection could be closed to make room.
	Refused uint64
	// AcceptErrors counts failed accepts (such as EMFILE), each followed
	// by a retry.
	AcceptErrors uint64
	// Closed counts the connections closed by the server, by reason.
	Closed Closed
}

// Closed counts the connections closed by the server, by reason.
type Closed struct {
	// Evicted: closed to make room for a new one, while idle, before
	// finishing its first request, or while its body was thrown away.
	Evicted uint64
	// HeaderTimeout: a request's header did not arrive in time (the
	// http.Server's ReadHeaderTimeout), the first request's included.
	HeaderTimeout uint64
	// IdleTimeout: no new request arrived in time (the http.Server's
	// IdleTimeout): the ordinary end of a keep-alive connection.
	IdleTimeout uint64
	// BodyTimeout: a request body did not arrive within BodyTimeout.
	BodyTimeout uint64
	// BodyTooLarge: a request body was longer than MaxDiscard.
	BodyTooLarge uint64
	// WriteTimeout: the client did not take an answer's next WriteChunk
	// bytes within WriteTimeout.
	WriteTimeout uint64
}

// Reason is a count of connections closed for one reason.
type Reason struct {
	// Name is evicted, header_timeout, idle_timeout, body_timeout,
	// body_too_large or write_timeout.
	Name  string
	Count uint64
}

// Reasons lists the counts with their names, in a fixed order.
func (c Closed) Reasons() []Reason {
	return []Reason{
		{"evicted", c.Evicted},
		{"header_timeout", c.HeaderTimeout},
		{"idle_timeout", c.IdleTimeout},
		{"body_timeout", c.BodyTimeout},
		{"body_too_large", c.BodyTooLarge},
		{"write_timeout", c.WriteTimeout},
	}
}

// counters are the Listener's atomic counts, read by Stats.
type counters struct {
	accepted, refused, acceptErrors       atomic.Uint64
	evicted, headerTimeouts, idleTimeouts atomic.Uint64
	bodyTimeouts, bodiesTooLarge          atomic.Uint64
	writeTimeouts                         atomic.Uint64
}

// Stats returns the Listener's counts.
func (l *Listener) Stats() Stats {
	l.mu.Lock()
	open := l.open
	l.mu.Unlock()
	s := &l.stats
	return Stats{
		Open:         open,
		Max:          l.cfg.MaxConns,
		Accepted:     s.accepted.Load(),
		Refused:      s.refused.Load(),
		AcceptErrors: s.acceptErrors.Load(),
		Closed: Closed{
			Evicted:       s.evicted.Load(),
			HeaderTimeout: s.headerTimeouts.Load(),
			IdleTimeout:   s.idleTimeouts.Load(),
			BodyTimeout:   s.bodyTimeouts.Load(),
			BodyTooLarge:  s.bodiesTooLarge.Load(),
			WriteTimeout:  s.writeTimeouts.Load(),
		},
	}
}

// warning is the state of the overload warning: at most one per
// LogInterval, with the counts since the previous one.
type warning struct {
	// due is the UnixNano time before which no warning is logged: the
	// fast path of noteOverload reads it without the lock.
	due atomic.Int64
	mu  sync.Mutex
	// last is the counts as of the previous warning, and at the time.
	last   Stats
	lastAt time.Time
}

// noteOverload logs a warning now if one is due.
func (l *Listener) noteOverload() {
	if l.cfg.Now().UnixNano() < l.warning.due.Load() {
		return
	}
	l.warn()
}

// Run logs, once per LogInterval, the overload that noteOverload left for
// later, until ctx is done.
func (l *Listener) Run(ctx context.Context) {
	t := time.NewTicker(l.cfg.LogInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			l.warn()
		}
	}
}

// warn logs the overload since the previous warning, if there is any and
// the interval has passed.
func (l *Listener) warn() {
	w := &l.warning
	w.mu.Lock()
	defer w.mu.Unlock()
	now := l.cfg.Now()
	if now.UnixNano() < w.due.Load() {
		return
	}
	st := l.Stats()
	p := w.last
	d := Stats{
		Refused:      st.Refused - p.Refused,
		AcceptErrors: st.AcceptErrors - p.AcceptErrors,
		Closed: Closed{
			Evicted:       st.Closed.Evicted - p.Closed.Evicted,
			HeaderTimeout: st.Closed.HeaderTimeout - p.Closed.HeaderTimeout,
			BodyTimeout:   st.Closed.BodyTimeout - p.Closed.BodyTimeout,
			BodyTooLarge:  st.Closed.BodyTooLarge - p.Closed.BodyTooLarge,
			WriteTimeout:  st.Closed.WriteTimeout - p.Closed.WriteTimeout,
		},
	}
	if d.Refused+d.AcceptErrors+d.Closed.Evicted+d.Closed.HeaderTimeout+d.Closed.BodyTimeout+d.Closed.BodyTooLarge+d.Closed.WriteTimeout == 0 {
		return
	}
	args := []any{
		"refused", d.Refused,
		"evicted", d.Closed.Evicted,
		"header_timeouts", d.Closed.HeaderTimeout,
		"body_timeouts", d.Closed.BodyTimeout,
		"bodies_too_large", d.Closed.BodyTooLarge,
		"write_timeouts", d.Closed.WriteTimeout,
		"accept_errors", d.AcceptErrors,
		"open", st.Open,
		"max", st.Max,
	}
	if !w.lastAt.IsZero() {
		args = append(args, "since", now.Sub(w.lastAt).Round(time.Millisecond))
	}
	l.log.Warn("client connections refused or closed: overload or misbehaving clients", args...)
	w.last, w.lastAt = st, now
	w.due.Store(now.Add(l.cfg.LogInterval).UnixNano())
}
