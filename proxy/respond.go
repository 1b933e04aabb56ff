package proxy

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gofailover/gofailover/cache"

	"github.com/gofailover/gofailover/proxy/protocol"
)

// CacheHeader is the response header that says where an answer came from:
// "hit", "miss" (fetched for this request), "shared" (read from the shared
// store for this request) or "stale" (from the cache or the shared store
// after every upstream failed to refresh it).
const CacheHeader = "X-Gofailover-Cache"

// The values of CacheHeader.
const (
	cacheHit   = "hit"
	cacheMiss  = "miss"
	cacheStale = "stale"
	// cacheShared: not in the local cache, read from the shared store
	// (and checked like a mirror's answer).
	cacheShared = "shared"
)

// maxReasonBytes bounds a remembered "not found" reason read back for a response.
const maxReasonBytes = 1 << 10

// immutableCacheControl marks answers that never change.
const immutableCacheControl = "public, max-age=31536000, immutable"

// serveObject writes a cached or just-fetched answer, with conditional
// requests and ranges handled by http.ServeContent; a plain request for
// the whole answer is written directly (writeWhole), with the same
// headers. Header names are assigned in their canonical form.
func (h *Handler) serveObject(w http.ResponseWriter, r *http.Request, req *protocol.Request, e cache.Entry, body io.ReadSeeker, source string) {
	noteResult(w, source)
	hdr := w.Header()
	if source == cacheHit {
		hdr[CacheHeader] = hitValues
	} else {
		hdr.Set(CacheHeader, source)
	}
	if e.Status != http.StatusOK {
		reason, _ := io.ReadAll(io.LimitReader(body, maxReasonBytes))
		writeError(w, e.Status, strings.TrimSpace(string(reason)))
		return
	}
	hdr["Content-Type"] = headerValues(contentType(req))
	eh := h.hot.entryHeaders(e)
	hdr["Etag"] = eh.etag
	switch {
	case source == cacheStale:
		hdr.Set("Cache-Control", "no-cache")
		hdr.Set("Age", strconv.FormatInt(int64(h.cfg.Now().Sub(e.StoredAt)/time.Second), 10))
	case e.Immutable:
		hdr["Cache-Control"] = immutableValues
	default:
		left := h.cfg.MutableTTL - h.cfg.Now().Sub(e.StoredAt)
		hdr.Set("Cache-Control", "public, max-age="+strconv.FormatInt(int64(max(left, 0)/time.Second), 10))
	}
	if plainRequest(r) {
		h.hot.writeWhole(w, r, e, eh, body)
		return
	}
	http.ServeContent(w, r, "", e.StoredAt, body)
}

// contentType is the media type of a request's answer.
func contentType(req *protocol.Request) string {
	switch req.Kind {
	case protocol.KindInfo, protocol.KindLatest:
		return "application/json"
	case protocol.KindZip:
		return "application/zip"
	case protocol.KindSumDB:
		if strings.Contains(req.Path, "/tile/") {
			return "application/octet-stream"
		}
	}
	return "text/plain; charset=utf-8"
}

// writeError answers with a status and a one-line plain-text reason.
func writeError(w http.ResponseWriter, status int, reason string) {
	hdr := w.Header()
	hdr.Del("ETag")
	hdr.Set("Content-Type", "text/plain; charset=utf-8")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Cache-Control", "no-store")
	if i := strings.IndexAny(reason, "\r\n"); i >= 0 {
		reason = reason[:i]
	}
	w.WriteHeader(status)
	io.WriteString(w, reason+"\n")
}
