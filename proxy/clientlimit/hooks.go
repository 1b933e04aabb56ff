package clientlimit

import (
	"context"
	"net"
	"net/http"
)

// ConnState is the http.Server's ConnState hook: it keeps the evictable
// list in order. A connection stops being evictable when its request has
// been read, and becomes evictable again when it goes idle after the
// answer (at the back of the list: the last to be closed).
func (l *Listener) ConnState(nc net.Conn, s http.ConnState) {
	c, ok := nc.(*Conn)
	if !ok {
		return
	}
	switch s {
	case http.StateActive:
		// Only marked busy: a busy connection is never picked for room
		// (victimLocked skips it), so it keeps its place on the
		// evictable list until it goes idle, without the lock on every
		// request.
		c.state.Store(int32(stateActive))
		c.busy.Store(true)
	case http.StateHijacked:
		c.state.Store(int32(stateActive))
		c.busy.Store(true)
		l.setIdle(c, false)
	case http.StateIdle:
		c.state.Store(int32(stateIdle))
		c.busy.Store(false)
		l.setIdle(c, true)
	case http.StateClosed:
		l.release(c)
	}
}

// connKey is the request context key of the Conn a request came on.
type connKey struct{}

// ConnContext is the http.Server's ConnContext hook: it makes the Conn
// known to Handler, which lets it be closed for room while a request body
// is thrown away.
func (l *Listener) ConnContext(ctx context.Context, nc net.Conn) context.Context {
	if c, ok := nc.(*Conn); ok {
		return context.WithValue(ctx, connKey{}, c)
	}
	return ctx
}
