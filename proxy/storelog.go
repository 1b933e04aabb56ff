package proxy

import (
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/gofailover/gofailover/cache"
)

// storeWriteFailed logs a write to the cache that failed. A full disk
// (cache.ErrNoSpace) is an expected state that the store itself reports as
// it enters and leaves it, and every new answer would fail the same way:
// it is logged at WARN at most once a minute, with how many writes were
// refused since. Anything else is logged at level, every time.
func (h *Handler) storeWriteFailed(level slog.Level, msg, key string, err error) {
	if !errors.Is(err, cache.ErrNoSpace) {
		h.log.Log(h.base, level, msg, "key", key, "err", err)
		return
	}
	if refused, ok := h.noSpace.due(h.cfg.Now()); ok {
		h.log.Warn("the cache is not storing new answers: its disk is full; they are served without being stored, zips get 503",
			"key", key, "refused_since_last_log", refused, "err", err)
	}
}

// everyMinute lets an event through at most once a minute and counts the
// ones it held back.
type everyMinute struct {
	mu     sync.Mutex
	last   time.Time
	held   int
	primed bool
}

// due reports whether an event at now is let through, and how many were
// held back since the last one let through.
func (e *everyMinute) due(now time.Time) (held int, ok bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.primed && now.Sub(e.last) < time.Minute {
		e.held++
		return 0, false
	}
	held, e.held, e.last, e.primed = e.held, 0, now, true
	return held, true
}
