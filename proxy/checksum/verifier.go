// Package checksum checks module files against a Go checksum database,
// with golang.org/x/mod/sumdb's client doing the cryptography. The verified
// signed tree head, tiles and lookups live in the cache, so verification
// works offline for anything seen before, and the tree it trusts only moves
// forward.
package checksum

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb"
	"golang.org/x/mod/sumdb/dirhash"
)

// ErrNotInDatabase reports that the checksum database has no record of a
// module version.
var ErrNotInDatabase = errors.New("not in the checksum database")

// ErrUnavailable reports that no source of the checksum database could be
// read, so nothing could be verified.
var ErrUnavailable = errors.New("checksum database unavailable")

// ContentError reports module content that fails verification: the bytes
// an upstream served are wrong, not merely unverifiable.
type ContentError struct {
	Module, Version string
	// File is "go.mod" or "zip".
	File string
	// Got and Want are the content's hash and the database's, when both
	// are known.
	Got, Want string
	// Err is why the content is malformed, when it is.
	Err error
}

// Error describes the bad content with both hashes, or why it is malformed.
func (e *ContentError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s@%s: malformed %s: %v", e.Module, e.Version, e.File, e.Err)
	}
	return fmt.Sprintf("%s@%s: %s hash %s does not match the checksum database's %s", e.Module, e.Version, e.File, e.Got, e.Want)
}

// Unwrap returns why the content is malformed, if it is.
func (e *ContentError) Unwrap() error { return e.Err }

// Source reads the database's paths (/lookup/..., /tile/...) one way: one
// upstream mirror's /sumdb/<name>/ path, or the database itself.
type Source interface {
	// Name identifies the source in logs and reports.
	Name() string
	// ReadRemote returns the content at path. A "does not exist" answer is
	// an error wrapping fs.ErrNotExist.
	ReadRemote(ctx context.Context, path string) ([]byte, error)
}

// Store is where the verifier keeps what it trusts: the latest verified
// signed tree head (a value that only moves forward, behind a
// compare-and-swap) and the tiles and lookups it verified, under the keys
// the /sumdb/ pass-through serves them by ("/sumdb/<name>/<path>").
type Store interface {
	// ReadValue returns the named value, or nil when it was never
	// written.
	ReadValue(name string) ([]byte, error)
	// SwapValue replaces the named value with new if it equals old (an
	// absent value equals an empty old), and returns an error wrapping
	// ErrConflict otherwise.
	SwapValue(name string, old, new []byte) error
	// ReadVerified returns the answer stored under key if it was stored
	// as verified; an error wrapping ErrNotFound when there is none, or
	// ErrNotVerified when it was stored without verification.
	ReadVerified(key string) ([]byte, error)
	// PutVerified stores data under key as a verified, immutable answer
	// that source served.
	PutVerified(key string, data []byte, source string) error
}

// ErrNotFound reports that the Store holds nothing under a key.
var ErrNotFound = errors.New("not stored")

// ErrNotVerified reports that the Store holds an answer under a key that
// was not stored as verified.
var ErrNotVerified = errors.New("stored without verification")

// ErrConflict reports that a SwapValue found another value than the old
// one it was given.
var ErrConflict = errors.New("stored value changed")

// Config holds what a Verifier needs.
type Config struct {
	// DB is the database to verify against.
	DB Database
	// Store keeps the verified tree head, tiles and lookups.
	Store Store
	// Sources returns the ways to read the database, best first.
	Sources func() []Source
	// BadContent, if set, is told when a source served database content
	// that failed verification: a forked or inconsistent tree, a bad proof.
	BadContent func(source string, err error)
	// Logger receives the verifier's logs. Nil means slog.Default().
	Logger *slog.Logger
	// Context bounds the verifier's remote reads, which are shared by
	// concurrent lookups and so belong to no single request: the server's
	// lifetime. Nil means context.Background().
	Context context.Context
}

