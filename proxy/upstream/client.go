package upstream

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"golang.org/x/sync/semaphore"

	"github.com/gofailover/gofailover/health"
	"github.com/gofailover/gofailover/proxy/protocol"
)

// Defaults of Config.
const (
	DefaultConnectTimeout   = 5 * time.Second
	DefaultFirstByteTimeout = 30 * time.Second
	DefaultIdleTimeout      = 30 * time.Second
	DefaultMinBodyRate      = 32 << 10 // bytes per second
	DefaultBodyGrace        = 2 * time.Second
	DefaultSlotWait         = 5 * time.Second
)

// Config holds a Client's settings. A zero field means its default.
type Config struct {
	// ConnectTimeout bounds the TCP and TLS handshakes.
	ConnectTimeout time.Duration
	// FirstByteTimeout bounds the wait for a response header once the
	// request is sent.
	FirstByteTimeout time.Duration
	// IdleTimeout abandons a body that makes no progress for this long.
	IdleTimeout time.Duration
	// MinBodyRate is the slow-body floor, in bytes per second: once
	// BodyGrace has passed since the response header, a body that has
	// arrived at less than this on average is abandoned (a failure,
	// slow_body), unless the request asked for no floor (Options.NoFloor).
	// So an answer of n bytes may take BodyGrace or n/MinBodyRate,
	// whichever is longer. Negative turns the floor off.
	MinBodyRate int64
	// BodyGrace is how long a body may take before the floor applies.
	BodyGrace time.Duration
	// SlotWait is how long a request waits for one of the upstream's
	// request slots (health.Limits) before it is not made
	// (health.ErrBusy), so that it moves on to the next upstream; a
	// request to the last upstream left waits as long as the first-byte
	// timeout (Options.Last).
	SlotWait time.Duration
	// TempDir is where Probe writes the zips it checks; empty means
	// os.TempDir().
	TempDir string
	// Transport, if set, sends the requests instead of a transport built
	// from the timeouts (tests). Its redirects are never followed: the
	// Client follows them itself, under its policy.
	Transport http.RoundTripper
	// Resolve looks up the addresses of a host a redirect leads to. Nil
	// means the system resolver.
	Resolve func(ctx context.Context, host string) ([]netip.Addr, error)
}

// Client makes every request to the upstream mirrors. It is safe for
// concurrent use.
type Client struct {
	cfg  Config
	http *http.Client
	// parseBudget bounds the bytes of large go.mod files parsed in memory
	// at once (see checkFile).
	parseBudget *semaphore.Weighted
}

// New returns a Client. It honours HTTPS_PROXY, HTTP_PROXY and NO_PROXY, and
// keeps connections to each upstream alive.
func New(cfg Config) *Client {
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	if cfg.FirstByteTimeout <= 0 {
		cfg.FirstByteTimeout = DefaultFirstByteTimeout
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	switch {
	case cfg.MinBodyRate == 0:
		cfg.MinBodyRate = DefaultMinBodyRate
	case cfg.MinBodyRate < 0:
		cfg.MinBodyRate = 0
	}
	if cfg.BodyGrace <= 0 {
		cfg.BodyGrace = DefaultBodyGrace
	}
	if cfg.SlotWait <= 0 {
		cfg.SlotWait = DefaultSlotWait
	}
	if cfg.Resolve == nil {
		cfg.Resolve = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return defaultResolver.LookupNetIP(ctx, "ip", host)
		}
	}
	if cfg.Transport == nil {
		cfg.Transport = newTransport(cfg.ConnectTimeout, cfg.FirstByteTimeout)
	}
	return &Client{
		cfg:         cfg,
		parseBudget: semaphore.NewWeighted(parseBudget),
		http: &http.Client{
			Transport: cfg.Transport,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse
			},
		},
	}
}

// parseBudget is how many bytes of go.mod files larger than memoryMax are
// parsed at once, at most: four of the largest the go command allows.
const parseBudget = 4 * protocol.MaxModBytes

// File is where an answer too large for memory (every zip, and any answer
// over 256 KiB) is written: a temporary file that the caller keeps or
// discards. *cache.Blob is one.
type File interface {
	io.Writer
	// Path names the file, for the checks that read it.
	Path() string
	// Discard removes the file; it is safe to call more than once.
	Discard() error
}

