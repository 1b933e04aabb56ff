package cache

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// The free-space gate: the store never lets Badger run out of disk.
//
// Badger writes its memtable log and its value log through memory maps of
// sparse files. On a full file system a write into such a map faults
// (SIGBUS) and kills the process instead of returning ENOSPC, at run time
// and while the log is replayed at start-up (on tmpfs, even reading a hole
// of such a map needs a free page). So space must exist before Badger
// writes:
//
//   - The store keeps a reserve of free space on its file system
//     (Options.Reserve). Before every write that may grow Badger's files or
//     a blob file, the gate compares the free space with the reserve: as
//     measured (statfs) at most spaceRecheck ago, less what it has let
//     through since, or measured afresh within Badger's headroom of the
//     reserve. A write that would take it below is refused with an error
//     wrapping ErrNoSpace, without touching Badger, and the store turns
//     read-only; reads keep working. A piece of a blob refused so fails
//     only its blob (a download too large for the room left), whose bytes
//     go when it is discarded.
//   - The reserve is at least Badger's headroom (badgerHeadroom): what
//     Badger may still write on its own once the gate has closed, in
//     memtable flushes and a compaction. Its own refusals never leave
//     Badger short.
//   - A ballast file of the headroom's size (ballast.go) stands in for
//     space that others take: when something else fills the file system
//     below the headroom, the ballast is deleted, so that Badger can finish
//     its flushes, close cleanly and open again.
//   - A check every spaceCheckInterval (spacewatch.go) turns the store
//     writable again once the free space is back above the reserve (plus a
//     hysteresis), recreating the ballast, and reopening Badger read-write
//     if start-up on a full disk had to open it read-only or not at all
//     (readonly.go).
//
// Where free space cannot be measured (statfs fails, or not Linux), the
// gate lets every write through, as before it existed.

// ErrNoSpace is what a write refused for want of disk space wraps (as a
// *SpaceError): the store is read-only until free space returns above its
// reserve.
var ErrNoSpace = errors.New("cache: no space on the cache's disk")

const (
	// spaceRecheck is how long a free-space measurement is trusted (less
	// what was let through since) before a write measures again. Near the
	// reserve (within Badger's headroom of it) every write measures: a
	// statfs costs about a microsecond.
	spaceRecheck = 100 * time.Millisecond
	// spaceCheckInterval is how often the background check measures free
	// space, releases the ballast when others took the headroom, and
	// turns a read-only store writable again.
	spaceCheckInterval = time.Second
	// DefaultReserve is the default reserve: 1 GiB, or a tenth of a file
	// system smaller than 10 GiB (never below Badger's headroom). A share
	// of a large disk would be tens of gigabytes a laptop does not have
	// to spare.
	DefaultReserve = 1 << 30
	// writeOverhead is what the gate counts for a record beyond its key
	// and value: Badger's entry header, a transaction's marker, the
	// record's own header.
	writeOverhead = 256
)

// badgerHeadroom returns what Badger may write on its own, beyond the
// writes the gate let through: every memtable flushed to a table while its
// log still exists (twice, for the log and the table), and a compaction's
// new tables before the old ones go (32 base tables). With the options of
// badgerOptions it is 64 MiB. It is the smallest reserve and the ballast's
// size.
func badgerHeadroom(memTableSize, baseTableSize int64, numMemtables int) int64 {
	return 2*int64(numMemtables)*memTableSize + 32*baseTableSize
}

// fsStat is a measurement of a file system.
type fsStat struct {
	// free is what an unprivileged process may still allocate; total is
	// the file system's size.
	free, total int64
}

// metaMode says how the metadata store is open.
type metaMode int

const (
	// metaReadWrite is Badger opened read-write: the normal mode.
	metaReadWrite metaMode = iota
	// metaReadOnly is Badger opened read-only, because start-up found too
	// little space to open it read-write.
	metaReadOnly
	// metaAbsent is an empty in-memory stand-in, because start-up found
	// too little space to open Badger at all: nothing cached is served.
	metaAbsent
)

