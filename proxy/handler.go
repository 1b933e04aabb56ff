// Package proxy is gofailover's HTTP face: it parses module proxy and
// checksum-database requests, answers them from the cache, and on a miss
// fetches them from the upstream mirrors in the order the health side gives,
// verifying what it fetched before anything is stored or served.
package proxy

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/gofailover/gofailover/cache"
	"github.com/gofailover/gofailover/health"
	"github.com/gofailover/gofailover/proxy/checksum"

	"github.com/gofailover/gofailover/proxy/protocol"
	"github.com/gofailover/gofailover/proxy/sharedtier"
	"github.com/gofailover/gofailover/proxy/upstream"
)

// Store is the cache the handler serves from and fills.
type Store interface {
	Open(key string) (*cache.Object, error)
	Lookup(key string) (cache.Entry, error)
	PutBytes(key string, m cache.Meta, data []byte) error
	NewBlob() (*cache.Blob, error)
	CommitBlob(key string, m cache.Meta, b *cache.Blob) (cache.Entry, error)
	OpenEntry(e cache.Entry) (*cache.Object, error)
	MarkVerified(key string, sum [32]byte) error
	Delete(key string) error
	ReadValue(name string) ([]byte, error)
	SwapValue(name string, old, new []byte) error
}

// Router orders the upstreams for each request and learns from what they did.
// The health package implements it.
type Router interface {
	// Candidates returns the upstreams to try, best first. A call may
	// reserve a trial request of a recovering upstream: call it only to
	// make requests.
	Candidates() []*health.Upstream
	// Upstreams returns every upstream, in the user's order.
	Upstreams() []*health.Upstream
	// Report records the outcome of one request to an upstream.
	Report(u *health.Upstream, o health.Outcome)
	// ReportDenial records that u answered status (403, 404 or 410) for
	// the protocol path that the upstream named servedBy served.
	ReportDenial(u *health.Upstream, path string, status int, servedBy string)
}

// Config holds what a Handler needs.
type Config struct {
	// Store is the cache. Required.
	Store Store
	// Router gives the order of the public upstreams. Required.
	Router Router
	// Private holds glob patterns in the go command's GOPRIVATE syntax:
	// matching modules are never looked up in the checksum database and
	// never requested from Router's upstreams.
	Private string
	// PrivateRouter gives the upstreams for private modules. Nil means
	// private modules are answered 404.
	PrivateRouter Router
	// SumDB is the checksum database every public .mod and .zip is
	// verified against before it is stored or served. Nil turns
	// verification off.
	SumDB *checksum.Database
	// SumDBName, when SumDB is nil, names the checksum database whose
	// /sumdb/<name>/ paths are passed through unverified (the go command's
	// own, which it still checks with). /sumdb/ paths of any other
	// database are answered 404. Ignored when SumDB is set.
	SumDBName string
	// Client makes every upstream request: fetches and checksum-database
	// reads. Nil means upstream.New(upstream.Config{}).
	Client *upstream.Client
	// MutableTTL is how long list, @latest, version-query and /latest answers
	// stay fresh. Zero means DefaultMutableTTL.
	MutableTTL time.Duration
	// HedgeFloor and HedgeCeiling bound the hedge delay: how long an upstream may go without a response header
	// before the request also goes to the next candidate. Within them the
	// delay is the upstream's recent p95 time to first byte (when the
	// Router knows it). Zero means DefaultHedgeFloor, DefaultHedgeCeiling.
	HedgeFloor, HedgeCeiling time.Duration
	// HedgeBurst is how many hedges, over about a minute, need no other
	// upstream requests to pay for them (see HedgeBudget), so that the
	// first requests after a start or a quiet spell can hedge. Zero means
	// DefaultHedgeBurst; negative means none.
	HedgeBurst int
	// HedgeBudget caps hedged requests at this share of the other upstream
	// requests over about a minute. Zero means DefaultHedgeBudget; a
	// negative value turns hedging off.
	HedgeBudget float64
	// Shared is the object store a fleet of replicas shares, a second tier
	// under the local cache: asked on a local miss before any mirror, and
	// given every answer fetched from a mirror. What it holds is checked
	// and verified like a mirror's answer. Nil means none.
	Shared *sharedtier.Tier
	// SharedPrivate puts private modules' answers in the shared store too,
	// under their own prefix. Off by default: they may be secret.
	SharedPrivate bool
	// SharedRedirectSize, when positive, answers cache hits of zips at
	// least this large with a redirect to a presigned URL of the shared
	// store's object, once that object is known to hold the verified
	// bytes, so that they flow from the store rather than through this
	// replica. Zero turns redirects off.
	SharedRedirectSize int64
	// SharedRedirectExpiry is how long a redirect's presigned URL is
	// valid. Zero means DefaultSharedRedirectExpiry.
	SharedRedirectExpiry time.Duration
	// Prefetch says what is fetched ahead of the go command; the zero
	// value prefetches nothing.
	Prefetch Prefetch
	// NoRequestCounts turns off the per-request counts of Stats (the
	// other counters stay), to measure what counting costs a cache hit.
	NoRequestCounts bool
	// Logger receives the handler's logs. Nil means slog.Default().
	Logger *slog.Logger
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
}

