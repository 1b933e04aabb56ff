package proxy

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/gofailover/gofailover/cache"
	"github.com/gofailover/gofailover/cache/shared"
	"github.com/gofailover/gofailover/health"
	"github.com/gofailover/gofailover/proxy/checksum"
	"github.com/gofailover/gofailover/proxy/protocol"
	"github.com/gofailover/gofailover/proxy/sharedtier"
	"github.com/gofailover/gofailover/proxy/upstream"
)

// sharedSourceName is the Upstream field of answers read from the shared
// store, in the local cache and in logs.
const sharedSourceName = "shared store"

// sharedPrivatePrefix is where private modules' answers are kept in the
// shared store (with Config.SharedPrivate): its first element has no dot,
// so no public module path starts with it.
const sharedPrivatePrefix = "/private"

// sharedPath returns req's path in the shared store, and false when req is
// not shared: no store is configured, or req is a private module's and
// sharing those is off.
func (h *Handler) sharedPath(req *protocol.Request) (string, bool) {
	if h.cfg.Shared == nil {
		return "", false
	}
	if h.private(req.Module) {
		if !h.cfg.SharedPrivate {
			return "", false
		}
		return sharedPrivatePrefix + req.Path, true
	}
	return req.Path, true
}

// sharedCopy is an answer read from the shared store that passed every
// check a mirror's answer passes: the body checks, its metadata's hash,
// and for public .mod and .zip files the checksum database.
type sharedCopy struct {
	path     string // in the store
	storedAt time.Time
	verified bool
	// status is 200, or 404 or 410 for a "not found" answer whose body
	// is its reason.
	status int
	body   []byte      // a small answer, or a "not found" answer's reason
	blob   *cache.Blob // a large one, or a zip
}

// discard drops a copy that is not stored.
func (c *sharedCopy) discard() {
	if c != nil && c.blob != nil {
		c.blob.Discard()
	}
}

// readShared asks the shared store for req's answer and checks it exactly
// as a mirror's answer is checked. It returns nil when the store has none
// or is down, or when what it holds fails; an object that fails is deleted
// (the mirrors' honest copy replaces it), counted, and logged at ERROR.
func (h *Handler) readShared(req *protocol.Request) *sharedCopy {
	path, ok := h.sharedPath(req)
	if !ok || (req.Kind == protocol.KindSumDB && !h.sharedSumDBReadable(req)) {
		return nil
	}
	ctx, cancel := context.WithCancel(h.base)
	defer cancel()
	obj, err := h.getShared(ctx, cancel, h.router(req), path)
	switch {
	case err == nil:
	case errors.Is(err, shared.ErrNotFound), errors.Is(err, sharedtier.ErrDown), errors.Is(err, errSharedSlow), ctx.Err() != nil:
		return nil
	default:
		h.log.Warn("reading from the shared store failed; asking the mirrors", "key", path, "err", err)
		return nil
	}
	defer obj.Body.Close()
	status := http.StatusOK
	switch obj.Status {
	case 0:
	case http.StatusNotFound, http.StatusGone:
		status = obj.Status
	default:
		h.condemnShared(path, fmt.Errorf("its status %d is not one an answer is shared with", obj.Status))
		return nil
	}
	if (!req.Immutable || status != http.StatusOK) && (obj.StoredAt.IsZero() || obj.StoredAt.After(h.cfg.Now())) {
		// An answer that can change, without a believable age, cannot
		// be judged: not used.
		h.condemnShared(path, fmt.Errorf("its stored-at time %v is missing or in the future", obj.StoredAt))
		return nil
	}
	if status != http.StatusOK {
		return h.readSharedNotFound(path, status, obj)
	}
	var blob *cache.Blob
	resp := h.client.ReadAnswer(ctx, "shared store "+path, req, obj.Body, obj.Size, func() (upstream.File, error) {
		b, err := h.cfg.Store.NewBlob()
		blob = b
		return b, err
	})
	c := &sharedCopy{path: path, storedAt: obj.StoredAt, status: http.StatusOK, body: resp.Body}
	if resp.File != nil {
		c.blob = blob
	} else if blob != nil {
		blob.Discard()
	}
	var spool *upstream.SpoolError
	switch {
	case resp.Err == nil:
	case resp.Outcome.Failure == health.FailBadBody || resp.Outcome.Failure == health.FailTooLarge:
		c.discard()
		h.condemnShared(path, resp.Err)
		return nil
	case errors.As(resp.Err, &spool):
		c.discard()
		h.storeWriteFailed(slog.LevelWarn, "the cache cannot hold the shared store's copy; asking the mirrors", req.Path, resp.Err)
		return nil
	default: // the transfer failed: nothing known against the object
		c.discard()
		h.log.Warn("reading from the shared store failed; asking the mirrors", "key", path, "err", resp.Err)
		return nil
	}
	if err := h.checkSharedCopy(ctx, req, obj.SHA256, c); err != nil {
		c.discard()
		var ce *checksum.ContentError
		if errors.As(err, &ce) || errors.Is(err, errSharedHash) || errors.Is(err, errSharedNote) {
			h.condemnShared(path, err)
		} else {
			// Nothing known against the object: it cannot be verified
			// now.
			h.log.Warn("cannot verify the shared store's copy now; asking the mirrors", "key", path, "err", err)
		}
		return nil
	}
	if c.verified {
		h.cfg.Shared.Verified(path, obj.ETag)
	}
	return c
}

