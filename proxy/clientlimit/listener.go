// Package clientlimit bounds what the clients of an HTTP server can hold:
// open connections, the time to send a request, and the time to take an
// answer.
//
// A Listener wraps the server's net.Listener:
//
//   - It caps the connections open at once (Config.MaxConns). When a new
//     connection would go past the cap, the connection that has been
//     evictable the longest is closed to make room: an idle keep-alive
//     connection, one that has not sent its first request, or one whose
//     request body is being thrown away. Each has 100 ms of grace first,
//     and must be waiting for data (a request it sent is read first, if
//     late): when none is ready, accepting waits, so that a storm of new
//     connections does not close legitimate ones before their requests are
//     read. A connection whose request is being answered is never closed
//     for room (a write timeout bounds it instead); when every connection
//     is busy, the new one is closed at once (refused).
//   - Accept errors such as EMFILE neither spin nor end the server: an
//     evictable connection is closed to free a descriptor, and when there
//     is none, accepting backs off (5 ms, doubling to 1 s).
//   - Every connection it returns has a write deadline per piece of an
//     answer (each WriteChunk bytes get at least Config.WriteTimeout, at
//     most an eighth more: the deadline is moved only when less than the
//     timeout is left, which spares most answers a timer update), so a client
//     that does not read is closed, and answers sent from files keep going
//     out with sendfile.
//   - Handler wraps the server's handler so that request bodies, which no
//     handler reads, are thrown away within Config.BodyTimeout and
//     MaxDiscard bytes; a longer or slower one closes the connection.
//
// Connections closed for these reasons, refused ones and accept errors are
// counted (Stats) and logged at WARN at most once per Config.LogInterval,
// with the counts since the last warning.
//
// The http.Server must use the Listener's ConnState and ConnContext hooks:
//
//	ln := clientlimit.NewListener(inner, cfg)
//	srv := &http.Server{Handler: ln.Handler(h), ConnState: ln.ConnState, ConnContext: ln.ConnContext}
//	go ln.Run(ctx) // the periodic warning
//	srv.Serve(ln)
package clientlimit

import (
	"errors"
	"log/slog"
	"net"
	"sync"
	"syscall"
	"time"
)

// Defaults for the zero values of Config's fields.
const (
	// DefaultLogInterval is the shortest time between two warnings.
	DefaultLogInterval = 10 * time.Second
	// WriteChunk is the piece of an answer a client must take within the
	// write timeout: with the 30 s default, about 8.5 KiB/s at least.
	WriteChunk = 256 << 10
	// MaxDiscard is the most bytes of a request body thrown away before
	// the connection is closed instead.
	MaxDiscard = 64 << 10
)

// Accept back-off bounds.
const (
	minAcceptDelay = 5 * time.Millisecond
	maxAcceptDelay = time.Second
)

// evictGrace is how long a connection is evictable before it may be closed
// to make room: a new one has that long to send its first request, and an
// idle one its next. Under a storm of connections the Listener waits
// rather than close younger ones: accepting faster than requests are read
// would close the legitimate connections before their turn.
const evictGrace = 100 * time.Millisecond

// Beyond its grace, a connection is closed for room only once it has waited
// for data for readWait: a request already sent is read first, however
// long the server took to get to it. At most evictScan connections are
// looked at; when none is waiting, accepting pauses for evictPause.
const (
	readWait   = time.Millisecond
	evictScan  = 64
	evictPause = 10 * time.Millisecond
)

// Config says what clients may hold.
type Config struct {
	// MaxConns is the most connections open at once; at least 1.
	MaxConns int
	// WriteTimeout is how long a client may take to accept each
	// WriteChunk bytes of an answer before its connection is closed (at
	// least this long, at most an eighth longer); 0: no limit.
	WriteTimeout time.Duration
	// BodyTimeout is how long a request body may take to arrive (it is
	// thrown away) before the connection is closed; 0: no limit.
	BodyTimeout time.Duration
	// LogInterval is the shortest time between two overload warnings;
	// 0: DefaultLogInterval.
	LogInterval time.Duration
	// Logger receives the warnings; nil: slog.Default().
	Logger *slog.Logger
	// Now is the clock of the warnings' intervals; nil: time.Now.
	Now func() time.Time
}