// Defaults for Config.
const (
	DefaultMutableTTL           = time.Minute
	DefaultSharedRedirectExpiry = 15 * time.Minute
)

// Handler serves the module proxy protocol and the checksum-database
// pass-through. Create it with New.
type Handler struct {
	cfg    Config
	log    *slog.Logger
	base   context.Context
	flight singleflight.Group
	// sums verifies module files; nil when verification is off.
	sums *checksum.Verifier
	// client makes every upstream request.
	client *upstream.Client
	// hedges keeps hedged requests within budget; nil when hedging is off.
	hedges *hedgeBudget
	// stats counts upstream attempts and hedges.
	stats handlerStats
	// noSpace paces the log lines of writes the full cache refused.
	noSpace everyMinute
	// hot is what hits are answered with less work with.
	hot hitPath
	// privacies remembers what the private patterns make of module paths.
	privacies privacyMemo
	// prefetch fetches answers ahead of the go command; nil when off.
	prefetch *prefetcher
	// sharedSum reads checksum-database lookups and tiles from the shared
	// store; nil without one.
	sharedSum *sharedSumSource
	// fetches counts the shared fetches in flight, so that shutdown can
	// wait for them before the store closes.
	fetches sync.WaitGroup
}

// New returns a Handler. Upstream fetches run in contexts derived from ctx,
// not from the request that started them, because concurrent requests for
// the same answer share one fetch; cancelling ctx aborts them.
func New(ctx context.Context, cfg Config) *Handler {
	if cfg.Client == nil {
		cfg.Client = upstream.New(upstream.Config{})
	}
	if cfg.MutableTTL <= 0 {
		cfg.MutableTTL = DefaultMutableTTL
	}
	if cfg.HedgeFloor <= 0 {
		cfg.HedgeFloor = DefaultHedgeFloor
	}
	if cfg.HedgeCeiling <= 0 {
		cfg.HedgeCeiling = DefaultHedgeCeiling
	}
	if cfg.HedgeBudget == 0 {
		cfg.HedgeBudget = DefaultHedgeBudget
	}
	switch {
	case cfg.HedgeBurst == 0:
		cfg.HedgeBurst = DefaultHedgeBurst
	case cfg.HedgeBurst < 0:
		cfg.HedgeBurst = 0
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.SharedRedirectExpiry <= 0 {
		cfg.SharedRedirectExpiry = DefaultSharedRedirectExpiry
	}
	h := &Handler{cfg: cfg, log: cfg.Logger, base: ctx, client: cfg.Client}
	if cfg.Shared != nil {
		h.sharedSum = &sharedSumSource{h: h}
	}
	h.prefetch = newPrefetcher(h, cfg.Prefetch)
	if cfg.HedgeBudget > 0 {
		h.hedges = &hedgeBudget{ratio: cfg.HedgeBudget, burst: cfg.HedgeBurst, now: cfg.Now, start: cfg.Now()}
	}
	if cfg.SumDB != nil {
		h.sums = checksum.New(checksum.Config{
			DB:         *cfg.SumDB,
			Store:      checksumStore{s: cfg.Store, stored: h.uploadSumDB},
			Sources:    h.sumdbSources,
			BadContent: h.reportBadContent,
			Logger:     cfg.Logger.With("component", "checksum"),
			Context:    ctx,
		})
	}
	return h
}

// Wait blocks until every upstream fetch the handler started has finished.
// Call it after the HTTP server has stopped and before the store closes.
func (h *Handler) Wait() { h.fetches.Wait() }

// ServeHTTP answers one request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/healthz":
		h.serveHealthz(w, r)
		return
	case "/readyz":
		h.serveReadyz(w, r)
		return
	}
	kind := kindInvalid
	if !h.cfg.NoRequestCounts {
		cw := &countingWriter{ResponseWriter: w}
		w = cw
		defer func() {
			if cw.status != 0 { // 0: the client left before an answer
				h.stats.request(kind, cw.status, cw.result)
			}
		}()
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed")
		return
	}
	req, err := h.hot.parse(r.URL.Path)
	if err != nil {
		var re *protocol.RequestError
		if errors.As(err, &re) {
			writeError(w, re.Status, re.Reason)
			return
		}
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	kind = req.Kind
	h.serve(w, r, req)
}