// errSharedSlow reports a read of the shared store not made, or given
// up, because the store is slower than the mirrors.
var errSharedSlow = errors.New("the shared store is slower than the mirrors: not waited for")

// getShared reads an object of the shared store for a request that the
// upstreams of router could serve, waiting for the store's answer no
// longer than those upstreams usually take (sharedPatience): a slow store
// costs a request at most that. A store whose recent p95 is already over
// it is not asked at all (its probes go on measuring it). cancel cancels
// ctx, which must stay alive while the object's body is read.
func (h *Handler) getShared(ctx context.Context, cancel context.CancelFunc, router Router, path string) (*shared.Object, error) {
	patience := h.sharedPatience(router)
	if p95, ok := h.cfg.Shared.LatencyP95(); ok && p95 >= patience {
		return nil, errSharedSlow
	}
	impatient := time.AfterFunc(patience, cancel)
	obj, err := h.cfg.Shared.Get(ctx, path)
	if !impatient.Stop() {
		// Given up: whatever came back is cut off.
		if err == nil {
			obj.Body.Close()
		}
		if h.base.Err() == nil {
			h.cfg.Shared.Abandoned(patience)
		}
		return nil, fmt.Errorf("%s: no answer within %v: %w", path, patience, errSharedSlow)
	}
	return obj, err
}

// sharedPatience is how long a read of the shared store may take to start
// answering: as long as the quickest of router's upstreams usually takes
// (its p95 to first byte), within the hedge floor and ceiling.
func (h *Handler) sharedPatience(router Router) time.Duration {
	best := h.cfg.HedgeCeiling
	if l, ok := router.(latencies); ok {
		for _, u := range router.Upstreams() {
			if d, ok := l.LatencyP95(u); ok && d < best {
				best = d
			}
		}
	}
	return max(best, h.cfg.HedgeFloor)
}

// readSharedNotFound reads a "not found" answer from the store: its
// reason, one short line, whose hash its metadata gives.
func (h *Handler) readSharedNotFound(path string, status int, obj *shared.Object) *sharedCopy {
	reason, err := io.ReadAll(io.LimitReader(obj.Body, maxReasonBytes+1))
	switch {
	case err != nil:
		h.log.Warn("reading from the shared store failed; asking the mirrors", "key", path, "err", err)
		return nil
	case len(reason) > maxReasonBytes:
		h.condemnShared(path, fmt.Errorf("a not-found reason over %d bytes", maxReasonBytes))
		return nil
	case sha256.Sum256(reason) != obj.SHA256:
		h.condemnShared(path, errSharedHash)
		return nil
	}
	line := strings.Join(strings.Fields(string(reason)), " ")
	return &sharedCopy{path: path, storedAt: obj.StoredAt, status: status, body: []byte(line)}
}

