package clientlimit

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// connState is where a connection is in its life, as far as telling why a
// read timed out goes.
type connState int32

const (
	// stateNew: accepted, its first request not read yet.
	stateNew connState = iota
	// stateIdle: between requests, nothing of the next one read yet.
	stateIdle
	// stateReading: between requests, part of the next one read.
	stateReading
	// stateActive: a request is being answered.
	stateActive
)

// Conn is a connection the Listener accepted. Each write of an answer, and
// each WriteChunk bytes of a longer one, must be taken by the client within
// the write timeout; files still go out with sendfile (ReadFrom).
type Conn struct {
	net.Conn
	l *Listener

	state atomic.Int32 // a connState
	// busy: a request is being answered; the connection is not closed
	// for room, wherever it is on the evictable list.
	busy atomic.Bool
	// readingSince is when the pending Read started (UnixNano), 0 when
	// none is: a connection waiting for data may be closed for room.
	readingSince atomic.Int64
	// readTimeoutSeen and writeTimedOut: the connection's read and write
	// timeouts are counted once.
	readTimeoutSeen, writeTimedOut atomic.Bool
	// writeDeadline is the write deadline last set (UnixNano), 0 when
	// none is (see armWriteDeadline).
	writeDeadline atomic.Int64

	closeOnce sync.Once
	closeErr  error

	// Guarded by l.mu: the evictable list if the connection is on it (nil
	// if not), its place there and since when; and whether it has been
	// counted out of the open ones.
	list       *connList
	prev, next *Conn
	since      time.Time
	released   bool
}

// Read reads from the connection, noting how long it has waited for data,
// and a read that timed out: the header timeout of a request, or the idle
// timeout between requests. While a request is answered, the server's own
// reads (it watches for the client going away) are passed through: the
// connection is not evictable then, and a timeout is not the client's.
func (c *Conn) Read(p []byte) (int, error) {
	if c.busy.Load() {
		return c.Conn.Read(p)
	}
	c.readingSince.Store(time.Now().UnixNano())
	n, err := c.Conn.Read(p)
	c.readingSince.Store(0)
	if n > 0 && connState(c.state.Load()) == stateIdle {
		c.state.CompareAndSwap(int32(stateIdle), int32(stateReading))
	}
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		c.readTimedOut()
	}
	return n, err
}

// readTimedOut counts a read that hit its deadline, by what was being
// read, once per connection: the server closes it after the first, though
// the header parser may read again (and time out again) before it does. A
// timeout while a request is answered is the body guard's, or the server
// aborting its own background read: neither is counted here.
func (c *Conn) readTimedOut() {
	switch connState(c.state.Load()) {
	case stateNew, stateReading:
		if c.readTimeoutSeen.CompareAndSwap(false, true) {
			c.l.stats.headerTimeouts.Add(1)
			c.l.noteOverload()
		}
	case stateIdle:
		if c.readTimeoutSeen.CompareAndSwap(false, true) {
			c.l.stats.idleTimeouts.Add(1)
		}
	}
}

// Write writes p in pieces of at most WriteChunk bytes, each with the
// write timeout as its deadline.
func (c *Conn) Write(p []byte) (int, error) {
	timeout := c.l.cfg.WriteTimeout
	if timeout <= 0 {
		return c.Conn.Write(p)
	}
	var n int
	for len(p) > 0 {
		piece := p[:min(len(p), WriteChunk)]
		c.armWriteDeadline(timeout)
		m, err := c.Conn.Write(piece)
		n += m
		if err != nil {
			c.writeFailed(err)
			return n, err
		}
		p = p[m:]
	}
	return n, nil
}

// ReadFrom copies r to the connection with the inner connection's
// ReadFrom, which sends files with sendfile, in pieces of at most
// WriteChunk bytes, each with the write timeout as its deadline. An
// *io.LimitedReader's limit is kept and updated, as the inner ReadFrom
// does.
func (c *Conn) ReadFrom(r io.Reader) (int64, error) {
	rf, ok := c.Conn.(io.ReaderFrom)
	if !ok {
		return io.Copy(writerOnly{c}, r)
	}
	timeout := c.l.cfg.WriteTimeout
	if timeout <= 0 {
		return rf.ReadFrom(r)
	}
	src, remain := r, int64(-1) // -1: until r ends
	lr, limited := r.(*io.LimitedReader)
	if limited {
		src, remain = lr.R, lr.N
	}
	piece := &io.LimitedReader{R: src}
	var total int64
	var err error
	for remain != 0 {
		want := int64(WriteChunk)
		if remain > 0 {
			want = min(want, remain)
		}
		piece.N = want
		c.armWriteDeadline(timeout)
		var n int64
		n, err = rf.ReadFrom(piece)
		total += n
		if remain > 0 {
			remain -= n
		}
		if err != nil {
			c.writeFailed(err)
			break
		}
		if n < want {
			break // r ended
		}
	}
	if limited {
		lr.N = max(remain, 0)
	}
	return total, err
}

// writeSlack is the share of the write timeout a write deadline is set
// beyond it (see armWriteDeadline).
const writeSlack = 8

// armWriteDeadline gives the next piece of an answer at least the write
// timeout, and at most an eighth more: the deadline is moved only when
// less than the timeout is left, and then to timeout + timeout/writeSlack
// from now. Moving a deadline costs a timer update; this way most writes
// (a whole small answer is one) leave it alone.
func (c *Conn) armWriteDeadline(timeout time.Duration) {
	now := time.Now().UnixNano()
	if d := c.writeDeadline.Load(); d != 0 && d-now >= int64(timeout) {
		return
	}
	c.SetWriteDeadline(time.Unix(0, now+int64(timeout+timeout/writeSlack)))
}

// SetWriteDeadline sets the connection's write deadline, noting it for
// armWriteDeadline.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.noteWriteDeadline(t)
	return c.Conn.SetWriteDeadline(t)
}

// SetDeadline sets the connection's read and write deadlines, noting the
// latter for armWriteDeadline.
func (c *Conn) SetDeadline(t time.Time) error {
	c.noteWriteDeadline(t)
	return c.Conn.SetDeadline(t)
}

// noteWriteDeadline notes t as the write deadline (0: none).
func (c *Conn) noteWriteDeadline(t time.Time) {
	if t.IsZero() {
		c.writeDeadline.Store(0)
		return
	}
	c.writeDeadline.Store(t.UnixNano())
}

// writerOnly hides a writer's ReadFrom, so that io.Copy uses its Write.
type writerOnly struct{ io.Writer }

// writeFailed counts a write that hit its deadline, once per connection.
func (c *Conn) writeFailed(err error) {
	if errors.Is(err, os.ErrDeadlineExceeded) && c.writeTimedOut.CompareAndSwap(false, true) {
		c.l.stats.writeTimeouts.Add(1)
		c.l.noteOverload()
	}
}

// CloseWrite shuts down the writing side, when the inner connection can:
// the http.Server does so before closing a connection whose request body
// it did not read, so that the client sees the answer rather than a reset.
func (c *Conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// Close closes the connection and counts it out of the open ones.
func (c *Conn) Close() error {
	c.l.release(c)
	return c.closeConn()
}

// closeConn closes the inner connection, once.
func (c *Conn) closeConn() error {
	c.closeOnce.Do(func() { c.closeErr = c.Conn.Close() })
	return c.closeErr
}
