package sharedtier

import (
	"context"
	"sync"
	"time"
)

// queue holds the uploads waiting, each with the time before which it
// must not be tried (its retry backoff). It is bounded: an Enqueue past
// its size is refused.
type queue struct {
	max int

	mu       sync.Mutex
	items    []Upload
	inFlight int
	closed   bool
	// wake is signalled when an item is added or finished.
	wake chan struct{}
}

func newQueue(max int) *queue {
	return &queue{max: max, wake: make(chan struct{}, 1)}
}

// signal wakes one waiter.
func (q *queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// push adds u, unless the queue is full or closed to new uploads (retry
// says u is a retry, which a closed queue still takes so that a drain
// keeps trying). It reports whether u was added.
func (q *queue) push(u Upload, retry bool) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if (q.closed && !retry) || len(q.items) >= q.max {
		return false
	}
	q.items = append(q.items, u)
	q.signal()
	return true
}

// pop waits for an upload whose time has come, or ctx's end.
func (q *queue) pop(ctx context.Context) (Upload, bool) {
	for {
		q.mu.Lock()
		now := time.Now()
		var next time.Time
		for i, u := range q.items {
			if !u.notBefore.After(now) {
				q.items = append(q.items[:i], q.items[i+1:]...)
				q.inFlight++
				if len(q.items) > 0 {
					q.signal() // another uploader may take the next
				}
				q.mu.Unlock()
				return u, true
			}
			if next.IsZero() || u.notBefore.Before(next) {
				next = u.notBefore
			}
		}
		q.mu.Unlock()
		var timer *time.Timer
		var due <-chan time.Time
		if !next.IsZero() {
			timer = time.NewTimer(time.Until(next))
			due = timer.C
		}
		select {
		case <-ctx.Done():
		case <-q.wake:
		case <-due:
		}
		if timer != nil {
			timer.Stop()
		}
		if ctx.Err() != nil {
			return Upload{}, false
		}
	}
}

// finish marks an upload popped earlier as no longer in flight.
func (q *queue) finish() {
	q.mu.Lock()
	q.inFlight--
	q.mu.Unlock()
	q.signal()
}

// depth returns how many uploads wait or run.
func (q *queue) depth() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items) + q.inFlight
}

// close refuses new uploads from now on.
func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
}

// drained waits until nothing waits or runs, or ctx ends, or giveUp
// says that waiting is pointless.
func (q *queue) drained(ctx context.Context, giveUp func() bool) {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for q.depth() > 0 && !giveUp() {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// abandon empties the queue and returns how many uploads it held.
func (q *queue) abandon() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := len(q.items) + q.inFlight
	q.items = nil
	return n
}
