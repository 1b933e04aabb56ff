// Package shared is gofailover's client of the object store a fleet of
// replicas shares: an S3-compatible bucket that holds every answer under a
// key that reads like its request path. It knows nothing of the module
// proxy protocol or of verification: it moves bytes and their metadata, with
// its own timeouts, and says plainly what failed.
package shared

import (
	"errors"
	"io"
	"time"
)

// ErrNotFound is returned when the store holds no object under a key.
var ErrNotFound = errors.New("shared store: no such object")

// ErrExists is returned by a Put with IfAbsent when an object is already
// stored under the key (the store answered 412 to If-None-Match: *).
var ErrExists = errors.New("shared store: object already exists")

// Meta is what an object's metadata says of its bytes. It is stored as
// user metadata (x-amz-meta-*) and is as untrusted as the bytes: the
// reader checks both.
type Meta struct {
	// SHA256 is the body's SHA-256 digest; zero when the object carries
	// none, or a malformed one.
	SHA256 [32]byte
	// StoredAt is when the answer was fetched from a mirror; zero when the
	// object carries none, or a malformed one.
	StoredAt time.Time
	// Verified says what the writer checked the body against, such as
	// "sumdb:NAME" or "body-checks".
	Verified string
	// Upstream names the mirror the answer came from.
	Upstream string
	// Status is the HTTP status of a "not found" answer (404, 410), whose
	// body is its reason; zero for a 200 answer.
	Status int
}

// Object is an object read from the store. The caller must Close Body.
type Object struct {
	Meta
	// Key is the object's full key, prefix included.
	Key string
	// Size is the body's length, as the store reported it.
	Size int64
	// ETag is the store's entity tag for this version of the object.
	ETag string
	// Body reads the bytes. Reads fail once the store stalls for longer
	// than the idle timeout.
	Body io.ReadCloser
}