// spaceState says whether the store is storing new answers, and why not.
type spaceState struct {
	// Writable reports that writes are let through.
	Writable bool
	// Reason says, when not Writable, why: "disk full: 12.0 MiB free,
	// reserve 1.0 GiB", or that start-up opened the store read-only.
	Reason string
	// Known reports that free space is measured at all; without it the
	// store is always Writable and the sizes below are zero.
	Known bool
	// Free is the free space on the cache's file system at the last
	// measurement, and Reserve the free space the store leaves.
	Free, Reserve int64
	// Absent reports that start-up could not open the metadata store at
	// all (its disk was full): every read is a miss until space returns.
	Absent bool
}

// SpaceError is a write refused for want of disk space. It wraps
// ErrNoSpace (errors.Is), and the file system's error when the write
// itself failed for want of space.
type SpaceError struct {
	// Free is the free space at the last measurement; Reserve is the free
	// space the store leaves on its disk.
	Free, Reserve int64
	// Body, when not zero, is the size a blob would have had with the
	// piece refused while the store is not read-only: a download too
	// large for the room left.
	Body int64
	// Mode says how the metadata store is open (read-only or absent
	// after start-up on a full disk), when it is not the normal mode.
	Mode string
	// Err is the file system's own error (ENOSPC), if there was one.
	Err error
}

