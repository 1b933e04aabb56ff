package main

import (
	"context"
	"fmt"
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
// store that cannot be reached or whose bucket cannot be made stops
// start-up with one line naming the bucket and the call that failed.
func openSharedTier(cfg *Config, local *cache.Store, log *slog.Logger) (*sharedtier.Tier, error) {
	if cfg.sharedStore == nil {
		return nil, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), sharedOpenTimeout*cfg.SharedTimeout)
	defer cancel()
	log = log.With("component", "shared")
	store, err := shared.Open(ctx, shared.Config{
		Location:    *cfg.sharedStore,
		Timeout:     cfg.SharedTimeout,
		IdleTimeout: 5 * cfg.SharedTimeout,
		Logger:      log,
	})
	if err != nil {
		return nil, fmt.Errorf("%sSHARED_STORE: %w", envPrefix, err)
	}
	name := cfg.sharedStore.String()
	log.Info("shared store", "store", name)
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
