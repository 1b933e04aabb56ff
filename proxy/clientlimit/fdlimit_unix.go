//go:build unix

package clientlimit

import (
	"fmt"
	"syscall"
)

// RaiseFileLimit raises the soft limit on open files (RLIMIT_NOFILE) to
// the hard limit and returns the limits. The Go runtime already does so at
// start-up since Go 1.19, so Before is usually the hard limit too.
func RaiseFileLimit() (FileLimit, error) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return FileLimit{}, fmt.Errorf("reading the open-file limit: %w", err)
	}
	fl := FileLimit{Soft: uint64(lim.Cur), Hard: uint64(lim.Max), Before: uint64(lim.Cur)}
	if lim.Cur == lim.Max {
		return fl, nil
	}
	lim.Cur = lim.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fl, fmt.Errorf("raising the open-file limit from %d to %d: %w", fl.Soft, fl.Hard, err)
	}
	fl.Soft = fl.Hard
	return fl, nil
}