// maxClientLookups is how many lookups one sumdb.Client serves before it is
// replaced: the client memoizes every lookup and tile without bound.
const maxClientLookups = 4096

// Verifier checks .mod and .zip files against the checksum database.
// It is safe for concurrent use.
type Verifier struct {
	cfg Config
	log *slog.Logger

	mu sync.Mutex
	// clients holds one sumdb.Client per source name. A client is
	// replaced after any failed lookup, since sumdb.Client remembers every
	// error for its lifetime; its lasting state (the verified tree head,
	// tiles and lookups) is in the store, so a new one is cheap.
	clients map[string]*pooledClient

	// Lookup results since creation, for LookupStats.
	found, notFound, unavailable atomic.Uint64
}

// LookupStats counts a Verifier's lookups by result.
type LookupStats struct {
	// Found counts lookups that gave the database's record (from the
	// store or a source); NotFound those the database has no record for;
	// Unavailable those no source could answer.
	Found, NotFound, Unavailable uint64
}

// Stats returns the verifier's lookup counts.
func (v *Verifier) Stats() LookupStats {
	return LookupStats{Found: v.found.Load(), NotFound: v.notFound.Load(), Unavailable: v.unavailable.Load()}
}

// pooledClient is a sumdb.Client reading from one source.
type pooledClient struct {
	client *sumdb.Client
	ops    *clientOps
	uses   atomic.Int64
}

// New returns a Verifier.
func New(cfg Config) *Verifier {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Context == nil {
		cfg.Context = context.Background()
	}
	return &Verifier{cfg: cfg, log: cfg.Logger, clients: make(map[string]*pooledClient)}
}

// client returns the client reading from src, creating it if needed.
func (v *Verifier) client(src Source) *pooledClient {
	v.mu.Lock()
	defer v.mu.Unlock()
	pc := v.clients[src.Name()]
	if pc == nil {
		ops := &clientOps{ctx: v.cfg.Context, v: v, src: src}
		pc = &pooledClient{client: sumdb.NewClient(ops), ops: ops}
		v.clients[src.Name()] = pc
	}
	return pc
}

// retire replaces pc with a fresh client at the next lookup.
func (v *Verifier) retire(src Source, pc *pooledClient) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.clients[src.Name()] == pc {
		delete(v.clients, src.Name())
	}
}

// Name returns the database's name.
func (v *Verifier) Name() string { return v.cfg.DB.Name }

// CacheKey returns the store key of a database path such as
// "/lookup/example.com/m@v1.0.0": the same key the /sumdb/ pass-through
// uses, so both serve the same verified bytes.
func (v *Verifier) CacheKey(path string) string { return "/sumdb/" + v.cfg.DB.Name + path }

