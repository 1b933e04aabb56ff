//go:build !linux

package cache

import (
	"errors"
	"os"
)

// statFS cannot measure free space here: the store never refuses a write
// for want of space, and never opens read-only (see space.go).
func statFS(path string) (fsStat, error) {
	return fsStat{}, errors.New("cache: measuring free space is supported on Linux only")
}

// allocate sets size bytes aside for f by writing zeros.
func allocate(f *os.File, size int64) error { return writeZeros(f, size) }

// lockExclusive opens dir without locking it: where free space is not
// measured the store always opens Badger read-write, and Badger's own
// lock refuses a second process.
func lockExclusive(dir string) (*os.File, error) { return os.Open(dir) }
