package proxy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path"
	"strings"
	"sync"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/gofailover/gofailover/cache"
	"github.com/gofailover/gofailover/proxy/checksum"

	"github.com/gofailover/gofailover/proxy/protocol"
)

// private reports whether mod is a private module: never verified, never
// sent to a public upstream or the checksum database.
func (h *Handler) private(mod string) bool {
	return h.privacy(mod).private
}

// privacy is what the private patterns make of one module path.
type privacy struct {
	// private: the path matches a pattern.
	private bool
	// prefixOf is the pattern the path is a proper path prefix of, if
	// any (see privatePrefix).
	prefixOf string
}

// privacyMemo remembers what the private patterns make of the module
// paths asked for, so that a hit does not match them again. When full, it
// starts afresh.
type privacyMemo struct {
	mu sync.RWMutex
	m  map[string]privacy
}

// privacyMemoMax bounds a privacyMemo.
const privacyMemoMax = 1 << 14

// privacy returns what the private patterns make of mod, remembered.
func (h *Handler) privacy(mod string) privacy {
	if h.cfg.Private == "" || mod == "" {
		return privacy{}
	}
	memo := &h.privacies
	memo.mu.RLock()
	p, ok := memo.m[mod]
	memo.mu.RUnlock()
	if ok {
		return p
	}
	p.private = module.MatchPrefixPatterns(h.cfg.Private, mod)
	p.prefixOf, _ = h.matchPrivatePrefix(mod)
	memo.mu.Lock()
	if memo.m == nil || len(memo.m) >= privacyMemoMax {
		memo.m = make(map[string]privacy)
	}
	memo.m[mod] = p
	memo.mu.Unlock()
	return p
}

// privatePrefix returns the private pattern that mod is a proper path
// prefix of, if any: mod is not private itself, but the go command asks for
// it while looking for the module that provides a private package (for
// corp.example.com/team/repo under the pattern corp.example.com/team/*, it
// also asks for corp.example.com/@v/list), so asking a public upstream
// would tell it a private host's name.
func (h *Handler) privatePrefix(mod string) (pattern string, ok bool) {
	p := h.privacy(mod)
	return p.prefixOf, p.prefixOf != ""
}

// matchPrivatePrefix is privatePrefix, worked out.
func (h *Handler) matchPrivatePrefix(mod string) (pattern string, ok bool) {
	if h.cfg.Private == "" || mod == "" {
		return "", false
	}
	elems := strings.Split(mod, "/")
	for pattern := range strings.SplitSeq(h.cfg.Private, ",") {
		pattern = strings.TrimRight(strings.TrimSpace(pattern), "/")
		pelems := strings.Split(pattern, "/")
		if pattern == "" || len(elems) >= len(pelems) {
			continue
		}
		matches := true
		for i, e := range elems {
			if ok, err := path.Match(pelems[i], e); !ok || err != nil {
				matches = false
				break
			}
		}
		if matches {
			return pattern, true
		}
	}
	return "", false
}

// refuse reports requests answered 404 before any cache or upstream work:
// checksum-database paths of another database than the configured one,
// path prefixes of private patterns, private modules with no private
// upstream, and checksum-database lookups of private modules.
func (h *Handler) refuse(req *protocol.Request) (reason string, refused bool) {
	if req.Kind == protocol.KindSumDB {
		name := h.cfg.SumDBName
		if h.sums != nil {
			name = h.sums.Name()
		}
		switch {
		case name == "":
			return "no checksum database is served here (GOFAILOVER_SUMDB=off, and the go command's GOSUMDB is off)", true
		case req.SumDB != name:
			return "the checksum database served here is " + name + ", not " + req.SumDB, true
		}
	}
	if pattern, ok := h.privatePrefix(req.Module); ok {
		return req.Module + " is a path prefix of the private pattern " + pattern + " (GOFAILOVER_PRIVATE): it is not asked of any public upstream", true
	}
	if !h.private(req.Module) {
		return "", false
	}
	if req.Kind == protocol.KindSumDB {
		return req.Module + " is private (GOFAILOVER_PRIVATE): it is not looked up in the checksum database; add it to the go command's GONOSUMDB or GOPRIVATE", true
	}
	if h.cfg.PrivateRouter == nil {
		return req.Module + " is private (GOFAILOVER_PRIVATE) and no private upstream is configured (GOFAILOVER_PRIVATE_UPSTREAMS)", true
	}
	return "", false
}

