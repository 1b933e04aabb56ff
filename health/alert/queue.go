package alert

import "sync"

// queue is a bounded FIFO that never blocks its producer: when full, push
// drops the oldest item. ready has a value whenever the queue may be
// non-empty, for the consumer to wait on.
type queue[T any] struct {
	mu    sync.Mutex
	items []T
	limit int
	ready chan struct{}
}

func newQueue[T any](limit int) *queue[T] {
	return &queue[T]{items: make([]T, 0, limit), limit: limit, ready: make(chan struct{}, 1)}
}

// push appends t, dropping the oldest item if the queue is full; it
// returns the one dropped, if any.
func (q *queue[T]) push(t T) (dropped T, full bool) {
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

// pop removes and returns the oldest item, if there is one.
func (q *queue[T]) pop() (T, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var t T
	if len(q.items) == 0 {
		return t, false
	}
	t = q.items[0]
	q.items = append(q.items[:0], q.items[1:]...)
	return t, true
}

// len returns the number of items queued.
func (q *queue[T]) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}
