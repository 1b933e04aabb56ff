package proxy

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	modzip "golang.org/x/mod/zip"

	"github.com/gofailover/gofailover/cache"
	"github.com/gofailover/gofailover/health"
)

// Size limits for upstream bodies. Zips and go.mod files use the limits the
// go command itself enforces; other answers are small text.
const (
	maxZipBytes   = modzip.MaxZipFile
	maxModBytes   = modzip.MaxGoMod
	maxOtherBytes = modzip.MaxGoMod
)

// blobWriteSize is the size of the writes that store a zip.
const blobWriteSize = 256 << 10

// attemptResult is what one request to one upstream gave.
type attemptResult struct {
	// err is set when the upstream gave no usable answer.
	err error
	// status is the upstream's status when err is nil: 200, or a
	// "does not exist" status (400, 403, 404, 410).
	status int
	// reason is the start of a "does not exist" body.
	reason string
	// body holds a 200 answer other than a zip.
	body []byte
	// blob holds a 200 zip answer; the caller commits or discards it.
	blob *cache.Blob
	// verified reports that the body passed checksum verification.
	verified bool
	// stop, when set, is the answer to the whole request: verification
	// failed in a way no other upstream can cure, or the cache could not
	// hold the body.
	stop *answer
	// local reports that the attempt failed here, not at the upstream
	// (the cache could not hold the body): it says nothing of the
	// upstream and is not reported.
	local bool
}

// storageFailed is the attempt result when the cache cannot hold a body:
// every upstream would fail the same way, and a zip cannot be verified, so
// served, without its file.
func (h *Handler) storageFailed(req *Request, err error) attemptResult {
	h.log.Error("the cache cannot hold a download; answering 503", "key", req.Path, "err", err)
	return attemptResult{err: err, local: true, stop: &answer{
		status: http.StatusServiceUnavailable,
		reason: "the cache cannot store this download (is its disk full?): " + err.Error(),
	}}
}

// attempt sends req to one upstream, reads and checks the body, and reports
// the outcome to the router. When the response header arrives it sends on
// headers, if not nil (which must have room: it is never waited on).
func (h *Handler) attempt(ctx context.Context, u *health.Upstream, req *Request, headers chan<- struct{}) attemptResult {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := time.Now()
	var out health.Outcome
	res := h.roundTrip(ctx, cancel, u, req, &out, headers)
	out.Total = time.Since(start)
	if res.err != nil {
		out.Err = res.err
		if out.Failure == health.FailNone {
			out.Failure = classify(res.err)
		}
	}
	// An attempt that never got a request slot, or that shutdown cut
	// short, says nothing about the upstream; one the idle timeout cut
	// short does. One cancelled because another upstream answered first (a
	// lost hedge) before this one sent its header shows that this one
	// takes at least that long: reported as such, so that a slow mirror
	// loses its place by score, not only by the hedges it loses.
	busy := errors.Is(res.err, errUpstreamBusy)
	cut := ctx.Err() != nil && out.Failure != health.FailTimeout
	switch {
	case busy, res.local:
	case cut && h.base.Err() == nil && out.Status == 0:
		h.router(req).Report(u, health.AbandonedAfter(out.Total))
	case !cut:
		h.router(req).Report(u, out)
	}

	switch {
	case out.Failure == health.FailBadContent:
		// Logged once per bad copy, with the module, version, upstream
		// and both hashes (in the error).
		h.log.Error("upstream served content that fails checksum verification; trying the next",
			"upstream", u.Name, "key", req.Path, "err", res.err)
	case res.err != nil:
		h.log.Debug("upstream attempt failed", "upstream", u.Name, "key", req.Path, "failure", out.Failure, "err", res.err)
	}
	return res
}

// roundTrip does the request and reads the body, filling in out.
func (h *Handler) roundTrip(ctx context.Context, cancel context.CancelFunc, u *health.Upstream, req *Request, out *health.Outcome, headers chan<- struct{}) attemptResult {
	hreq, err := http.NewRequestWithContext(ctx, http.MethodGet, upstreamURL(u.URL, req.Path), nil)
	if err != nil {
		return attemptResult{err: fmt.Errorf("building request: %w", err)}
	}
	hreq.Header.Set("User-Agent", "gofailover")
	release, err := h.limits.acquire(ctx, u.Name)
	if err != nil {
		return attemptResult{err: err}
	}
	defer release()
	start := time.Now()
	resp, err := h.cfg.Client.Do(hreq)
	if err != nil {
		return attemptResult{err: err}
	}
	defer resp.Body.Close()
	out.Status = resp.StatusCode
	out.FirstByte = time.Since(start)
	if headers != nil {
		headers <- struct{}{}
	}
	body := newIdleReader(resp.Body, h.cfg.IdleTimeout, cancel)
	defer body.stop()

	switch code := resp.StatusCode; {
	case code == http.StatusOK:
		return h.readOK(ctx, req, body, resp.ContentLength, out)
	case code == http.StatusNotFound || code == http.StatusGone ||
		code == http.StatusBadRequest || code == http.StatusForbidden:
		// The upstream answered: it does not have this (or will not serve it).
		return attemptResult{status: code, reason: readReason(body)}
	case code == http.StatusTooManyRequests:
		out.Failure = health.FailRateLimit
		out.RetryAfter = health.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	case code >= 500:
		out.Failure = health.FailStatus5xx
		out.RetryAfter = health.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now())
	default:
		out.Failure = health.FailBadStatus
	}
	return attemptResult{err: fmt.Errorf("upstream answered %s", resp.Status)}
}