// router returns the router whose upstreams may serve req.
func (h *Handler) router(req *protocol.Request) Router {
	if h.private(req.Module) {
		return h.cfg.PrivateRouter
	}
	return h.cfg.Router
}

// verifies reports whether req's body must be checked against the
// checksum database: the .mod and .zip of public modules, with
// verification on.
func (h *Handler) verifies(req *protocol.Request) bool {
	return h.sums != nil && (req.Kind == protocol.KindMod || req.Kind == protocol.KindZip) && !h.private(req.Module)
}

// verifiesLookup reports whether req is a lookup in the checksum database
// the verifier uses, answered through it so that only verified records are
// stored and served.
func (h *Handler) verifiesLookup(req *protocol.Request) bool {
	return h.sums != nil && req.Kind == protocol.KindSumDB && req.SumDB == h.sums.Name() && req.Module != ""
}

// verifiesTile reports whether req is a hash tile of the verifier's
// database, which is served only once verified against the tree head the
// verifier holds, and returns the tile.
func (h *Handler) verifiesTile(req *protocol.Request) (tlog.Tile, bool) {
	if h.sums == nil || req.Kind != protocol.KindSumDB || req.SumDB != h.sums.Name() {
		return tlog.Tile{}, false
	}
	t, err := tlog.ParseTilePath(strings.TrimPrefix(req.Path, "/sumdb/"+req.SumDB+"/"))
	if err != nil || t.L < 0 {
		return tlog.Tile{}, false
	}
	return t, true
}

// tile answers a tile of the verifier's database: verified through the
// verifier and stored; when no verified tree head covers it yet, fetched
// from the upstreams like any pass-through answer (stored unverified, and
// verified once a tree head covers it).
func (h *Handler) tile(req *protocol.Request, t tlog.Tile, job *prefetchJob) *answer {
	data, err := h.sums.Tile(h.base, t)
	switch {
	case errors.Is(err, checksum.ErrNoTree):
		return h.fetch(req, job)
	case err != nil:
		return &answer{status: http.StatusBadGateway, reason: err.Error()}
	}
	meta := cache.Meta{Status: http.StatusOK, Immutable: true, Verified: true, StoredAt: h.cfg.Now()}
	if err := h.cfg.Store.PutBytes(req.Path, meta, data); err != nil {
		h.storeWriteFailed(slog.LevelWarn, "storing a verified tile failed", req.Path, err)
	} else {
		h.uploadSumDB(req.Path, "")
	}
	e := cache.Entry{Meta: meta, Key: req.Path, Size: int64(len(data)), SHA256: sha256.Sum256(data)}
	return &answer{status: http.StatusOK, entry: e, inline: data}
}

// prefetchLookup starts looking up a module version in the checksum
// database while its .info, .mod or .zip is being fetched, so that the
// database's answer is there (the verifier's client shares one lookup per
// version) when the .mod and .zip are verified: the two round trips
// overlap instead of adding up.
func (h *Handler) prefetchLookup(req *protocol.Request) {
	if h.sums == nil || !req.Immutable || h.private(req.Module) ||
		(req.Kind != protocol.KindInfo && req.Kind != protocol.KindMod && req.Kind != protocol.KindZip) {
		return
	}
	h.fetches.Add(1)
	go func() {
		defer h.fetches.Done()
		if _, err := h.sums.Lookup(h.base, req.Module, req.Version); err != nil {
			h.log.Debug("checksum database prefetch failed", "module", req.Module, "version", req.Version, "err", err)
		}
	}()
}

// verifyBody checks a fetched .mod (data in memory, or the file at path)
// or .zip (the file at path).
func (h *Handler) verifyBody(ctx context.Context, req *protocol.Request, data []byte, path string) error {
	switch {
	case req.Kind == protocol.KindZip:
		return h.sums.VerifyZip(ctx, req.Module, req.Version, path)
	case path != "":
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("opening the fetched %s to verify it: %w", req.Path, err)
		}
		defer f.Close()
		return h.sums.VerifyMod(ctx, req.Module, req.Version, f)
	}
	return h.sums.VerifyMod(ctx, req.Module, req.Version, bytes.NewReader(data))
}