// Options say what else a request needs besides its path.
type Options struct {
	// Path, when not empty, is the path asked for in place of the
	// request's own: the checksum database's own URL serves its paths
	// without the /sumdb/<name> prefix.
	Path string
	// Spool makes the file an answer too large for memory is written to:
	// every zip, and any other answer over 256 KiB. Required for zips;
	// without it, other answers are held in memory whatever their size
	// (for checksum-database answers, which are small).
	Spool func() (File, error)
	// OnHeader, if set, is called once, when the response header of the
	// final answer (after redirects) arrives.
	OnHeader func()
	// Last says that no other upstream is left to move on to. The request
	// then waits its turn for one of the upstream's request slots as long
	// as the first-byte timeout (instead of Config.SlotWait), so that a
	// burst larger than the upstream's cap waits instead of failing; and
	// the slow-body floor does not apply (abandoning a slow body would
	// gain nothing).
	Last bool
	// Probe marks the request as an active probe's.
	Probe bool
	// Background marks work no user waits for, such as a prefetch: it
	// takes one of the upstream's request slots only while enough stay
	// free for users' requests, never waiting for one
	// (health.Upstream.AcquireBackground), and fails as Local otherwise.
	Background bool
}

// Response is what one request to an upstream gave, and its judgment.
type Response struct {
	// Status is the HTTP status of the final answer (after the redirects
	// followed), 0 when none arrived.
	Status int
	// Body holds a usable 200 answer small enough for memory; it passed
	// protocol.CheckBody.
	Body []byte
	// File holds a usable 200 answer too large for memory (every zip); it
	// passed protocol.CheckZip or CheckBodyFile. The caller keeps or
	// discards it.
	File File
	// Reason is the first line of a definitive answer's body.
	Reason string
	// Outcome is the judgment, for the health pool: Failure is FailNone
	// for a usable 200 and for a definitive answer about the module.
	Outcome health.Outcome
	// Err says why there is no usable answer; nil for a usable 200 and
	// for a definitive answer.
	Err error
	// Local reports a request that failed here, not at the upstream: it
	// was never sent (no request slot was free in time, health.ErrBusy, or the
	// caller's context ended while it waited for one), or the spool could
	// not hold the body (a *SpoolError). It says nothing about the
	// upstream.
	Local bool
	// Cancelled reports that the caller cancelled the request before the
	// answer was judged: shutdown, a lost hedge, an impatient caller. The
	// Outcome says only how long the upstream had taken so far. A
	// caller's deadline that passes is not a cancellation but a timeout
	// of the upstream (FailTimeout).
	Cancelled bool
}

// OK reports whether r is a usable 200 answer.
func (r *Response) OK() bool { return r.Err == nil && r.Status == http.StatusOK }

// Definitive reports whether r is a definitive answer about the module:
// 400, 403, 404 or 410.
func (r *Response) Definitive() bool {
	return r.Err == nil && r.Status != http.StatusOK && r.Status != 0
}

// ErrSlowBody reports a body abandoned for arriving slower than the floor.
var ErrSlowBody = errors.New("upstream body arrived slower than the floor")

// ErrIdleBody reports a body abandoned for making no progress within the
// idle timeout.
var ErrIdleBody = errors.New("upstream body made no progress within the idle timeout")

// SpoolError reports that a zip answer could not be written to its file:
// a local failure, such as a full disk.
type SpoolError struct{ Err error }

// Error describes the failure.
func (e *SpoolError) Error() string { return "storing the download: " + e.Err.Error() }

// Unwrap returns the underlying error.
func (e *SpoolError) Unwrap() error { return e.Err }

// Get asks u for r and judges the answer. Every request to a mirror goes
// through it. The caller reports resp.Outcome to the pool unless
// resp.Local, and decides what a cancelled request says (see
// Response.Cancelled).
func (c *Client) Get(ctx context.Context, u *health.Upstream, r *protocol.Request, opt Options) *Response {
	path := r.Path
	if opt.Path != "" {
		path = opt.Path
	}
	resp := &Response{Outcome: health.Outcome{Probe: opt.Probe, Path: r.Path}}
	wait := c.cfg.SlotWait
	if opt.Last {
		wait = max(wait, c.cfg.FirstByteTimeout)
	}
	var release func()
	var err error
	if opt.Background {
		var ok bool
		if release, ok = u.AcquireBackground(); !ok {
			err = fmt.Errorf("%s: %w: no slot to spare for background work", u.Name, health.ErrBusy)
		}
	} else {
		release, err = u.Acquire(ctx, wait)
	}
	if err != nil {
		// Nothing was sent: it says nothing about the upstream.
		resp.Err, resp.Local = err, true
		return resp
	}
	defer release()

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	start := time.Now()
	c.exchange(ctx, cancel, u, r, path, opt, resp, start)
	resp.Outcome.Total = time.Since(start)
	resp.Outcome.Status = resp.Status
	if resp.Err != nil {
		cause := context.Cause(ctx)
		if ctx.Err() != nil && cause != ErrSlowBody && cause != ErrIdleBody && !errors.Is(cause, context.DeadlineExceeded) {
			// The caller gave up, not the client: nothing to judge. (A
			// caller's deadline that passed is a timeout of the
			// upstream, judged below.)
			resp.Cancelled = true
			resp.Outcome.Failure = health.FailNone
		}
		if resp.Outcome.Failure == health.FailNone && !resp.Cancelled && !resp.Local {
			resp.Outcome.Failure = classify(resp.Err)
		}
		if resp.Outcome.Failure != health.FailNone {
			resp.Outcome.Err = resp.Err
		}
		resp.Body = nil
		if resp.File != nil {
			resp.File.Discard()
			resp.File = nil
		}
	}
	return resp
}

