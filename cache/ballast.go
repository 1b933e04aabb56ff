package cache

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// ballastName is the ballast file's name in the cache directory: a file of
// Badger's headroom in bytes, allocated on disk, that the store deletes
// when something else has filled the file system below that headroom, so
// that Badger can still flush, close and open (see space.go). It is
// recreated once free space is back above the reserve.
const ballastName = "ballast"

// ballastPath returns where the ballast of the cache in dir lives.
func ballastPath(dir string) string { return filepath.Join(dir, ballastName) }

// findBallastLocked notes whether the ballast is in place, removing a
// partial one an interrupted creation left. g.mu is held.
func (g *spaceGuard) findBallastLocked() {
	_ = os.Remove(g.ballastPath + ".new")
	fi, err := os.Stat(g.ballastPath)
	g.ballast = err == nil && fi.Mode().IsRegular() && fi.Size() >= g.headroom
}

// makeBallastLocked puts the ballast in place if it is missing: allocated
// under a temporary name, then renamed, so that a ballast is always whole.
// g.mu is held.
func (g *spaceGuard) makeBallastLocked() error {
	if g.ballast {
		return nil
	}
	tmp := g.ballastPath + ".new"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return fmt.Errorf("cache: creating the ballast %s: %w", tmp, err)
	}
	err = allocate(f, g.headroom)
	if cerr := f.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("cache: closing the ballast %s: %w", tmp, cerr)
	}
	if err == nil {
		if rerr := os.Rename(tmp, g.ballastPath); rerr != nil {
			err = fmt.Errorf("cache: renaming the ballast %s: %w", tmp, rerr)
		}
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	g.ballast = true
	return nil
}

// ballastOKLocked reports whether the ballast requirement is met: the
// ballast is in place, or it cannot be made for a reason other than space
// (then the store does without, saying so once). g.mu is held.
func (g *spaceGuard) ballastOKLocked() bool {
	return g.ballast || g.ballastBroken
}

// tryBallastLocked makes the ballast if it is missing, and reports whether
// the requirement is then met. A failure for want of space leaves it
// unmet; any other is logged once and lets the store do without. g.mu is
// held.
func (g *spaceGuard) tryBallastLocked() bool {
	if g.ballastOKLocked() {
		return true
	}
	err := g.makeBallastLocked()
	switch {
	case err == nil:
		return true
	case noSpace(err):
		return false
	}
	g.ballastBroken = true
	g.log.Warn("cache: cannot make the ballast; going without it (a disk that others fill may then stop the metadata store from closing or opening)", "err", err)
	return true
}

// releaseBallastLocked deletes the ballast, if it is in place, giving its
// space to Badger; it reports whether it did. g.mu is held.
func (g *spaceGuard) releaseBallastLocked(why string) bool {
	if !g.ballast {
		return false
	}
	if err := os.Remove(g.ballastPath); err != nil && !errors.Is(err, os.ErrNotExist) {
		g.log.Error("cache: cannot delete the ballast to give its space to the metadata store", "path", g.ballastPath, "err", err)
		return false
	}
	g.ballast = false
	g.log.Warn("cache: deleted the ballast file to give the metadata store room: "+why,
		"dir", g.dir, "free", formatSize(g.free), "ballast", formatSize(g.headroom))
	return true
}

// writeZeros writes size zero bytes to f from its start.
func writeZeros(f *os.File, size int64) error {
	buf := make([]byte, 1<<20)
	for off := int64(0); off < size; {
		n := int64(len(buf))
		if size-off < n {
			n = size - off
		}
		if _, err := f.WriteAt(buf[:n], off); err != nil {
			return fmt.Errorf("cache: allocating %d bytes for %s: %w", size, f.Name(), err)
		}
		off += n
	}
	return nil
}