// Lookup returns the database's go.sum lines for mod at version (which may
// end in "/go.mod"). It tries the sources in order: a source that serves
// content failing verification is reported through Config.BadContent and
// the next is tried. The lookup record ends up in the store, verified.
func (v *Verifier) Lookup(ctx context.Context, mod, version string) ([]string, error) {
	sources := v.cfg.Sources()
	if len(sources) == 0 {
		sources = []Source{offline{}}
	}
	var (
		failures []string
		notFound bool
	)
	lookupPath, err := remoteLookupPath(mod, version)
	if err != nil {
		return nil, fmt.Errorf("%s@%s: %w", mod, version, err)
	}
	for _, src := range sources {
		pc := v.client(src)
		lines, err := pc.client.Lookup(mod, version)
		if err == nil {
			if pc.uses.Add(1) >= maxClientLookups {
				v.retire(src, pc)
			}
			v.found.Add(1)
			return lines, nil
		}
		v.retire(src, pc)
		// Why it failed, from what the client's I/O saw: a security
		// error, the source saying there is no such record, a read that
		// failed, or else (every read succeeded) content that did not
		// verify. The client is shared by concurrent lookups and replays
		// a remembered error to all of them, so a read failure anywhere in
		// its life counts: a source is blamed for bad content only when
		// it never failed to answer.
		reason := pc.ops.securityError()
		if reason == "" && !pc.ops.wasNotFound(lookupPath) && pc.ops.failedReads.Load() == 0 {
			reason = err.Error()
		}
		switch {
		case reason != "":
			v.log.Error("checksum database content from an upstream failed verification",
				"source", src.Name(), "module", mod, "version", version, "err", reason)
			if v.cfg.BadContent != nil {
				v.cfg.BadContent(src.Name(), errors.New(reason))
			}
			failures = append(failures, src.Name()+": served content that failed verification")
		case pc.ops.wasNotFound(lookupPath):
			notFound = true
			failures = append(failures, src.Name()+": not found")
		default:
			failures = append(failures, fmt.Sprintf("%s: %v", src.Name(), err))
		}
		if ctx.Err() != nil {
			break
		}
	}
	if notFound {
		v.notFound.Add(1)
		return nil, fmt.Errorf("%s@%s: %w %s", mod, version, ErrNotInDatabase, v.cfg.DB.Name)
	}
	v.unavailable.Add(1)
	return nil, fmt.Errorf("%s@%s: %w: %s", mod, version, ErrUnavailable, strings.Join(failures, "; "))
}

// remoteLookupPath returns the database path of the lookup of mod at
// version (with or without "/go.mod").
func remoteLookupPath(mod, version string) (string, error) {
	epath, err := module.EscapePath(mod)
	if err != nil {
		return "", err
	}
	evers, err := module.EscapeVersion(strings.TrimSuffix(version, "/go.mod"))
	if err != nil {
		return "", err
	}
	return "/lookup/" + epath + "@" + evers, nil
}

// VerifyMod checks the go.mod file of mod@version, read from gomod (in
// memory or in a file: it is hashed as it is read).
func (v *Verifier) VerifyMod(ctx context.Context, mod, version string, gomod io.Reader) error {
	got, err := dirhash.Hash1([]string{"go.mod"}, func(string) (io.ReadCloser, error) {
		return io.NopCloser(gomod), nil
	})
	if err != nil {
		return fmt.Errorf("hashing %s@%s go.mod: %w", mod, version, err)
	}
	return v.compare(ctx, mod, version+"/go.mod", "go.mod", got)
}

// VerifyZip checks that the hash of the module zip of mod@version in the
// file at path is the database's. It does not check the zip's structure:
// the body checker (proxy/protocol.CheckZip) does, before it gets here. A
// zip that cannot be hashed is a ContentError.
func (v *Verifier) VerifyZip(ctx context.Context, mod, version, path string) error {
	got, err := dirhash.HashZip(path, dirhash.Hash1)
	if err != nil {
		return &ContentError{Module: mod, Version: version, File: "zip", Err: err}
	}
	return v.compare(ctx, mod, version, "zip", got)
}

// compare looks up the database's hash of mod at version (or version/go.mod)
// and compares it with got.
func (v *Verifier) compare(ctx context.Context, mod, version, file, got string) error {
	lines, err := v.Lookup(ctx, mod, version)
	if err != nil {
		return err
	}
	prefix := mod + " " + version + " "
	for _, line := range lines {
		if want, ok := strings.CutPrefix(line, prefix); ok {
			if want != got {
				return &ContentError{Module: mod, Version: strings.TrimSuffix(version, "/go.mod"), File: file, Got: got, Want: want}
			}
			return nil
		}
	}
	return fmt.Errorf("%s@%s: %w %s (its record has no %s line)", mod, version, ErrNotInDatabase, v.cfg.DB.Name, file)
}

// offline is the source used when there is none: everything not in the
// store is unavailable.
type offline struct{}

func (offline) Name() string { return "offline" }

func (offline) ReadRemote(context.Context, string) ([]byte, error) {
	return nil, errors.New("no upstream to read the checksum database from")
}
