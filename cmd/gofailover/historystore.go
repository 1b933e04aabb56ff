package main

import (
	"errors"
	"fmt"

	"github.com/gofailover/gofailover/cache"
	"github.com/gofailover/gofailover/health/history"
)

// historyStore is the cache store as the health history's ValueStore:
// history does not import cache, so this translates the store's
// cache.ErrNotFound and cache.ErrConflict into history.ErrNotFound and
// history.ErrConflict, keeping the store's error in the chain.
type historyStore struct{ store *cache.Store }

var _ history.ValueStore = historyStore{}

// ReadValue returns the named value, nil if it was never written.
func (s historyStore) ReadValue(name string) ([]byte, error) {
	b, err := s.store.ReadValue(name)
	return b, historyErr(err)
}

// SwapValue replaces the named value with new if it equals old, and
// returns an error wrapping history.ErrConflict otherwise.
func (s historyStore) SwapValue(name string, old, new []byte) error {
	return historyErr(s.store.SwapValue(name, old, new))
}

// historyErr translates a cache store's error into the history's.
func historyErr(err error) error {
	switch {
	case errors.Is(err, cache.ErrNotFound):
		return fmt.Errorf("%w: %w", history.ErrNotFound, err)
	case errors.Is(err, cache.ErrConflict):
		return fmt.Errorf("%w: %w", history.ErrConflict, err)
	}
	return err
}
