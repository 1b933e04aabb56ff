package history

import (
	"log/slog"
	"time"
)

// Config configures a History. A zero field takes its default.
type Config struct {
	// Step is the resolution of the fine tier and the time between two
	// samples taken by Run. Default 10s.
	Step time.Duration
	// Keep is how far back the fine tier reaches: it holds Keep/Step
	// points, rounded up. Default 6h.
	Keep time.Duration
	// CoarseStep is the resolution of the coarse tier. Default 5m.
	CoarseStep time.Duration
	// CoarseKeep is how far back the coarse tier reaches. Default 14 days.
	// A tier holds at most 65536 points: a longer Keep or CoarseKeep is cut
	// short.
	CoarseKeep time.Duration
	// SaveEvery is the time between two saves made by Run. Default 1m.
	SaveEvery time.Duration
	// Store keeps the history across restarts; nil means it is not kept.
	Store ValueStore
	// Key names the store value that lists the upstreams; each upstream's
	// points are kept, a few hours or days of them per value, in values
	// named "<Key>/<tier>/<segment>/<upstream name>". Default "history".
	Key string
	// Logger receives a warning when stored history is corrupt or cannot
	// be saved. Nil discards the logs.
	Logger *slog.Logger
}

// Defaults of Config.
const (
	DefaultStep       = 10 * time.Second
	DefaultKeep       = 6 * time.Hour
	DefaultCoarseStep = 5 * time.Minute
	DefaultCoarseKeep = 14 * 24 * time.Hour
	DefaultSaveEvery  = time.Minute
	DefaultKey        = "history"
)

// maxPoints bounds a tier's capacity, and with it the memory and stored
// size per upstream, whatever the configuration.
const maxPoints = 1 << 16

// withDefaults returns c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.Step <= 0 {
		c.Step = DefaultStep
	}
	if c.Keep <= 0 {
		c.Keep = DefaultKeep
	}
	if c.CoarseStep <= 0 {
		c.CoarseStep = DefaultCoarseStep
	}
	if c.CoarseKeep <= 0 {
		c.CoarseKeep = DefaultCoarseKeep
	}
	if c.SaveEvery <= 0 {
		c.SaveEvery = DefaultSaveEvery
	}
	if c.Key == "" {
		c.Key = DefaultKey
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// tier is one resolution: points of step, capacity of them.
type tier struct {
	step     time.Duration
	capacity int
}

// keep is how far back the tier reaches.
func (t tier) keep() time.Duration { return t.step * time.Duration(t.capacity) }

// tiers returns the fine and the coarse tier of c, which has its defaults.
func (c Config) tiers() []tier {
	return []tier{newTier(c.Step, c.Keep), newTier(c.CoarseStep, c.CoarseKeep)}
}

// newTier returns the tier of points of step reaching keep back.
func newTier(step, keep time.Duration) tier {
	n := keep / step
	if keep%step != 0 {
		n++
	}
	return tier{step: step, capacity: int(min(max(n, 1), maxPoints))}
}
