package proxy

import (
	"crypto/sha256"
	"fmt"
	"net/http"
	"strings"

	"github.com/gofailover/gofailover/cache"
	"github.com/gofailover/gofailover/health"
)

// answer is what the shared fetch of one request produced.
type answer struct {
	// status is 200 when an upstream served the answer, 404 when upstreams
	// only said it does not exist, 502 when none gave any answer, and 500
	// when the answer could not be stored.
	status int
	// reason explains a status other than 200 in one line.
	reason string
	// entry is the stored record of a 200 answer.
	entry cache.Entry
	// inline is the body of a 200 answer held in memory; nil when the body
	// is a blob to be read back from the store.
	inline []byte
}

// fetch asks the upstreams, best first, until one serves the answer, and
// stores what it got. It runs once per key at a time (see Handler.serve).
// A failed attempt moves on to the next candidate at once, and a slow one
// is hedged (see fetchHedged).
func (h *Handler) fetch(req *Request) *answer {
	h.prefetchLookup(req)
	candidates := h.router(req).Candidates()
	if len(candidates) == 0 {
		return &answer{status: http.StatusBadGateway, reason: "no upstream is configured for this request"}
	}
	return h.fetchHedged(req, candidates)
}

// attemptTally collects what the upstreams that did not serve an answer
// said.
type attemptTally struct {
	notFound []string // upstreams that said the answer does not exist
	failed   []string // upstreams that gave no usable answer
}

// add records an attempt that did not serve the answer. It returns the
// answer to the whole request when the attempt ended it (a verification
// failure no other upstream can cure).
func (t *attemptTally) add(u *health.Upstream, got attemptResult) *answer {
	switch {
	case got.stop != nil:
		return got.stop
	case got.err != nil:
		t.failed = append(t.failed, fmt.Sprintf("%s: %v", u.Name, got.err))
		if got.blob != nil {
			got.blob.Discard()
		}
	case got.status != http.StatusOK:
		t.notFound = append(t.notFound, fmt.Sprintf("%s: %d %s", u.Name, got.status, got.reason))
	}
	return nil
}

// conclude answers a request no upstream served: 404 when one said the
// answer does not exist, else 502 naming what each did.
func (h *Handler) conclude(req *Request, t attemptTally) *answer {
	if len(t.notFound) > 0 {
		reason := "not found: " + strings.Join(t.notFound, "; ")
		h.remember(req, http.StatusNotFound, reason)
		return &answer{status: http.StatusNotFound, reason: reason}
	}
	reason := "no upstream served a usable answer: " + strings.Join(t.failed, "; ")
	h.log.Warn("fetch failed on every upstream", "key", req.Path, "reason", reason)
	return &answer{status: http.StatusBadGateway, reason: reason}
}

// commit stores a successful attempt's body and returns the answer to serve.
func (h *Handler) commit(req *Request, u *health.Upstream, got attemptResult) *answer {
	meta := cache.Meta{
		Status:    http.StatusOK,
		Immutable: req.Immutable,
		StoredAt:  h.cfg.Now(),
		Upstream:  u.Name,
		Verified:  got.verified,
	}
	if got.blob != nil {
		defer got.blob.Discard()
		if err := h.cfg.Store.CommitBlob(req.Path, meta, got.blob); err != nil {
			return h.storageFailed(req, err).stop
		}
		e, err := h.cfg.Store.Lookup(req.Path)
		if err != nil {
			return &answer{status: http.StatusInternalServerError, reason: "reading back the stored answer failed: " + err.Error()}
		}
		return &answer{status: http.StatusOK, entry: e}
	}
	if err := h.cfg.Store.PutBytes(req.Path, meta, got.body); err != nil {
		// The bytes are verified and in memory: serve them anyway.
		h.log.Error("storing a fetched answer failed; serving it uncached", "key", req.Path, "err", err)
	}
	e := cache.Entry{Meta: meta, Key: req.Path, Size: int64(len(got.body)), SHA256: sha256.Sum256(got.body)}
	return &answer{status: http.StatusOK, entry: e, inline: got.body}
}

// remember stores a "not found" answer for the mutable TTL, so that the go
// command's many probes of module path prefixes do not all reach upstreams.
func (h *Handler) remember(req *Request, status int, reason string) {
	meta := cache.Meta{Status: status, StoredAt: h.cfg.Now()}
	if err := h.cfg.Store.PutBytes(req.Path, meta, []byte(reason)); err != nil {
		h.log.Warn("remembering a not-found answer failed", "key", req.Path, "err", err)
	}
}
