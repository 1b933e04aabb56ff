package checksum

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"

	"golang.org/x/mod/sumdb"

	"github.com/gofailover/gofailover/cache"
)

// clientOps gives one sumdb.Client its I/O for one lookup: remote reads
// from one source, configuration and cache in the store. It records what
// went wrong, because sumdb.Client flattens the errors it returns.
type clientOps struct {
	ctx context.Context
	v   *Verifier
	src Source

	// notFound is set when the source said a path does not exist.
	notFound bool
	// readFailed is set when a read from the source failed.
	readFailed bool
	// security holds the message of a security error.
	security string
}

var _ sumdb.ClientOps = (*clientOps)(nil)

// ReadRemote reads a database path from the source.
func (o *clientOps) ReadRemote(path string) ([]byte, error) {
	data, err := o.src.ReadRemote(o.ctx, path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		o.notFound = true
	case err != nil:
		o.readFailed = true
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
	if errors.Is(err, cache.ErrConflict) {
		return sumdb.ErrWriteConflict
	}
	return err
}

// ReadCache returns a tile or lookup the client verified earlier. Entries
// the /sumdb/ pass-through stored without verification are not trusted.
func (o *clientOps) ReadCache(file string) ([]byte, error) {
	obj, err := o.v.cfg.Store.Open("/sumdb/" + file)
	if err != nil {
		return nil, err
	}
	defer obj.Close()
	if !obj.Verified || obj.Status != http.StatusOK {
		return nil, fmt.Errorf("%s: not verified", file)
	}
	return io.ReadAll(obj.Body)
}

// WriteCache stores a tile or lookup the client has verified.
func (o *clientOps) WriteCache(file string, data []byte) {
	meta := cache.Meta{Status: http.StatusOK, Immutable: true, Verified: true, Upstream: o.src.Name()}
	if err := o.v.cfg.Store.PutBytes("/sumdb/"+file, meta, data); err != nil {
		o.v.log.Warn("storing verified checksum database data failed", "file", file, "err", err)
	}
}

// Log records a message of the client's.
func (o *clientOps) Log(msg string) { o.v.log.Debug(msg, "source", o.src.Name()) }

// badContent returns why the lookup that just failed with err proves the
// source served bad database content: a security error (an inconsistent
// tree), or a failure with every read having succeeded (a record or tile
// that does not verify). Otherwise it returns "".
func (o *clientOps) badContent(err error) string {
	switch {
	case o.security != "":
		return o.security
	case err != nil && !o.notFound && !o.readFailed:
		return err.Error()
	}
	return ""
}

// SecurityError records a proof that the source served an inconsistent
// tree; the lookup then fails with sumdb.ErrSecurity.
func (o *clientOps) SecurityError(msg string) { o.security = msg }

// configKey is the store's name for a client configuration file.
func configKey(file string) string { return "sumdb-config/" + file }
