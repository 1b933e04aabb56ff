//go:build unix

package main

import (
	"syscall"
	"time"
)

// cpuTimes returns the CPU time (user and system) used so far by this
// process (the benchmark, with its in-process mirror and gofailover) and
// by its waited-for children (the go command runs), and whether the
// platform tells.
func cpuTimes() (self, children time.Duration, ok bool) {
	var s, c syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &s) != nil || syscall.Getrusage(syscall.RUSAGE_CHILDREN, &c) != nil {
		return 0, 0, false
	}
	total := func(r *syscall.Rusage) time.Duration {
		return time.Duration(syscall.TimevalToNsec(r.Utime) + syscall.TimevalToNsec(r.Stime))
	}
	return total(&s), total(&c), true
}