// exchange sends the request, follows redirects under the policy, and
// reads and checks the answer into resp.
func (c *Client) exchange(ctx context.Context, cancel context.CancelCauseFunc, u *health.Upstream, r *protocol.Request, path string, opt Options, resp *Response, start time.Time) {
	hresp, err := c.send(ctx, u, protocol.URL(u.URL, path), opt.Probe)
	if err != nil {
		resp.Err = fmt.Errorf("GET %s: %w", redactedPath(u, path), err)
		return
	}
	defer hresp.Body.Close()
	resp.Status = hresp.StatusCode
	resp.Outcome.FirstByte = time.Since(start)
	if opt.OnHeader != nil {
		opt.OnHeader()
	}
	body := c.watch(hresp.Body, cancel, opt.Last)
	defer body.stop()

	if hresp.StatusCode != http.StatusOK {
		failure, definitive := judgeStatus(hresp.StatusCode)
		reason := readReason(body)
		if definitive {
			resp.Reason = reason
			return
		}
		resp.Outcome.Failure = failure
		if failure == health.FailRateLimit || failure == health.FailStatus5xx {
			resp.Outcome.RetryAfter = parseRetryAfter(hresp.Header.Get("Retry-After"), time.Now())
		}
		resp.Err = fmt.Errorf("GET %s: upstream answered %s: %s", redactedPath(u, path), hresp.Status, reason)
		return
	}
	c.readOK(ctx, "GET "+redactedPath(u, path), r, body, hresp.ContentLength, opt.Spool, resp)
}

// memoryMax is the largest answer held in memory when the request has a
// Spool: a larger one (and every zip) is written to a file, so that many
// concurrent large answers cost disk, not memory.
const memoryMax = 256 << 10

// ReadAnswer reads and checks a 200 answer to r that came from elsewhere
// than a mirror (the object store replicas share), exactly as a mirror's
// is read and checked: under the idle timeout and the slow-body floor
// (body is closed to abandon it), within its size limit, in memory up to
// 256 KiB and into a file from spool beyond it (every zip goes to a
// file), and with the body checks. where names the source in errors;
// length is the body's announced length, -1 when unknown. Only Body,
// File, Err and Outcome.Failure of the Response are set: Err is nil for a
// usable answer.
func (c *Client) ReadAnswer(ctx context.Context, where string, r *protocol.Request, body io.ReadCloser, length int64, spool func() (File, error)) *Response {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	unblock := context.AfterFunc(ctx, func() { body.Close() })
	defer unblock()
	w := c.watch(body, cancel, false)
	defer w.stop()
	resp := &Response{Status: http.StatusOK}
	c.readOK(ctx, where, r, w, length, spool, resp)
	if resp.Err != nil && resp.Outcome.Failure == health.FailNone {
		switch context.Cause(ctx) {
		case ErrSlowBody:
			resp.Outcome.Failure = health.FailSlowBody
		case ErrIdleBody:
			resp.Outcome.Failure = health.FailTimeout
		}
	}
	return resp
}