// readOK reads a 200 body: zips into a blob, everything else into memory,
// each within its size limit, and checks it.
func (h *Handler) readOK(ctx context.Context, req *Request, body io.Reader, length int64, out *health.Outcome) attemptResult {
	limit := int64(maxOtherBytes)
	switch req.Kind {
	case KindZip:
		limit = maxZipBytes
	case KindMod:
		limit = maxModBytes
	}
	if length > limit {
		out.Failure = health.FailTooLarge
		return attemptResult{err: fmt.Errorf("body of %d bytes exceeds the %d-byte limit", length, limit)}
	}
	if req.Kind == KindZip {
		return h.readZip(ctx, req, body, limit, out)
	}
	data, err := io.ReadAll(io.LimitReader(body, limit+1))
	if err != nil {
		return attemptResult{err: fmt.Errorf("reading body: %w", err)}
	}
	if int64(len(data)) > limit {
		out.Failure = health.FailTooLarge
		return attemptResult{err: fmt.Errorf("body exceeds the %d-byte limit", limit)}
	}
	if err := checkBody(req, data); err != nil {
		out.Failure = health.FailBadBody
		return attemptResult{err: err}
	}
	res := attemptResult{status: http.StatusOK, body: data}
	if h.verifies(req) {
		return h.verified(ctx, req, res, out)
	}
	return res
}

// readZip streams a zip body into a blob and verifies it there.
func (h *Handler) readZip(ctx context.Context, req *Request, body io.Reader, limit int64, out *health.Outcome) attemptResult {
	blob, err := h.cfg.Store.NewBlob()
	if err != nil {
		return h.storageFailed(req, fmt.Errorf("creating a temporary file: %w", err))
	}
	// Write the blob in large pieces: the page cache keeps a file in folios
	// as large as the writes that made it, and sendfile of a file written
	// in 32 KiB pieces (io.Copy's) costs measurably more on every hit.
	store := &writeErrors{w: blob}
	bw := bufio.NewWriterSize(store, blobWriteSize)
	n, err := io.Copy(bw, io.LimitReader(body, limit+1))
	if err == nil {
		err = bw.Flush() // before anything reads blob.Path()
	}
	switch {
	case store.err != nil:
		blob.Discard()
		return h.storageFailed(req, store.err)
	case err != nil:
		blob.Discard()
		return attemptResult{err: fmt.Errorf("reading body after %d bytes: %w", n, err)}
	case n > limit:
		blob.Discard()
		out.Failure = health.FailTooLarge
		return attemptResult{err: fmt.Errorf("body exceeds the %d-byte limit", limit)}
	}
	res := attemptResult{status: http.StatusOK, blob: blob}
	if h.verifies(req) {
		res = h.verified(ctx, req, res, out)
		if !res.verified {
			blob.Discard()
			res.blob = nil
		}
	}
	return res
}

// writeErrors passes writes to w and keeps the first error, so that a
// failure to store a body is told apart from a failure to read it.
type writeErrors struct {
	w   io.Writer
	err error
}

func (e *writeErrors) Write(p []byte) (int, error) {
	n, err := e.w.Write(p)
	if err != nil && e.err == nil {
		e.err = err
	}
	return n, err
}

// verified checks a fetched .mod or .zip against the checksum database.
// Content that fails is this upstream's fault (bad content, try the next);
// a database that cannot answer ends the request.
func (h *Handler) verified(ctx context.Context, req *Request, res attemptResult, out *health.Outcome) attemptResult {
	path := ""
	if res.blob != nil {
		path = res.blob.Path()
	}
	err := h.verifyBody(ctx, req, res.body, path)
	if err == nil {
		res.verified = true
		return res
	}
	if stop := verificationAnswer(err); stop != nil {
		return attemptResult{err: err, stop: stop}
	}
	out.Failure = health.FailBadContent
	return attemptResult{err: err}
}

// checkBody rejects bodies that cannot be what the request asked for.
func checkBody(req *Request, data []byte) error {
	switch req.Kind {
	case KindInfo, KindLatest:
		var info struct{ Version string }
		if err := json.Unmarshal(data, &info); err != nil || info.Version == "" {
			return errors.New("body is not a version info JSON object")
		}
	}
	return nil
}

// readReason returns the first line of a short error body.
func readReason(body io.Reader) string {
	b, _ := io.ReadAll(io.LimitReader(body, 512))
	line, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	if line == "" {
		return "no reason given"
	}
	return line
}
