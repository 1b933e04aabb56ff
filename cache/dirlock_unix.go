//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package cache

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockDir takes the lock Badger takes on its directory (flock, shared for
// a read-only store), so that Open may read or move a metadata store that
// no other process is using; it fails with ErrLocked if one is. The lock
// must be released before Badger opens the directory.
func lockDir(dir string, shared bool) (unlock func(), err error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("cache: opening %s to lock it: %w", dir, err)
	}
	how := syscall.LOCK_EX | syscall.LOCK_NB
	if shared {
		how = syscall.LOCK_SH | syscall.LOCK_NB
	}
	if err := syscall.Flock(int(f.Fd()), how); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("cache: locking %s: %w", dir, ErrLocked)
		}
		return nil, fmt.Errorf("cache: locking %s: %w", dir, err)
	}
	return func() { f.Close() }, nil
}
