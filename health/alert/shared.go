package alert

import (
	"fmt"

	"github.com/gofailover/gofailover/health"
)

// Option adds to what an Engine watches; pass it to NewEngine.
type Option func(*Engine)

// WithSharedStore makes the Engine watch, with shared_store_down, the
// shared object store whose health src gives: the first status of its
// Snapshot, which stands for the store (the *health.Pool of
// sharedtier.Tier.Pool is one). A nil src watches nothing: no store is
// configured.
func WithSharedStore(src Source) Option {
	return func(e *Engine) { e.shared = src }
}

// judgeSharedDown applies shared_store_down to s, the shared store's
// health: it holds while the store's breaker keeps it out (open,
// half-open or quarantined), when every replica goes on alone.
func judgeSharedDown(s health.Status) finding {
	f := finding{key: key{SharedStoreDown, s.Upstream.Name}, severity: P2, threshold: 1}
	if s.State.Down() {
		f.holds, f.value = true, 1
		since := ""
		if !s.EpisodeSince.IsZero() {
			since = " since " + s.EpisodeSince.UTC().Format("15:04:05 UTC")
		}
		f.summary = fmt.Sprintf("shared store %s is down%s: each replica goes on alone, from its own cache and the upstreams%s",
			s.Upstream.Name, since, lastFailure(s))
	}
	return f
}
