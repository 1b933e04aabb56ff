package proxy

import (
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/gofailover/gofailover/cache"
	"github.com/gofailover/gofailover/proxy/checksum"
)

// checksumStore lets the checksum verifier keep its state in the handler's
// Store: it adapts the cache's records and errors to the verifier's
// checksum.Store, which knows nothing of the cache.
type checksumStore struct {
	s Store
	// stored, if not nil, hears of every verified answer stored, with the
	// source it came from.
	stored func(key, source string)
}

var _ checksum.Store = checksumStore{}

// ReadValue returns the named value, nil when never written.
func (c checksumStore) ReadValue(name string) ([]byte, error) {
	b, err := c.s.ReadValue(name)
	if errors.Is(err, cache.ErrNotFound) {
		return nil, nil
	}
	return b, err
}

// SwapValue swaps the named value, turning the cache's conflict into the
// verifier's.
func (c checksumStore) SwapValue(name string, old, new []byte) error {
	err := c.s.SwapValue(name, old, new)
	if errors.Is(err, cache.ErrConflict) {
		return fmt.Errorf("%w: %w", checksum.ErrConflict, err)
	}
	return err
}

// ReadVerified returns the body of the 200 answer stored under key, if it
// was stored verified.
func (c checksumStore) ReadVerified(key string) ([]byte, error) {
	obj, err := c.s.Open(key)
	if errors.Is(err, cache.ErrNotFound) {
		return nil, fmt.Errorf("%s: %w", key, checksum.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	defer obj.Close()
	if !obj.Verified || obj.Status != http.StatusOK {
		return nil, fmt.Errorf("%s: %w", key, checksum.ErrNotVerified)
	}
	return io.ReadAll(obj.Body)
}

// PutVerified stores data under key as a verified, immutable 200 answer
// from source.
func (c checksumStore) PutVerified(key string, data []byte, source string) error {
	meta := cache.Meta{Status: http.StatusOK, Immutable: true, Verified: true, Upstream: source}
	if err := c.s.PutBytes(key, meta, data); err != nil {
		return err
	}
	if c.stored != nil {
		c.stored(key, source)
	}
	return nil
}
