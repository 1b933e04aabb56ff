// Package checksum checks module files against a Go checksum database,
// with golang.org/x/mod/sumdb's client doing the cryptography. The verified
// signed tree head, tiles and lookups live in the cache, so verification
// works offline for anything seen before, and the tree it trusts only moves
// forward.
package checksum

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb"
	"golang.org/x/mod/sumdb/dirhash"
	modzip "golang.org/x/mod/zip"

	"github.com/gofailover/gofailover/cache"
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

func (e *ContentError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s@%s: malformed %s: %v", e.Module, e.Version, e.File, e.Err)
	}
	return fmt.Sprintf("%s@%s: %s hash %s does not match the checksum database's %s", e.Module, e.Version, e.File, e.Got, e.Want)
}

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

// Store is the part of the cache the verifier keeps its state in.
type Store interface {
	Open(key string) (*cache.Object, error)
	PutBytes(key string, m cache.Meta, data []byte) error
	ReadValue(name string) ([]byte, error)
	SwapValue(name string, old, new []byte) error
}

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
}

// Verifier checks .mod and .zip files against the checksum database.
// It is safe for concurrent use.
type Verifier struct {
	cfg Config
	log *slog.Logger
}

// New returns a Verifier.
func New(cfg Config) *Verifier {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Verifier{cfg: cfg, log: cfg.Logger}
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
	for _, src := range sources {
		// A client per lookup: sumdb.Client remembers every error for its
		// lifetime, and its state beyond the tree head and the cache
		// (both in the store) is cheap to rebuild.
		ops := &clientOps{ctx: ctx, v: v, src: src}
		lines, err := sumdb.NewClient(ops).Lookup(mod, version)
		switch {
		case err == nil:
			return lines, nil
		case ops.badContent(err) != "":
			reason := ops.badContent(err)
			v.log.Error("checksum database content from an upstream failed verification",
				"source", src.Name(), "module", mod, "version", version, "err", reason)
			if v.cfg.BadContent != nil {
				v.cfg.BadContent(src.Name(), errors.New(reason))
			}
			failures = append(failures, src.Name()+": served content that failed verification")
		case ops.notFound:
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
		return nil, fmt.Errorf("%s@%s: %w %s", mod, version, ErrNotInDatabase, v.cfg.DB.Name)
	}
	return nil, fmt.Errorf("%s@%s: %w: %s", mod, version, ErrUnavailable, strings.Join(failures, "; "))
}

// VerifyMod checks the go.mod file of mod@version.
func (v *Verifier) VerifyMod(ctx context.Context, mod, version string, data []byte) error {
	got, err := dirhash.Hash1([]string{"go.mod"}, func(string) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	})
	if err != nil {
		return fmt.Errorf("hashing %s@%s go.mod: %w", mod, version, err)
	}
	return v.compare(ctx, mod, version+"/go.mod", "go.mod", got)
}

// VerifyZip checks the module zip of mod@version in the file at path: that
// it is a well-formed module zip and that its hash is the database's.
func (v *Verifier) VerifyZip(ctx context.Context, mod, version, path string) error {
	cf, err := modzip.CheckZip(module.Version{Path: mod, Version: version}, path)
	if err == nil {
		err = cf.Err()
	}
	if err != nil {
		return &ContentError{Module: mod, Version: version, File: "zip", Err: err}
	}
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
