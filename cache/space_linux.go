package cache

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// statFS measures the file system that holds path: the bytes an
// unprivileged process may still allocate, and its size.
func statFS(path string) (fsStat, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(path, &st); err != nil {
		return fsStat{}, fmt.Errorf("cache: measuring free space at %s: %w", path, err)
	}
	bsize := int64(st.Bsize)
	if st.Frsize > 0 {
		bsize = int64(st.Frsize)
	}
	return fsStat{free: int64(st.Bavail) * bsize, total: int64(st.Blocks) * bsize}, nil
}

// allocate gives f size bytes of disk that are really set aside (not a
// sparse hole): fallocate where the file system supports it, else by
// writing zeros.
func allocate(f *os.File, size int64) error {
	err := syscall.Fallocate(int(f.Fd()), 0, 0, size)
	if err == nil {
		return nil
	}
	if !errors.Is(err, syscall.EOPNOTSUPP) && !errors.Is(err, syscall.ENOSYS) {
		return fmt.Errorf("cache: allocating %d bytes for %s: %w", size, f.Name(), err)
	}
	return writeZeros(f, size)
}

// lockExclusive takes an exclusive flock on dir (without waiting), so that
// one Store at a time, in this process or another, uses the cache
// directory whatever state its metadata store is in. The lock holds until
// the returned file is closed.
func lockExclusive(dir string) (*os.File, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("cache: opening %s to lock it: %w", dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("cache: locking %s: %w", dir, ErrLocked)
		}
		return nil, fmt.Errorf("cache: locking %s: %w", dir, err)
	}
	return f, nil
}