// trusted reports whether a cached entry may be served. Public .mod and
// .zip files stored without verification (before it was turned on) are
// verified now and marked, or dropped if they fail; lookups of the
// verifier's database stored unverified are looked up again.
func (h *Handler) trusted(ctx context.Context, req *protocol.Request, obj *cache.Object) bool {
	switch {
	case obj.Verified || obj.Status != http.StatusOK:
		return true
	case h.verifiesLookup(req):
		return false
	case req.Kind == protocol.KindSumDB:
		_, verifiable := h.verifiesTile(req)
		return !verifiable
	case !h.verifies(req):
		return true
	}
	err := h.verifyCached(ctx, req, obj)
	var ce *checksum.ContentError
	switch {
	case err == nil:
		if err := h.cfg.Store.MarkVerified(req.Path, obj.SHA256); err != nil {
			h.storeWriteFailed(slog.LevelWarn, "marking a cached answer verified failed", req.Path, err)
		}
		return true
	case errors.As(err, &ce):
		h.log.Error("dropping a cached answer that fails verification", "key", req.Path, "upstream", obj.Upstream, "err", err)
		if err := h.cfg.Store.Delete(req.Path); err != nil {
			h.log.Warn("dropping a cached answer failed", "key", req.Path, "err", err)
		}
	default:
		h.log.Warn("cannot verify a cached answer now; fetching it again", "key", req.Path, "err", err)
	}
	return false
}

// verifyCached checks a cached .mod or .zip body. A zip is checked in its
// blob file, or, if it was stored inline, in a temporary copy (the hashing
// reads a file).
func (h *Handler) verifyCached(ctx context.Context, req *protocol.Request, obj *cache.Object) error {
	defer obj.Body.Seek(0, io.SeekStart)
	if req.Kind == protocol.KindMod {
		return h.sums.VerifyMod(ctx, req.Module, req.Version, obj.Body)
	}
	if f, ok := obj.Body.(*os.File); ok {
		return h.verifyZipFile(ctx, req, f.Name())
	}
	blob, err := h.cfg.Store.NewBlob()
	if err != nil {
		return fmt.Errorf("copying cached %s to verify it: %w", req.Path, err)
	}
	defer blob.Discard()
	if _, err := io.Copy(blob, obj.Body); err != nil {
		return fmt.Errorf("copying cached %s to verify it: %w", req.Path, err)
	}
	return h.verifyZipFile(ctx, req, blob.Path())
}

// verifyZipFile checks a cached zip as a fetched one is checked: the body
// checker's checks, then its hash.
func (h *Handler) verifyZipFile(ctx context.Context, req *protocol.Request, path string) error {
	if err := protocol.CheckZip(req, path); err != nil {
		return &checksum.ContentError{Module: req.Module, Version: req.Version, File: "zip", Err: err}
	}
	return h.verifyBody(ctx, req, nil, path)
}

// lookup answers a lookup in the verifier's database: the verifier fetches
// and verifies the record, which stores it; the answer is read back.
func (h *Handler) lookup(req *protocol.Request) *answer {
	_, err := h.sums.Lookup(h.base, req.Module, req.Version)
	switch {
	case errors.Is(err, checksum.ErrNotInDatabase):
		return &answer{status: http.StatusNotFound, reason: err.Error()}
	case err != nil:
		return &answer{status: http.StatusBadGateway, reason: err.Error()}
	}
	e, err := h.cfg.Store.Lookup(req.Path)
	if err != nil {
		return &answer{status: http.StatusInternalServerError, reason: "reading back the verified lookup failed: " + err.Error()}
	}
	return &answer{status: http.StatusOK, entry: e}
}

// verificationAnswer turns a verification error that no other upstream can
// cure into the answer for the request, or returns nil when the error is
// bad content from this upstream and the next should be tried.
func verificationAnswer(err error) *answer {
	var ce *checksum.ContentError
	switch {
	case errors.As(err, &ce):
		return nil
	case errors.Is(err, checksum.ErrNotInDatabase):
		return &answer{status: http.StatusNotFound, reason: "cannot verify: " + err.Error()}
	}
	return &answer{status: http.StatusBadGateway, reason: "cannot verify: " + err.Error()}
}