// errSharedHash reports an object whose bytes do not hash to what its
// metadata says: written in part, changed, or lying.
var errSharedHash = errors.New("the object's bytes do not match the sha256 in its metadata")

// checkSharedCopy checks a copy's hash against its metadata, then
// verifies a public .mod or .zip against the checksum database. A zip
// passed the body checks (CheckZip) as it was read.
func (h *Handler) checkSharedCopy(ctx context.Context, req *protocol.Request, want [32]byte, c *sharedCopy) error {
	var got [32]byte
	if c.blob != nil {
		sum, err := fileSHA256(c.blob.Path())
		if err != nil {
			return fmt.Errorf("hashing the shared store's copy of %s: %w", req.Path, err)
		}
		got = sum
	} else {
		got = sha256.Sum256(c.body)
	}
	if got != want {
		return fmt.Errorf("%w: metadata says %x, the bytes hash to %x", errSharedHash, want, got)
	}
	switch {
	case req.Kind != protocol.KindSumDB:
	case strings.HasSuffix(req.Path, "/supported"):
		if len(c.body) != 0 || c.blob != nil {
			return fmt.Errorf("%w: a supported answer has no body", errSharedNote)
		}
		return nil
	default: // the tree head (see sharedSumDBReadable)
		return h.checkSharedNote(c)
	}
	if !h.verifies(req) {
		return nil
	}
	path := ""
	if c.blob != nil {
		path = c.blob.Path()
	}
	if err := h.verifyBody(ctx, req, c.body, path); err != nil {
		return err
	}
	c.verified = true
	return nil
}

// sharedSumDBReadable reports whether a checksum-database answer that
// reaches fetch may be read from the shared store: only the signed tree
// head of the verifier's database, whose signature checkSharedNote checks.
// The rest of the pass-through (tiles beyond the tree head the verifier
// holds, other databases' answers) could be checked only by size: a
// mirror is trusted that far, whoever can write to the bucket is not.
// (Lookups and the tiles the verifier can check are read from the store
// through the verifier: see sharedSumSource.)
//
// The database's supported endpoint is readable too: it carries nothing
// but its status, and is what the go command asks first.
func (h *Handler) sharedSumDBReadable(req *protocol.Request) bool {
	switch req.Path {
	case "/sumdb/" + req.SumDB + "/supported":
		return true
	case "/sumdb/" + req.SumDB + "/latest":
		return h.sums != nil && req.SumDB == h.sums.Name()
	}
	return false
}

// errSharedNote reports a checksum-database answer in the store that is
// not what the database serves: a tree head it did not sign, a body for
// its supported endpoint.
var errSharedNote = errors.New("the object is not what the checksum database serves")

// checkSharedNote checks that a copy of the database's latest tree head
// is a tree head the database signed. (An older one than a mirror would
// give is harmless: the go command keeps the newest it has proven.)
func (h *Handler) checkSharedNote(c *sharedCopy) error {
	msg := c.body
	if c.blob != nil {
		data, err := os.ReadFile(c.blob.Path())
		if err != nil {
			return fmt.Errorf("reading the shared store's copy of %s: %w", c.path, err)
		}
		msg = data
	}
	verifier, err := note.NewVerifier(h.cfg.SumDB.Key)
	if err != nil {
		return fmt.Errorf("checksum database key: %w", err)
	}
	n, err := note.Open(msg, note.VerifierList(verifier))
	if err != nil {
		return fmt.Errorf("%w: %w", errSharedNote, err)
	}
	if _, err := tlog.ParseTree([]byte(n.Text)); err != nil {
		return fmt.Errorf("%w: %w", errSharedNote, err)
	}
	return nil
}

