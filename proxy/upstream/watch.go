package upstream

import (
	"context"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// watchedBody reads a response body under the idle timeout and the
// slow-body floor. Reads only count bytes and note the time of progress; a
// timer checks both rules, at the latest moment each could next be
// broken, and cancels the request with ErrIdleBody or ErrSlowBody when one
// is, which unblocks a pending Read.
type watchedBody struct {
	r      io.Reader
	cancel context.CancelCauseFunc
	start  time.Time     // when the header arrived
	idle   time.Duration // longest time without progress
	floor  int64         // bytes per second at least, after grace; 0: none
	grace  time.Duration

	read atomic.Int64 // bytes so far
	last atomic.Int64 // Unix nanoseconds of the latest progress

	mu    sync.Mutex
	timer *time.Timer
	done  bool
}

// watch starts watching body; call stop when done reading.
func (c *Client) watch(body io.Reader, cancel context.CancelCauseFunc, noFloor bool) *watchedBody {
	now := time.Now()
	w := &watchedBody{r: body, cancel: cancel, start: now, idle: c.cfg.IdleTimeout, grace: c.cfg.BodyGrace}
	if !noFloor {
		w.floor = c.cfg.MinBodyRate
	}
	w.last.Store(now.UnixNano())
	w.mu.Lock()
	w.timer = time.AfterFunc(w.nextCheck(now), w.check)
	w.mu.Unlock()
	return w
}

// Read reads from the body and notes progress.
func (w *watchedBody) Read(p []byte) (int, error) {
	n, err := w.r.Read(p)
	if n > 0 {
		w.read.Add(int64(n))
		w.last.Store(time.Now().UnixNano())
	}
	return n, err
}

// nextCheck is how long after now either rule could first be broken.
func (w *watchedBody) nextCheck(now time.Time) time.Duration {
	next := time.Unix(0, w.last.Load()).Add(w.idle)
	if w.floor > 0 {
		// The bytes read so far satisfy the floor until start + read/floor,
		// and at least until the grace ends.
		enough := w.start.Add(max(w.grace, time.Duration(float64(w.read.Load())/float64(w.floor)*float64(time.Second))))
		if enough.Before(next) {
			next = enough
		}
	}
	return max(next.Sub(now), time.Millisecond)
}

// check applies both rules now and arms the next check.
func (w *watchedBody) check() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return
	}
	now := time.Now()
	switch elapsed := now.Sub(w.start); {
	case now.Sub(time.Unix(0, w.last.Load())) >= w.idle:
		w.cancel(ErrIdleBody)
		return
	case w.floor > 0 && elapsed >= w.grace && float64(w.read.Load()) < float64(w.floor)*elapsed.Seconds():
		w.cancel(ErrSlowBody)
		return
	}
	w.timer.Reset(w.nextCheck(now))
}

// stop ends the watch.
func (w *watchedBody) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.done = true
	w.timer.Stop()
}
