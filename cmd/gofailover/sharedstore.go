package main

import (
	"context"
	"errors"
	"log/slog"

	"github.com/gofailover/gofailover/cache"
	"github.com/gofailover/gofailover/cache/shared"
	"github.com/gofailover/gofailover/proxy/sharedtier"
)

// sharedOpenTimeout bounds start-up's calls to the shared store (checking
// the bucket, creating it), in multiples of GOFAILOVER_SHARED_TIMEOUT.
const sharedOpenTimeout = 15

// openSharedTier connects to the shared store, creating its bucket if
// missing, and returns the tier over it; nil without one configured. A
// store that refuses (credentials, a bucket it will not make) stops
// start-up with one line naming the bucket and the call that failed. A
// store that does not answer does not: the store failing never fails a
// client, so the replica starts alone and the tier's probe takes the store
// in once it answers.
func openSharedTier(cfg *Config, local *cache.Store, log *slog.Logger) (*sharedtier.Tier, error) {
	if cfg.sharedStore == nil {
		return nil, nil
	}
	log = log.With("component", "shared")
	store, err := shared.New(shared.Config{
		Location:    *cfg.sharedStore,
		Timeout:     cfg.SharedTimeout,
		IdleTimeout: 5 * cfg.SharedTimeout,
		Logger:      log,
	})
	if err != nil {
		return nil, configErrorf("%sSHARED_STORE: %v", envPrefix, err)
	}
	name := cfg.sharedStore.String()
	ctx, cancel := context.WithTimeout(context.Background(), sharedOpenTimeout*cfg.SharedTimeout)
	defer cancel()
	switch err := store.EnsureBucket(ctx); {
	case errors.Is(err, shared.ErrUnreachable):
		log.Warn("the shared store does not answer: starting without it; it is taken in once it answers", "store", name, "err", err)
	case err != nil:
		return nil, configErrorf("%sSHARED_STORE: %v", envPrefix, err)
	default:
		log.Info("shared store", "store", name)
	}
	return sharedtier.New(sharedtier.Config{
		Store:         store,
		Name:          name,
		URL:           cfg.sharedStore.Endpoint,
		Local:         local,
		Health:        cfg.healthConfig(),
		ProbeInterval: cfg.ProbeInterval,
		Logger:        log,
	}), nil
}