// Error says that the cache is read-only and why, with the figures.
func (e *SpaceError) Error() string {
	msg := fmt.Sprintf("the cache is read-only: its disk is full (%s free, and it keeps a reserve of %s)",
		formatSize(e.Free), formatSize(e.Reserve))
	if e.Body > 0 {
		msg = fmt.Sprintf("no room on the cache's disk for this body (%s so far): it has %s free and keeps a reserve of %s",
			formatSize(e.Body), formatSize(e.Free), formatSize(e.Reserve))
	}
	if e.Mode != "" {
		msg += "; " + e.Mode
	}
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Is reports that a SpaceError is an ErrNoSpace.
func (e *SpaceError) Is(target error) bool { return target == ErrNoSpace }

// Unwrap returns the file system's error, if any.
func (e *SpaceError) Unwrap() error { return e.Err }

// spaceGuard is the free-space gate and the state it keeps.
type spaceGuard struct {
	// dir is the directory whose file system is measured (the cache
	// directory), and ballastPath the ballast file in it.
	dir, ballastPath string
	// headroom is Badger's headroom: the smallest reserve, and the
	// ballast's size.
	headroom int64
	// reserveBytes and reservePercent are Options.Reserve and
	// Options.ReservePercent.
	reserveBytes   int64
	reservePercent float64
	// stat measures a file system: statFS, or a fake in tests.
	stat func(string) (fsStat, error)
	log  *slog.Logger
	// opts are Badger's options, for reopening it read-write; lock holds
	// the cache directory's lock from Open to Close (readonly.go).
	opts badger.Options
	lock *os.File

	mu sync.Mutex
	// known reports that the last measurement worked.
	known bool
	// free and total are the last measurement, taken at measured;
	// charged is what the gate let through since.
	free, total int64
	measured    time.Time
	charged     int64
	// reserve is the resolved reserve (it follows the file system's size
	// when a share of it); hysteresis is how far above it free space must
	// come back before a read-only store writes again.
	reserve, hysteresis int64
	// ballast reports that the ballast file is in place; ballastBroken,
	// that it cannot be made for a reason other than space, so the store
	// does without it.
	ballast, ballastBroken bool
	// mode is how the metadata store is open.
	mode metaMode
	// writable reports that writes are let through; reason says why not.
	writable bool
	reason   string
	// statFailed reports that a failed measurement was logged, so that
	// it is logged once until one works again.
	statFailed bool
	// reopenAt is when the background check may try again to reopen
	// Badger read-write, after a failure (readonly.go).
	reopenAt time.Time
}

// newSpaceGuard checks the options that concern free space; bopts are
// Badger's, whose sizes set its headroom.
func newSpaceGuard(opts Options, bopts badger.Options, logger *slog.Logger) (*spaceGuard, error) {
	switch {
	case opts.Reserve < 0:
		return nil, fmt.Errorf("cache: Reserve %d is negative", opts.Reserve)
	case opts.ReservePercent < 0 || opts.ReservePercent >= 100:
		return nil, fmt.Errorf("cache: ReservePercent %v out of range 0 to 100", opts.ReservePercent)
	}
	return &spaceGuard{
		dir:            opts.Dir,
		ballastPath:    ballastPath(opts.Dir),
		headroom:       badgerHeadroom(bopts.MemTableSize, bopts.BaseTableSize, bopts.NumMemtables),
		opts:           bopts,
		reserveBytes:   opts.Reserve,
		reservePercent: opts.ReservePercent,
		stat:           statFS,
		log:            logger,
		writable:       true,
	}, nil
}

// resolveReserve returns the reserve on a file system of total bytes:
// Options.Reserve if set, else Options.ReservePercent of the file system
// if set, else DefaultReserve, but at most a tenth of the file system;
// never below the headroom.
func (g *spaceGuard) resolveReserve(total int64) int64 {
	var r int64
	switch {
	case g.reserveBytes > 0:
		r = g.reserveBytes
	case g.reservePercent > 0:
		r = int64(float64(total) * g.reservePercent / 100)
	default:
		r = min(DefaultReserve, total/10)
	}
	return max(r, g.headroom)
}

// measureLocked measures free space now. g.mu is held.
func (g *spaceGuard) measureLocked() {
	st, err := g.stat(g.dir)
	if err == nil && st.total <= 0 {
		err = fmt.Errorf("cache: the file system at %s reports a size of %d bytes", g.dir, st.total)
	}
	if err != nil {
		if !g.statFailed {
			g.statFailed = true
			g.log.Warn("cache: cannot measure free space; writes are not held back for it", "dir", g.dir, "err", err)
		}
		g.known = false
		return
	}
	g.statFailed = false
	g.known = true
	g.free, g.total = st.free, st.total
	g.measured = time.Now()
	g.charged = 0
	g.reserve = g.resolveReserve(st.total)
	g.hysteresis = min(max(g.reserve/16, 8<<20), 256<<20)
}

// measure measures free space now and returns the state.
func (g *spaceGuard) measure() spaceState {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.measureLocked()
	return g.stateLocked()
}

// admit lets a write of about n bytes through, or refuses it with a
// *SpaceError if it would take free space below the reserve (or the store
// is read-only already); a refusal turns the store read-only.
func (g *spaceGuard) admit(n int64) error { return g.admitAs(n, -1) }

// admitBlob is admit for a piece of n bytes of a blob that has size bytes
// so far. Its refusal fails that blob alone (its bytes go when it is
// discarded), unless free space is below the reserve without it.
func (g *spaceGuard) admitBlob(n, size int64) error { return g.admitAs(n, size) }

// admitAs is admit, or admitBlob when blobSize is not negative.
func (g *spaceGuard) admitAs(n, blobSize int64) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.writable {
		return g.errorLocked(nil)
	}
	if time.Since(g.measured) >= spaceRecheck || g.free-g.charged-n < g.reserve+g.headroom {
		g.measureLocked()
	}
	if !g.known {
		return nil
	}
	if free := g.free - g.charged; free-n < g.reserve {
		if blobSize >= 0 && free >= g.reserve {
			return &SpaceError{Free: free, Reserve: g.reserve, Body: blobSize + n}
		}
		g.readOnlyLocked(g.lowReasonLocked())
		return g.errorLocked(nil)
	}
	g.charged += n
	return nil
}

// room reports whether n bytes more may be written without going below
// the reserve, changing nothing: for work that may wait, such as the
// value-log garbage collection.
func (g *spaceGuard) room(n int64) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.writable {
		return false
	}
	g.measureLocked()
	return !g.known || g.free-g.charged-n >= g.reserve
}