// serve answers a parsed request from the cache, or fetches it.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, req *protocol.Request) {
	if reason, refused := h.refuse(req); refused {
		writeError(w, http.StatusNotFound, reason)
		return
	}
	if h.prefetch.asked(req.Path) {
		// A prefetched .info stands for the miss it spared: what the
		// go command asks for next is fetched ahead as after a miss.
		h.prefetch.afterInfo(req)
	}
	h.prefetch.afterZip(req)
	obj, err := h.cfg.Store.Open(req.Path)
	miss := "not cached"
	switch {
	case err == nil:
		defer obj.Close()
		if !h.trusted(r.Context(), req, obj) {
			obj = nil // never served, not even stale
			miss = "cached copy not trusted"
			break
		}
		if h.fresh(obj.Entry) {
			h.logDecision(r, req, "hit", "")
			if h.redirectToShared(w, r, req, obj.Entry) {
				return
			}
			h.serveObject(w, r, req, obj.Entry, obj.Body, cacheHit)
			return
		}
		miss = "cached copy past the mutable TTL"
	case !errors.Is(err, cache.ErrNotFound):
		h.log.Warn("cache read failed; fetching instead", "key", req.Path, "err", err)
		obj = nil
		miss = "cache read failed"
	default:
		obj = nil
	}
	h.logDecision(r, req, "miss", miss)
	h.prefetch.afterInfo(req)

	// Concurrent requests for one key share one fetch. The fetch does not
	// belong to any one request: it goes on when its first client leaves,
	// and fills the cache for the others. It is counted before this
	// handler returns, so Wait after the HTTP server's drain sees it.
	ch := make(chan *answer, 1)
	h.fetches.Add(1)
	go func() {
		defer h.fetches.Done()
		v, _, shared := h.flight.Do(req.Path, func() (any, error) { return h.load(req, nil), nil })
		if shared {
			h.stats.shared.Add(1)
		}
		ans := v.(*answer)
		if ans.background && ans.status != http.StatusOK && ans.status != http.StatusNotFound {
			// This request joined a prefetch, which gave up where a
			// user's request would not (no slot to spare, no hedge):
			// fetched again, as the user's.
			v, _, _ = h.flight.Do(req.Path, func() (any, error) { return h.load(req, nil), nil })
			ans = v.(*answer)
		}
		ch <- ans
	}()
	var ans *answer
	select {
	case ans = <-ch:
	case <-r.Context().Done():
		return // the client left; the fetch goes on and fills the cache
	}

	switch {
	case ans.status == http.StatusOK:
		h.serveAnswer(w, r, req, ans)
	case ans.status == http.StatusBadGateway && obj != nil:
		h.logDecision(r, req, "stale", "no upstream could refresh it")
		h.log.Info("serving a stale answer: no upstream could refresh it",
			"key", req.Path, "stored", obj.StoredAt, "reason", ans.reason)
		h.serveObject(w, r, req, obj.Entry, obj.Body, cacheStale)
	default:
		if ans.retryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(ans.retryAfter/time.Second)))
		}
		writeError(w, ans.status, ans.reason)
	}
}

// load produces the answer to a request the cache could not serve:
// lookups and tiles of the verifier's checksum database through the
// verifier, anything else from the upstreams. job is the prefetch that
// asks, nil for a user's request.
func (h *Handler) load(req *protocol.Request, job *prefetchJob) *answer {
	var ans *answer
	switch t, tile := h.verifiesTile(req); {
	case h.verifiesLookup(req):
		ans = h.lookup(req)
	case tile:
		ans = h.tile(req, t, job)
	default:
		ans = h.fetch(req, job)
	}
	ans.background = job != nil
	return ans
}

// fresh reports whether a cached entry may be served without asking upstream.
func (h *Handler) fresh(e cache.Entry) bool {
	if e.Immutable {
		return true
	}
	return h.cfg.Now().Sub(e.StoredAt) < h.cfg.MutableTTL
}

// serveAnswer serves what a fetch produced.
func (h *Handler) serveAnswer(w http.ResponseWriter, r *http.Request, req *protocol.Request, ans *answer) {
	source := ans.source
	if source == "" {
		source = cacheMiss
	}
	if ans.inline != nil {
		h.serveObject(w, r, req, ans.entry, bytes.NewReader(ans.inline), source)
		return
	}
	var obj *cache.Object
	var err error
	if ans.committed {
		// The file just committed, opened by its digest: its record
		// is not read again.
		obj, err = h.cfg.Store.OpenEntry(ans.entry)
	} else {
		obj, err = h.cfg.Store.Open(req.Path)
	}
	if err != nil {
		h.log.Error("fetched answer vanished from the cache", "key", req.Path, "err", err)
		writeError(w, http.StatusInternalServerError, "fetched answer could not be read back from the cache")
		return
	}
	defer obj.Close()
	h.serveObject(w, r, req, obj.Entry, obj.Body, source)
}

// logDecision logs, at debug, what the cache did for a request: hit, miss
// and why, stale.
func (h *Handler) logDecision(r *http.Request, req *protocol.Request, decision, why string) {
	if !h.log.Enabled(r.Context(), slog.LevelDebug) {
		return // the hit path pays nothing for debug logging it does not do
	}
	h.log.LogAttrs(r.Context(), slog.LevelDebug, "cache", slog.String("decision", decision),
		slog.String("kind", req.Kind.String()), slog.String("key", req.Path), slog.String("why", why))
}
