package checksum

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/mod/sumdb"
)

// clientOps gives one sumdb.Client its I/O: remote reads from one source,
// configuration and cache in the store. It records what went wrong,
// because sumdb.Client flattens the errors it returns. It is safe for
// concurrent use.
type clientOps struct {
	ctx context.Context
	v   *Verifier
	src Source

	// failedReads counts reads from the source that failed, other than
	// lookups the source said do not exist.
	failedReads atomic.Int64

	mu sync.Mutex
	// notFound holds the lookup paths the source said do not exist.
	notFound map[string]bool
	// security holds the message of a security error.
	security string
	// wrong holds why a lookup the source answered is not the record it
	// was asked for (see checkLookupRecord).
	wrong string
}

var _ sumdb.ClientOps = (*clientOps)(nil)

// ReadRemote reads a database path from the source.
func (o *clientOps) ReadRemote(path string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(o.ctx, remoteReadTimeout)
	defer cancel()
	data, err := o.src.ReadRemote(ctx, path)
	if err == nil {
		if werr := checkLookupRecord(path, data); werr != nil {
			o.mu.Lock()
			o.wrong = werr.Error()
			o.mu.Unlock()
			return nil, fmt.Errorf("%s%s: %w", o.src.Name(), path, werr)
		}
	}
	switch {
	case errors.Is(err, fs.ErrNotExist) && strings.HasPrefix(path, "/lookup/"):
		o.mu.Lock()
		if o.notFound == nil {
			o.notFound = make(map[string]bool)
		}
		o.notFound[path] = true
		o.mu.Unlock()
	case err != nil:
		o.failedReads.Add(1)
	}
	return data, err
}

// ReadConfig returns the verifier key, or the latest verified tree head
// from the store.
func (o *clientOps) ReadConfig(file string) ([]byte, error) {
	if file == "key" {
		return []byte(o.v.cfg.DB.Key), nil
	}
	return o.v.cfg.Store.ReadValue(configKey(file))
}

// WriteConfig moves the latest verified tree head forward, atomically.
func (o *clientOps) WriteConfig(file string, old, new []byte) error {
	err := o.v.cfg.Store.SwapValue(configKey(file), old, new)
	if errors.Is(err, ErrConflict) {
		return sumdb.ErrWriteConflict
	}
	return err
}

// ReadCache returns a tile or lookup the client verified earlier. Entries
// the /sumdb/ pass-through stored without verification are not trusted.
func (o *clientOps) ReadCache(file string) ([]byte, error) {
	return o.v.cfg.Store.ReadVerified("/sumdb/" + file)
}

// WriteCache stores a tile or lookup the client has verified.
func (o *clientOps) WriteCache(file string, data []byte) {
	if err := o.v.cfg.Store.PutVerified("/sumdb/"+file, data, o.src.Name()); err != nil {
		o.v.log.Warn("storing verified checksum database data failed", "file", file, "err", err)
	}
}

// Log records a message of the client's.
func (o *clientOps) Log(msg string) { o.v.log.Debug(msg, "source", o.src.Name()) }

// wasNotFound reports whether the source said the lookup path does not exist.
func (o *clientOps) wasNotFound(path string) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.notFound[path]
}

// securityError returns the message of a security error, or of a wrong
// record served for a lookup, if one happened: either is content the
// source served that fails verification.
func (o *clientOps) securityError() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.security != "" {
		return o.security
	}
	return o.wrong
}

// SecurityError records a proof that the source served an inconsistent
// tree; the lookup then fails with sumdb.ErrSecurity.
func (o *clientOps) SecurityError(msg string) {
	o.mu.Lock()
	o.security = msg
	o.mu.Unlock()
}

// remoteReadTimeout bounds one read of a database path from a source.
const remoteReadTimeout = 30 * time.Second

// configKey is the store's name for a client configuration file.
func configKey(file string) string { return "sumdb-config/" + file }
