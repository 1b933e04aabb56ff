package proxy

import (
	"crypto/sha256"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gofailover/gofailover/cache"
	"github.com/gofailover/gofailover/health"
	"github.com/gofailover/gofailover/proxy/protocol"
)

// answer is what the shared fetch of one request produced.
type answer struct {
	// status is 200 when an upstream served the answer, 404 when upstreams
	// only said it does not exist, 502 when none gave any answer, and 500
	// when the answer could not be stored.
	status int
	// reason explains a status other than 200 in one line.
	reason string
	// retryAfter, when set, is sent as Retry-After with an error status.
	retryAfter time.Duration
	// entry is the stored record of a 200 answer.
	entry cache.Entry
	// inline is the body of a 200 answer held in memory; nil when the body
	// is read back from the store.
	inline []byte
	// committed: the body is the blob file entry's commit put in place,
	// opened by its digest (Store.OpenEntry) rather than by its key.
	committed bool
	// source is the CacheHeader value of a 200 answer: cacheMiss when
	// empty, cacheShared for a copy from the shared store, cacheStale for
	// one past its TTL that no mirror could refresh.
	source string
	// background marks the answer of a prefetch: a user's request that
	// joined it fetches again if it failed (see Handler.serve).
	background bool
}

// fetch asks the upstreams, best first, until one serves the answer, and
// stores what it got. It runs once per key at a time (see Handler.serve).
// A failed attempt moves on to the next candidate at once, and a slow one
// is hedged (see fetchHedged).
//
// With a shared store, an immutable answer is asked of the store first: a
// copy that passes every check a mirror's answer passes is served. The
// store's copies of answers that can change, and of "not found" answers,
// stand in for the mirrors' only when none of them answers: served stale.
func (h *Handler) fetch(req *protocol.Request, job *prefetchJob) *answer {
	h.prefetchLookup(req)
	var stored *sharedCopy
	if req.Immutable {
		stored = h.readShared(req)
		if stored != nil && stored.status == http.StatusOK {
			return h.commitShared(req, stored, cacheShared, job)
		}
	}
	var ans *answer
	if candidates := h.router(req).Candidates(); len(candidates) > 0 {
		ans = h.fetchHedged(req, candidates, job)
	} else {
		ans = &answer{status: http.StatusBadGateway, reason: "no upstream is configured for this request"}
	}
	if ans.status == http.StatusBadGateway {
		if stored == nil && !req.Immutable {
			stored = h.readShared(req)
		}
		if stored != nil {
			h.log.Info("serving the shared store's copy: no upstream answered",
				"key", req.Path, "stored", stored.storedAt, "status", stored.status, "reason", ans.reason)
			return h.commitShared(req, stored, cacheStale, job)
		}
	}
	stored.discard()
	return ans
}

// attemptTally collects what the upstreams that did not serve an answer
// said.
type attemptTally struct {
	notFound []string // upstreams that said the answer does not exist
	failed   []string // upstreams that gave no usable answer
	// denials are the definitive answers, to be judged against another
	// upstream's 200 (see reportDenials).
	denials []denial
}

// denial is a definitive answer an upstream gave.
type denial struct {
	u      *health.Upstream
	status int
}

// add records an attempt that did not serve the answer. It returns the
// answer to the whole request when the attempt ended it (a verification
// failure no other upstream can cure, a cache that cannot hold the body).
func (t *attemptTally) add(u *health.Upstream, got attemptResult) *answer {
	switch {
	case got.stop != nil:
		return got.stop
	case got.err != nil:
		t.failed = append(t.failed, fmt.Sprintf("%s: %v", u.Name, got.err))
		if got.blob != nil {
			got.blob.Discard()
		}
	case got.resp.Definitive():
		t.notFound = append(t.notFound, fmt.Sprintf("%s: %d %s", u.Name, got.resp.Status, got.resp.Reason))
		t.denials = append(t.denials, denial{u, got.resp.Status})
	}
	return nil
}