// fileSHA256 hashes the file at path.
func fileSHA256(path string) ([32]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return [32]byte{}, err
	}
	defer f.Close()
	hash := sha256.New()
	if _, err := io.Copy(hash, f); err != nil {
		return [32]byte{}, err
	}
	return [32]byte(hash.Sum(nil)), nil
}

// condemnShared deletes an object of the shared store that failed a check
// or verification, so that no replica reads it again and the honest copy
// the mirrors give can take its place.
func (h *Handler) condemnShared(path string, why error) {
	h.log.Error("the shared store holds a bad object: deleting it", "key", path, "err", why)
	if err := h.cfg.Shared.Delete(h.base, path); err != nil {
		h.log.Warn("deleting a bad object from the shared store failed", "key", path, "err", err)
	}
}

// commitShared stores a checked copy from the shared store in the local
// cache, with the time it was fetched from a mirror for a mutable answer,
// and returns the answer to serve.
func (h *Handler) commitShared(req *protocol.Request, c *sharedCopy, source string, job *prefetchJob) *answer {
	if c.status != http.StatusOK {
		meta := cache.Meta{Status: c.status, StoredAt: c.storedAt, Upstream: sharedSourceName}
		if err := h.cfg.Store.PutBytes(req.Path, meta, c.body); err != nil {
			h.storeWriteFailed(slog.LevelWarn, "remembering a not-found answer failed", req.Path, err)
		}
		return &answer{status: c.status, reason: string(c.body)}
	}
	storedAt := h.cfg.Now()
	if !req.Immutable {
		storedAt = c.storedAt
	}
	if req.Kind == protocol.KindMod && c.body != nil {
		h.prefetch.requirements(req, c.body, job)
	}
	ans, _ := h.store(req, cache.Meta{
		Status:    http.StatusOK,
		Immutable: req.Immutable,
		StoredAt:  storedAt,
		Upstream:  sharedSourceName,
		Verified:  c.verified,
	}, c.body, c.blob)
	if ans.status == http.StatusOK {
		ans.source = source
	}
	return ans
}

// upload queues a copy of an answer fetched from a mirror and stored
// locally for the shared store. verified says it was verified against the
// checksum database.
func (h *Handler) upload(req *protocol.Request, verified bool) {
	path, ok := h.sharedPath(req)
	if !ok {
		return
	}
	h.cfg.Shared.Enqueue(sharedtier.Upload{
		Path:      path,
		Key:       req.Path,
		Verified:  h.verifiedLabel(verified),
		Immutable: req.Immutable,
		Unique:    verified,
	})
}

// verifiedLabel says, in the shared store's metadata, what an answer was
// checked against.
func (h *Handler) verifiedLabel(verified bool) string {
	if verified && h.sums != nil {
		return "sumdb:" + h.sums.Name()
	}
	return "body-checks"
}

// sharedSumSource reads the verifier's checksum database lookups and tiles
// from the shared store: the first source the verifier tries. What it
// reads is verified like a mirror's answer (signed tree heads, proofs). A
// path it does not hold is a failed read, never "not found": the store
// not having a lookup says nothing of the database.
type sharedSumSource struct {
	h *Handler

	mu sync.Mutex
	// recent holds the paths read lately, to delete should the verifier
	// find that what was read fails verification (it says only which
	// source failed, not which read).
	recent []recentRead
}

// recentRead is one path read from the store, and when.
type recentRead struct {
	path string
	at   time.Time
}

// maxRecentReads bounds sharedSumSource.recent.
const maxRecentReads = 64

// Name identifies the source.
func (s *sharedSumSource) Name() string { return sharedSourceName }

