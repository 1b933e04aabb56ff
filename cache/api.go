// Package cache stores module-proxy answers on local disk and nothing else:
// it knows nothing of HTTP or upstreams.
//
// Metadata and small bodies live in Badger (an embedded LSM key/value store
// tuned here for a laptop's memory). Large bodies, such as module zips, are
// content-addressed files: written to a temporary file, fsynced and renamed
// into place before the metadata that points at them is committed, so a crash
// at any moment leaves either the complete answer or no answer.
package cache

import (
	"errors"
	"io"
	"log/slog"
	"time"
)

// ErrNotFound is returned when the store has no entry for a key.
var ErrNotFound = errors.New("cache: entry not found")

// ErrLocked is returned by Open when another process holds the cache directory.
var ErrLocked = errors.New("cache: directory is in use by another process")

// Options configure a Store.
type Options struct {
	// Dir is the cache directory; it is created if missing.
	Dir string
	// Logger receives the store's own log lines (Badger's included). Nil means slog.Default().
	Logger *slog.Logger
	// BadgerLogLevel is the least level of the lines Badger itself logs
	// that are passed on to Logger (its INFO and DEBUG lines arrive as
	// DEBUG). Nil means WARN: Badger's routine chatter stays out of
	// debug logs unless asked for.
	BadgerLogLevel slog.Leveler
	// InlineMax is the largest body PutBytes keeps inside Badger; larger bodies
	// become blob files. Zero means DefaultInlineMax.
	InlineMax int64
	// MaxBytes bounds the bodies the store keeps: when a write takes
	// Stats().Bytes past it, the least recently used answers are evicted
	// down to nine tenths of it (see Store.Evict). Zero means no bound.
	// While it is set, Open notes when each key was last opened, which
	// costs a hit a map store.
	MaxBytes int64
	// ScrubRate is how many bytes per second the background scrub reads
	// to re-hash every blob file, a pass every ScrubInterval; a file that
	// does not hash to its name is removed and its records dropped. Zero
	// means DefaultScrubRate; negative turns the scrub off.
	ScrubRate int64
	// ScrubInterval is how often a full scrub pass starts (a pass in
	// progress resumes after a restart). Zero means DefaultScrubInterval.
	ScrubInterval time.Duration
	// ExpireNegativeAfter is the age past which a background sweep deletes
	// records whose status is not 200 (remembered "not found" answers).
	// Zero keeps them until evicted. The proxy passes its mutable TTL:
	// past it, such an answer is never served again.
	ExpireNegativeAfter time.Duration
	// ExpireMutableAfter is the age past which the sweep deletes 200
	// records that are not Immutable. Zero keeps them until evicted. The
	// proxy passes a multiple of its mutable TTL (days): a stale copy is
	// what it serves when every mirror is down.
	ExpireMutableAfter time.Duration
	// Reserve is the free space, in bytes, the store leaves on its file
	// system: a write that would take free space below it is refused with
	// an error wrapping ErrNoSpace, and the store is read-only (reads keep
	// working) until free space is back above it. Zero means
	// ReservePercent of the file system if that is set, else
	// DefaultReserve (1 GiB), at most 10% of the file system.
	// Whatever is set, the reserve is at least Badger's headroom (64 MiB;
	// see space.go).
	Reserve int64
	// ReservePercent, when Reserve is zero, sets the reserve to this share
	// of the file system, in percent (0 to 100).
	ReservePercent float64
}

// DefaultInlineMax is the default for Options.InlineMax.
const DefaultInlineMax = 64 << 10

// Meta is what the caller says about an answer when storing it.
type Meta struct {
	// Status is the HTTP status the answer carries: 200, or 404/410 for a
	// remembered "not found" whose body is the reason.
	Status int
	// Immutable answers never go stale (the .info/.mod/.zip of a canonical version).
	Immutable bool
	// StoredAt is when the answer was fetched; zero means now.
	StoredAt time.Time
	// Upstream names the mirror the answer came from.
	Upstream string
	// Verified records that the caller checked the body (for module files:
	// against the checksum database) before storing it.
	Verified bool
}

// Entry is the stored record of one answer.
type Entry struct {
	Meta
	// Key is the entry's key.
	Key string
	// Size is the body's length in bytes.
	Size int64
	// SHA256 is the body's SHA-256 digest.
	SHA256 [32]byte
}

// Object is an open entry: its record and a reader over its body.
// The caller must Close it.
type Object struct {
	Entry
	// Body reads the body. It is an *os.File for blob bodies (so that
	// net/http can use sendfile) and a *bytes.Reader for inline ones.
	Body io.ReadSeeker
}
