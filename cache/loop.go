package cache

import "time"

// every is the body of each of the store's background loops: it calls
// round every d, and whenever wake delivers (nil: never), until stop is
// closed, then marks the loop done in s.wg.
func (s *Store) every(stop <-chan struct{}, d time.Duration, wake <-chan struct{}, round func()) {
	defer s.wg.Done()
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		case <-wake:
		}
		round()
	}
}