// ReadRemote reads a lookup or a tile of the database from the store.
func (s *sharedSumSource) ReadRemote(ctx context.Context, path string) ([]byte, error) {
	if !strings.HasPrefix(path, "/lookup/") && !strings.HasPrefix(path, "/tile/") {
		return nil, fmt.Errorf("the shared store serves only lookups and tiles, not %s", path)
	}
	key := s.h.sums.CacheKey(path)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	obj, err := s.h.getShared(ctx, cancel, s.h.cfg.Router, key)
	if err != nil {
		return nil, fmt.Errorf("%s%s: %w", sharedSourceName, key, err)
	}
	defer obj.Body.Close()
	data, err := io.ReadAll(io.LimitReader(obj.Body, protocol.MaxSumDBBytes+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("%s%s: %w", sharedSourceName, key, err)
	case len(data) > protocol.MaxSumDBBytes:
		s.h.condemnShared(key, fmt.Errorf("over the %d-byte limit", protocol.MaxSumDBBytes))
		return nil, fmt.Errorf("%s%s: over the %d-byte limit", sharedSourceName, key, protocol.MaxSumDBBytes)
	case sha256.Sum256(data) != obj.SHA256:
		s.h.condemnShared(key, errSharedHash)
		return nil, fmt.Errorf("%s%s: %w", sharedSourceName, key, errSharedHash)
	}
	s.mu.Lock()
	s.recent = append(s.recent, recentRead{key, time.Now()})
	if len(s.recent) > maxRecentReads {
		s.recent = s.recent[len(s.recent)-maxRecentReads:]
	}
	s.mu.Unlock()
	return data, nil
}

// condemnRecent deletes what the source read in the last minute: the
// verifier found that something it read fails verification.
func (s *sharedSumSource) condemnRecent(why error) {
	s.mu.Lock()
	recent := s.recent
	s.recent = nil
	s.mu.Unlock()
	for _, r := range recent {
		if time.Since(r.at) < time.Minute {
			s.h.condemnShared(r.path, why)
		}
	}
}

// uploadNotFound queues for the shared store a "not found" answer just
// remembered: the stand-in for the mirrors' answer when none answers.
func (h *Handler) uploadNotFound(req *protocol.Request) {
	path, ok := h.sharedPath(req)
	if !ok {
		return
	}
	h.cfg.Shared.Enqueue(sharedtier.Upload{Path: path, Key: req.Path, Verified: h.verifiedLabel(false)})
}

// uploadSumDB queues for the shared store a lookup or tile the verifier
// verified and stored, unless it read it from the store. A tile's bytes are
// the only right ones; a lookup record's are not (it carries the tree head
// of when it was read).
func (h *Handler) uploadSumDB(key, source string) {
	if h.cfg.Shared == nil || source == sharedSourceName {
		return
	}
	tile := strings.Contains(key, "/tile/")
	h.cfg.Shared.Enqueue(sharedtier.Upload{
		Path:      key,
		Key:       key,
		Verified:  h.verifiedLabel(true),
		Immutable: true,
		Unique:    tile,
	})
}

// redirectToShared answers a cache hit of a large zip with a redirect to a
// presigned URL of the shared store's object, when that is configured and
// the object is known to hold the verified bytes. It reports whether it
// answered.
func (h *Handler) redirectToShared(w http.ResponseWriter, r *http.Request, req *protocol.Request, e cache.Entry) bool {
	if h.cfg.SharedRedirectSize <= 0 || req.Kind != protocol.KindZip || e.Size < h.cfg.SharedRedirectSize || !e.Verified {
		return false
	}
	path, ok := h.sharedPath(req)
	if !ok {
		return false
	}
	u, ok := h.cfg.Shared.Presign(r.Context(), path, h.cfg.SharedRedirectExpiry)
	if !ok {
		return false
	}
	noteResult(w, cacheHit)
	w.Header().Set(CacheHeader, cacheShared)
	http.Redirect(w, r, u.String(), http.StatusFound)
	return true
}
