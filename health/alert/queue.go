package alert

import "sync"

// queue is a bounded FIFO of transitions that never blocks its producer:
// when full, push drops the oldest. ready has a value whenever the queue
// may be non-empty, for the consumer to wait on.
type queue struct {
	mu    sync.Mutex
	items []Transition
	limit int
	ready chan struct{}
}

func newQueue(limit int) *queue {
	return &queue{items: make([]Transition, 0, limit), limit: limit, ready: make(chan struct{}, 1)}
}

// push appends t, dropping the oldest transition if the queue is full; it
// returns the one dropped, if any.
func (q *queue) push(t Transition) (dropped Transition, full bool) {
	q.mu.Lock()
	if len(q.items) >= q.limit {
		dropped, full = q.items[0], true
		q.items = append(q.items[:0], q.items[1:]...)
	}
	q.items = append(q.items, t)
	q.mu.Unlock()
	select {
	case q.ready <- struct{}{}:
	default:
	}
	return dropped, full
}

// pop removes and returns the oldest transition, if there is one.
func (q *queue) pop() (Transition, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.items) == 0 {
		return Transition{}, false
	}
	t := q.items[0]
	q.items = append(q.items[:0], q.items[1:]...)
	return t, true
}

// len returns the number of transitions queued.
func (q *queue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}