// full records that a write failed because the file system is full
// (ENOSPC, though the gate let it through: someone else took the space
// meanwhile). The store turns read-only; the returned error wraps err and
// ErrNoSpace.
func (g *spaceGuard) full(err error) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.measureLocked()
	if g.writable {
		g.readOnlyLocked(fmt.Sprintf("disk full: %s free, reserve %s (a write failed: %v)", formatSize(g.free), formatSize(g.reserve), err))
	}
	return g.errorLocked(err)
}

// lowReasonLocked says why the store does not write, with the figures of
// the last measurement. g.mu is held.
func (g *spaceGuard) lowReasonLocked() string {
	free := formatSize(max(g.free-g.charged, 0))
	switch {
	case !g.known:
		return "free space cannot be measured"
	case g.mode == metaReadOnly:
		return fmt.Sprintf("disk full at start-up, metadata store opened read-only: %s free, reserve %s", free, formatSize(g.reserve))
	case g.mode == metaAbsent:
		return fmt.Sprintf("disk full at start-up, metadata store not opened, nothing cached is served: %s free, reserve %s", free, formatSize(g.reserve))
	case !g.ballastOKLocked() && g.free >= g.reserve:
		return fmt.Sprintf("disk full: %s free, reserve %s and %s for the ballast", free, formatSize(g.reserve), formatSize(g.headroom))
	}
	return fmt.Sprintf("disk full: %s free, reserve %s", free, formatSize(g.reserve))
}

// readOnlyLocked turns the store read-only for reason, logging the
// change. g.mu is held.
func (g *spaceGuard) readOnlyLocked(reason string) {
	g.reason = reason
	if !g.writable {
		return
	}
	g.writable = false
	g.log.Warn("cache: read-only: new answers are served without being stored until its disk has room",
		"dir", g.dir, "reason", reason)
}

// errorLocked returns the error a refused write gets. g.mu is held.
func (g *spaceGuard) errorLocked(err error) *SpaceError {
	e := &SpaceError{Free: max(g.free-g.charged, 0), Reserve: g.reserve, Err: err}
	switch g.mode {
	case metaReadOnly:
		e.Mode = "its metadata store was opened read-only, the disk being full at start-up"
	case metaAbsent:
		e.Mode = "its metadata store could not be opened, the disk being full at start-up"
	}
	return e
}

// stateLocked returns the state. g.mu is held.
func (g *spaceGuard) stateLocked() spaceState {
	st := spaceState{Writable: g.writable, Known: g.known, Absent: g.mode == metaAbsent}
	if g.known {
		st.Free, st.Reserve = max(g.free-g.charged, 0), g.reserve
	}
	if !g.writable {
		st.Reason = g.reason
	}
	return st
}

// state returns the state as last measured.
func (g *spaceGuard) state() spaceState {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.stateLocked()
}

// spaceStats fills in what Stats says about free space.
func (s *Store) spaceStats(st *Stats) {
	sp := s.space.state()
	st.Writable, st.ReadOnly, st.FreeBytes, st.ReserveBytes = sp.Writable, sp.Reason, sp.Free, sp.Reserve
}

// Writable reports whether the store is storing new answers; when it is
// not, reason says why ("disk full: 12.0 MiB free, reserve 1.0 GiB").
// Reads work either way.
func (s *Store) Writable() (ok bool, reason string) {
	st := s.space.state()
	return st.Writable, st.Reason
}

// formatSize formats a size in bytes in the largest binary unit under
// which it is at least 1, with one decimal: "12.0 MiB".
func formatSize(n int64) string {
	const units = "KMGTPE"
	if n < 1024 && n > -1024 {
		return strconv.FormatInt(n, 10) + " B"
	}
	v, i := float64(n)/1024, 0
	for (v >= 1024 || v <= -1024) && i < len(units)-1 {
		v /= 1024
		i++
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " " + units[i:i+1] + "iB"
}