// reportDenials tells the router of the upstreams that said "not found"
// (403, 404, 410) for what winner then served: they are misconfigured or
// stale, and are ranked behind those that serve it until they serve it
// too. A 400 is a refusal of the request, not a denial of the module.
func (h *Handler) reportDenials(req *protocol.Request, t attemptTally, winner *health.Upstream) {
	for _, d := range t.denials {
		if d.status == http.StatusBadRequest {
			continue
		}
		h.log.Warn("an upstream said not found for what another serves: ranking it behind",
			"upstream", d.u.Name, "status", d.status, "key", req.Path, "served_by", winner.Name)
		h.router(req).ReportDenial(d.u, req.Path, d.status, winner.Name)
	}
}

// conclude answers a request no upstream served: 404 when one said the
// answer does not exist, else 502 naming what each did.
func (h *Handler) conclude(req *protocol.Request, t attemptTally) *answer {
	if len(t.notFound) > 0 {
		reason := "not found: " + strings.Join(t.notFound, "; ")
		h.remember(req, http.StatusNotFound, reason)
		return &answer{status: http.StatusNotFound, reason: reason}
	}
	reason := "no upstream served a usable answer: " + strings.Join(t.failed, "; ")
	h.log.Warn("fetch failed on every upstream", "key", req.Path, "reason", reason)
	return &answer{status: http.StatusBadGateway, reason: reason}
}

// commit stores a successful attempt's body, queues it for the shared
// store and, for a go.mod file, prefetches its requirements' (job is the
// prefetch that fetched it, nil for a user's request), and returns the
// answer to serve.
func (h *Handler) commit(req *protocol.Request, u *health.Upstream, got attemptResult, job *prefetchJob) *answer {
	if req.Kind == protocol.KindMod && got.resp.Body != nil {
		h.prefetch.requirements(req, got.resp.Body, job)
	}
	ans, stored := h.store(req, cache.Meta{
		Status:    http.StatusOK,
		Immutable: req.Immutable,
		StoredAt:  h.cfg.Now(),
		Upstream:  u.Name,
		Verified:  got.verified,
	}, got.resp.Body, got.blob)
	if stored {
		h.upload(req, got.verified)
	}
	return ans
}

// store keeps a checked answer, in memory (body) or in a file (blob,
// which it discards), in the cache and returns the answer to serve. It
// reports whether the answer is stored: a small one the cache cannot hold
// is served all the same, but a file must be stored to be served.
func (h *Handler) store(req *protocol.Request, meta cache.Meta, body []byte, blob *cache.Blob) (*answer, bool) {
	if blob != nil {
		defer blob.Discard()
		e, err := h.cfg.Store.CommitBlob(req.Path, meta, blob)
		if err != nil {
			return h.storageFailed(req, err), false
		}
		return &answer{status: http.StatusOK, entry: e, committed: true}, true
	}
	stored := true
	if err := h.cfg.Store.PutBytes(req.Path, meta, body); err != nil {
		// The bytes are checked and in memory: serve them anyway.
		h.storeWriteFailed(slog.LevelError, "storing a fetched answer failed; serving it uncached", req.Path, err)
		stored = false
	}
	e := cache.Entry{Meta: meta, Key: req.Path, Size: int64(len(body)), SHA256: sha256.Sum256(body)}
	return &answer{status: http.StatusOK, entry: e, inline: body}, stored
}

// remember stores a "not found" answer for the mutable TTL, so that the go
// command's many probes of module path prefixes do not all reach upstreams.
func (h *Handler) remember(req *protocol.Request, status int, reason string) {
	meta := cache.Meta{Status: status, StoredAt: h.cfg.Now()}
	if err := h.cfg.Store.PutBytes(req.Path, meta, []byte(reason)); err != nil {
		h.storeWriteFailed(slog.LevelWarn, "remembering a not-found answer failed", req.Path, err)
		return
	}
	h.uploadNotFound(req)
}