// readOK reads a 200 answer within its size limit, in memory up to
// memoryMax and into a file from spool beyond it (every zip goes to a
// file), and checks it. where names the request in errors.
func (c *Client) readOK(ctx context.Context, where string, r *protocol.Request, body io.Reader, length int64, spool func() (File, error), resp *Response) {
	limit := r.MaxBody()
	if length > limit {
		resp.Outcome.Failure = health.FailTooLarge
		resp.Err = fmt.Errorf("%s: body of %d bytes exceeds the %d-byte limit", where, length, limit)
		return
	}
	var head []byte
	if r.Kind != protocol.KindZip {
		inMemory := limit
		if spool != nil && length <= memoryMax {
			inMemory = memoryMax
		}
		if spool == nil || length <= memoryMax {
			data, err := io.ReadAll(io.LimitReader(body, inMemory+1))
			switch {
			case err != nil:
				resp.Err = fmt.Errorf("%s: reading the body after %d bytes: %w", where, len(data), bodyError(ctx, err))
				return
			case int64(len(data)) > limit:
				resp.Outcome.Failure = health.FailTooLarge
				resp.Err = fmt.Errorf("%s: body exceeds the %d-byte limit", where, limit)
				return
			case int64(len(data)) <= inMemory:
				if err := protocol.CheckBody(r, data); err != nil {
					resp.Outcome.Failure = health.FailBadBody
					resp.Err = fmt.Errorf("%s: %w", where, err)
					return
				}
				resp.Body = data
				return
			}
			head = data // more is coming: into a file, after what was read
		}
	}

	if spool == nil {
		resp.Err, resp.Local = fmt.Errorf("%s: no file to write a zip to", where), true
		return
	}
	f, err := spool()
	if err != nil {
		resp.Err, resp.Local = &SpoolError{Err: err}, true
		return
	}
	resp.File = f
	// Write in large pieces: the page cache keeps a file in folios as
	// large as the writes that made it, and sending a file written in
	// small pieces costs measurably more on every cache hit.
	store := &writeErrors{w: f}
	bw := bufio.NewWriterSize(store, spoolWriteSize)
	bw.Write(head)
	n, err := io.Copy(bw, io.LimitReader(body, limit+1-int64(len(head))))
	n += int64(len(head))
	if err == nil {
		err = bw.Flush()
	}
	switch {
	case store.err != nil:
		resp.Err, resp.Local = &SpoolError{Err: store.err}, true
	case err != nil:
		resp.Err = fmt.Errorf("%s: reading the body after %d bytes: %w", where, n, bodyError(ctx, err))
	case n > limit:
		resp.Outcome.Failure = health.FailTooLarge
		resp.Err = fmt.Errorf("%s: body exceeds the %d-byte limit", where, limit)
	default:
		if err := c.checkFile(ctx, r, f.Path(), n); err != nil {
			resp.Outcome.Failure = health.FailBadBody
			resp.Err = fmt.Errorf("%s: %w", where, err)
		}
	}
}

// checkFile checks an answer of n bytes written to the file at path: a
// zip with protocol.CheckZip, anything else with protocol.CheckBodyFile.
// A go.mod file is parsed whole in memory, so large ones take their size
// from a budget shared by all requests first: memory stays bounded however
// many arrive at once.
func (c *Client) checkFile(ctx context.Context, r *protocol.Request, path string, n int64) error {
	switch r.Kind {
	case protocol.KindZip:
		return protocol.CheckZip(r, path)
	case protocol.KindMod:
		if err := c.parseBudget.Acquire(ctx, n); err != nil {
			return fmt.Errorf("waiting for memory to check %s: %w", r.Path, err)
		}
		defer c.parseBudget.Release(n)
	}
	return protocol.CheckBodyFile(r, path)
}

// spoolWriteSize is the size of the writes that store a zip.
const spoolWriteSize = 256 << 10

// bodyError is the error a body read ended with: the client's own reason
// when it abandoned the body (slow or idle), else err.
func bodyError(ctx context.Context, err error) error {
	if cause := context.Cause(ctx); cause == ErrSlowBody || cause == ErrIdleBody {
		return cause
	}
	return err
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

// readReason returns the first line of a short error body.
func readReason(body io.Reader) string {
	b, _ := io.ReadAll(io.LimitReader(body, 512))
	line, _, _ := strings.Cut(strings.TrimSpace(string(b)), "\n")
	if line = strings.TrimSpace(line); line == "" {
		return "no reason given"
	}
	return line
}

// redactedPath names a request in errors: the upstream without
// credentials, and the path.
func redactedPath(u *health.Upstream, path string) string {
	return u.Name + path
}

// userAgent is what gofailover calls itself upstream.
func userAgent(probe bool) string {
	if probe {
		return "gofailover-probe"
	}
	return "gofailover"
}

// send sends a GET of target and follows redirects under the policy (see
// redirect.go), returning the final response.
func (c *Client) send(ctx context.Context, u *health.Upstream, target *url.URL, probe bool) (*http.Response, error) {
	for hops := 0; ; hops++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, target.String(), nil)
		if err != nil {
			return nil, fmt.Errorf("building the request: %w", err)
		}
		req.Header.Set("User-Agent", userAgent(probe))
		resp, err := c.http.Do(req)
		if err != nil {
			return nil, err
		}
		if !isRedirect(resp.StatusCode) {
			return resp, nil
		}
		loc := resp.Header.Get("Location")
		io.CopyN(io.Discard, resp.Body, 4<<10)
		resp.Body.Close()
		if loc == "" {
			return nil, &RedirectError{From: target.Redacted(), Reason: "a " + resp.Status + " without a Location"}
		}
		next, err := target.Parse(loc)
		if err != nil {
			return nil, &RedirectError{From: target.Redacted(), To: loc, Reason: "its Location does not parse"}
		}
		if hops >= maxRedirects {
			return nil, &RedirectError{From: target.Redacted(), To: next.Redacted(), Reason: fmt.Sprintf("more than %d redirects", maxRedirects)}
		}
		ctx, err = c.allowRedirect(ctx, u.URL, target, next)
		if err != nil {
			return nil, err
		}
		target = next
	}
}