// Listener is a net.Listener that caps and guards the connections it
// accepts; see the package documentation.
type Listener struct {
	inner net.Listener
	cfg   Config
	log   *slog.Logger

	// done is closed by Close, to end an accept back-off.
	done      chan struct{}
	closeOnce sync.Once

	// mu guards open and the evictable list.
	mu   sync.Mutex
	open int
	// evictable lists the connections that may be closed to make room,
	// in the order they became so: new ones that have not sent their
	// first request, and idle ones, between requests or throwing a
	// request body away.
	evictable connList

	stats   counters
	warning warning
}

// NewListener returns a Listener accepting from inner.
func NewListener(inner net.Listener, cfg Config) *Listener {
	if cfg.MaxConns < 1 {
		cfg.MaxConns = 1
	}
	if cfg.LogInterval <= 0 {
		cfg.LogInterval = DefaultLogInterval
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Listener{inner: inner, cfg: cfg, log: log, done: make(chan struct{})}
}

// Addr returns the inner listener's address.
func (l *Listener) Addr() net.Addr { return l.inner.Addr() }

// Close closes the inner listener and ends a pending Accept. Connections
// already accepted stay open: the http.Server closes them.
func (l *Listener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.inner.Close()
}

// Accept waits for a connection and returns it once it fits under the cap,
// closing an evictable connection to make room when needed. It returns an
// error only when the inner listener is closed or fails for good.
func (l *Listener) Accept() (net.Conn, error) {
	var delay time.Duration
	for {
		nc, err := l.inner.Accept()
		if err != nil {
			if !retryable(err) {
				return nil, err
			}
			l.stats.acceptErrors.Add(1)
			l.noteOverload()
			if outOfDescriptors(err) && l.evictOne() {
				delay = 0 // a descriptor was freed: try again at once
				continue
			}
			delay = min(max(2*delay, minAcceptDelay), maxAcceptDelay)
			l.log.Debug("accept failed; retrying", "err", err, "in", delay)
			select {
			case <-l.done:
				return nil, net.ErrClosed
			case <-time.After(delay):
			}
			continue
		}
		delay = 0
		if c := l.admit(nc); c != nil {
			return c, nil
		}
	}
}

// admit counts nc in, closing the connection evictable the longest when
// the cap is reached; when it has been evictable for less than its grace,
// admit waits for the grace to end. It returns nil, having closed nc, when
// nothing could be closed, or when the Listener is closed meanwhile.
func (l *Listener) admit(nc net.Conn) *Conn {
	c := &Conn{Conn: nc, l: l}
	c.state.Store(int32(stateNew))
	for {
		now := time.Now()
		l.mu.Lock()
		var victim *Conn
		var wait time.Duration
		if l.open >= l.cfg.MaxConns {
			victim, wait = l.victimLocked(now)
			if victim == nil && wait == 0 {
				l.mu.Unlock()
				l.stats.refused.Add(1)
				nc.Close()
				l.noteOverload()
				return nil
			}
		}
		if victim == nil && wait > 0 {
			l.mu.Unlock()
			select {
			case <-l.done:
				nc.Close()
				return nil
			case <-time.After(wait):
			}
			continue
		}
		if victim != nil {
			l.releaseLocked(victim)
		}
		l.open++
		l.stats.accepted.Add(1)
		c.since = now
		l.evictable.pushBack(c) // until its first request is read
		l.mu.Unlock()
		if victim != nil {
			l.evict(victim)
		}
		return c
	}
}

// victimLocked picks the connection to close for room: the one evictable
// the longest that is past its grace and waiting for data. Without one,
// wait is how long to wait before looking again, or 0 if nothing is
// evictable; l.mu is held.
func (l *Listener) victimLocked(now time.Time) (victim *Conn, wait time.Duration) {
	v := l.pruneBusyLocked(l.evictable.front())
	if v == nil {
		return nil, 0
	}
	for i := 0; v != nil && i < evictScan; v, i = l.pruneBusyLocked(v.next), i+1 {
		if age := now.Sub(v.since); age < evictGrace {
			return nil, evictGrace - age // so are those after it
		}
		if since := v.readingSince.Load(); since != 0 && now.UnixNano()-since >= int64(readWait) {
			return v, 0
		}
	}
	return nil, evictPause
}

// pruneBusyLocked returns v or the first connection after it on the
// evictable list that is not busy, taking the busy ones it passes off the
// list: a connection that starts a request is only marked busy (see
// ConnState), and is taken off here, once, if a scan meets it before it
// goes idle and returns to the back. l.mu is held.
func (l *Listener) pruneBusyLocked(v *Conn) *Conn {
	for v != nil && v.busy.Load() {
		next := v.next
		l.evictable.remove(v)
		v = next
	}
	return v
}

// evictOne closes a connection to free its descriptor, if one is
// evictable: the one victimLocked picks, or else the one evictable the
// longest, whatever its grace. It reports whether it closed one.
func (l *Listener) evictOne() bool {
	l.mu.Lock()
	victim, _ := l.victimLocked(time.Now())
	if victim == nil {
		victim = l.pruneBusyLocked(l.evictable.front())
	}
	if victim != nil {
		l.releaseLocked(victim)
	}
	l.mu.Unlock()
	if victim == nil {
		return false
	}
	l.evict(victim)
	return true
}

// evict closes c, already released, to make room.
func (l *Listener) evict(c *Conn) {
	l.stats.evicted.Add(1)
	c.closeConn()
	l.noteOverload()
}

// releaseLocked counts c out, once; l.mu is held.
func (l *Listener) releaseLocked(c *Conn) {
	if c.released {
		return
	}
	c.released = true
	l.evictable.remove(c)
	l.open--
}

// release counts c out, once.
func (l *Listener) release(c *Conn) {
	l.mu.Lock()
	l.releaseLocked(c)
	l.mu.Unlock()
}

// setIdle puts c at the back of the evictable list (it becomes the last
// to be closed for room), or takes it off.
func (l *Listener) setIdle(c *Conn, idle bool) {
	var now time.Time
	if idle {
		now = time.Now()
	}
	l.mu.Lock()
	if !c.released {
		l.evictable.remove(c)
		if idle {
			c.since = now
			l.evictable.pushBack(c)
		}
	}
	l.mu.Unlock()
}

// retryable reports whether an accept error is worth retrying: the
// process or system is out of descriptors or memory, or one connection
// failed before it was accepted.
func retryable(err error) bool {
	if errors.Is(err, net.ErrClosed) {
		return false
	}
	var errno syscall.Errno
	if !errors.As(err, &errno) {
		return false
	}
	return errno.Temporary() || errno == syscall.ENOBUFS || errno == syscall.ENOMEM
}

// outOfDescriptors reports whether err says the process or the system has
// no file descriptor left.
func outOfDescriptors(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE)
}

// connList is an intrusive doubly-linked list of connections.
type connList struct{ head, tail *Conn }

func (q *connList) front() *Conn { return q.head }

func (q *connList) pushBack(c *Conn) {
	c.list = q
	c.prev, c.next = q.tail, nil
	if q.tail != nil {
		q.tail.next = c
	} else {
		q.head = c
	}
	q.tail = c
}

func (q *connList) remove(c *Conn) {
	if c.list != q {
		return
	}
	if c.prev != nil {
		c.prev.next = c.next
	} else {
		q.head = c.next
	}
	if c.next != nil {
		c.next.prev = c.prev
	} else {
		q.tail = c.prev
	}
	c.prev, c.next, c.list = nil, nil, nil
}
