package proxy

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/gofailover/gofailover/cache"
	"github.com/gofailover/gofailover/health"
	"github.com/gofailover/gofailover/proxy/protocol"
	"github.com/gofailover/gofailover/proxy/upstream"
)

// attemptResult is what one request to one upstream gave.
type attemptResult struct {
	// resp is the upstream client's answer and judgment.
	resp *upstream.Response
	// blob holds a usable 200 zip answer; the caller commits or discards
	// it.
	blob *cache.Blob
	// err is set when the upstream gave no usable answer.
	err error
	// verified reports that the body passed checksum verification.
	verified bool
	// stop, when set, is the answer to the whole request: verification
	// failed in a way no other upstream can cure, or the cache could not
	// hold the body.
	stop *answer
}

// ok reports whether the attempt gave a usable 200 answer.
func (a attemptResult) ok() bool { return a.err == nil && a.resp.OK() }

// storageFailed is the answer when the cache cannot hold a body: every
// upstream would fail the same way, and a zip cannot be verified, so
// served, without its file.
func (h *Handler) storageFailed(req *protocol.Request, err error) *answer {
	h.storeWriteFailed(slog.LevelError, "the cache cannot hold a download; answering 503", req.Path, err)
	if errors.Is(err, cache.ErrNoSpace) {
		// The store's own words say what is full and by how much.
		var se *cache.SpaceError
		reason := err.Error()
		if errors.As(err, &se) {
			reason = se.Error()
		}
		return &answer{status: http.StatusServiceUnavailable, retryAfter: time.Minute,
			reason: "this download cannot be verified without storing it, and " + reason}
	}
	return &answer{
		status: http.StatusServiceUnavailable,
		reason: "the cache cannot store this download: " + err.Error(),
	}
}

// attempt asks one upstream for req through the upstream client, verifies
// a .mod or .zip it serves, and reports the outcome to the router. last
// says that no other candidate is left: the attempt then waits its turn for
// a request slot (up to the first-byte timeout) instead of moving on, and
// the slow-body floor would gain nothing. When the response header arrives it sends on headers, if not
// nil (which must have room: it is never waited on).
func (h *Handler) attempt(ctx context.Context, u *health.Upstream, req *protocol.Request, last, hedged, background bool, headers chan<- struct{}) attemptResult {
	var blob *cache.Blob
	opt := upstream.Options{
		Last:       last && !background,
		Background: background,
		Spool: func() (upstream.File, error) {
			b, err := h.cfg.Store.NewBlob()
			if err != nil {
				return nil, err
			}
			blob = b
			return b, nil
		},
	}
	if headers != nil {
		opt.OnHeader = func() { headers <- struct{}{} }
	}
	resp := h.client.Get(ctx, u, req, opt)
	res := attemptResult{resp: resp, err: resp.Err}
	if resp.File != nil {
		res.blob = blob
		if resp.OK() {
			// Its fsync overlaps its verification: the commit then
			// waits for what is left of it.
			blob.StartSync()
		}
	}
	var spool *upstream.SpoolError
	if errors.As(resp.Err, &spool) {
		res.stop = h.storageFailed(req, spool)
	}
	if res.ok() && h.verifies(req) {
		h.verify(ctx, req, &res)
	}
	h.report(h.router(req), u, resp)

	if resp.Outcome.Failure == health.FailBadContent {
		// Logged once per bad copy, with the module, version, upstream
		// and both hashes (in the error).
		h.log.Error("upstream served content that fails checksum verification; trying the next",
			"upstream", u.Name, "key", req.Path, "err", res.err)
	}
	h.logAttempt(u, req.Kind.String(), req.Path, resp, res.err, hedged)
	return res
}

// logAttempt logs, at debug, one line per upstream request made for an
// answer or a checksum-database read: upstream, request kind and path,
// status, times, outcome, and whether it was a hedge. (Probes log theirs
// in health.Prober.)
func (h *Handler) logAttempt(u *health.Upstream, kind, path string, resp *upstream.Response, err error, hedged bool) {
	if !h.log.Enabled(h.base, slog.LevelDebug) {
		return
	}
	attrs := []slog.Attr{
		slog.String("upstream", u.Name), slog.String("kind", kind), slog.String("key", path),
		slog.Int("status", resp.Status), slog.Duration("first_byte", resp.Outcome.FirstByte),
		slog.Duration("total", resp.Outcome.Total), slog.String("outcome", attemptOutcome(resp, err)),
		slog.Bool("hedge", hedged),
	}
	if err != nil {
		attrs = append(attrs, slog.String("err", err.Error()))
	}
	h.log.LogAttrs(h.base, slog.LevelDebug, "upstream attempt", attrs...)
}

// attemptOutcome names what an attempt came to: an answer, not found, a
// failure kind, or cancelled or not made (which say nothing of the
// upstream).
func attemptOutcome(resp *upstream.Response, err error) string {
	switch {
	case resp.Local:
		return "not made"
	case resp.Cancelled:
		return "cancelled"
	case resp.Outcome.Failure != health.FailNone:
		return string(resp.Outcome.Failure)
	case err != nil:
		return "unverifiable"
	case resp.Definitive():
		return "not found"
	}
	return "answer"
}

// report tells router what a request to u showed. A request that never got
// a slot, that failed here, or that shutdown cut short says nothing about
// u. One cancelled before its response header (a lost hedge, an impatient
// checksum-database read) shows that u takes at least that long: reported
// as such, so that a slow mirror loses its place by score, not only by the
// hedges it loses.
func (h *Handler) report(router Router, u *health.Upstream, resp *upstream.Response) {
	switch {
	case resp.Local:
	case resp.Cancelled:
		if h.base.Err() == nil && resp.Status == 0 {
			router.Report(u, health.AbandonedAfter(resp.Outcome.Total))
		}
	default:
		router.Report(u, resp.Outcome)
	}
}

// verify checks a fetched .mod or .zip against the checksum database.
// Content that fails is this upstream's fault (bad content, try the next);
// a database that cannot answer ends the request.
func (h *Handler) verify(ctx context.Context, req *protocol.Request, res *attemptResult) {
	path := ""
	if res.blob != nil {
		path = res.blob.Path()
	}
	err := h.verifyBody(ctx, req, res.resp.Body, path)
	if err == nil {
		res.verified = true
		return
	}
	res.err = err
	if stop := verificationAnswer(err); stop != nil {
		res.stop = stop
	} else {
		res.resp.Outcome.Failure = health.FailBadContent
		res.resp.Outcome.Err = err
	}
	if res.blob != nil {
		res.blob.Discard()
		res.blob = nil
	}
}
