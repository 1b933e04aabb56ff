// Package sharedtier puts the object store a fleet of replicas shares
// (package cache/shared) under the local cache as a second tier. It owns
// everything about talking to the store except judging what it holds:
// every call goes through a breaker (health's, over one Upstream that
// stands for the store), is timed and counted, and fails fast while the
// store is down; a probe keeps the store's health current when no request
// needs it; and verified answers are uploaded in the background from the
// local cache by a bounded queue (upload.go). What the tier reads, the
// proxy checks and verifies exactly like a mirror's answer before it is
// served or cached.
package sharedtier

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gofailover/gofailover/cache"
	"github.com/gofailover/gofailover/cache/shared"
	"github.com/gofailover/gofailover/health"
)

// Store is the shared object store's client (shared.Store implements it).
// Paths are request paths, such as "/example.com/m/@v/v1.0.0.zip"; the
// store maps them to its keys.
type Store interface {
	Get(ctx context.Context, path string) (*shared.Object, error)
	Stat(ctx context.Context, path string) (*shared.Object, error)
	Put(ctx context.Context, path string, body io.Reader, size int64, m shared.Meta, ifAbsent bool) error
	Delete(ctx context.Context, path string) error
	PresignGet(ctx context.Context, path string, expiry time.Duration) (*url.URL, error)
	Ping(ctx context.Context) error
}

// Local is the local cache the uploads read from.
type Local interface {
	Open(key string) (*cache.Object, error)
}

// ErrDown is returned, at once, for calls made while the store's breaker
// keeps it out: the caller goes on as a single replica.
var ErrDown = errors.New("shared store is down: not asked")

// Config holds what a Tier needs.
type Config struct {
	// Store is the shared store's client. Required.
	Store Store
	// Name identifies the store in logs, status and metrics, such as its
	// s3:// URL. It must hold no credentials. Required.
	Name string
	// URL is the store's endpoint, shown with its health; may be nil.
	URL *url.URL
	// Local is the cache uploads read from. Required.
	Local Local
	// Health configures the store's breaker; zero fields take health's
	// defaults.
	Health health.Config
	// Clock reads the time for the breaker; nil means health.SystemClock.
	Clock health.Clock
	// ProbeInterval is how often the store is pinged when it is up, and
	// how often a trial is tried when it is down. Zero means
	// DefaultProbeInterval.
	ProbeInterval time.Duration
	// QueueSize bounds the uploads waiting; past it new ones are dropped
	// (and counted). Zero means DefaultQueueSize.
	QueueSize int
	// Uploaders is how many uploads run at once. Zero means
	// DefaultUploaders.
	Uploaders int
	// Logger receives the tier's logs. Nil means slog.Default().
	Logger *slog.Logger
}

// Defaults for Config.
const (
	DefaultProbeInterval = 15 * time.Second
	DefaultQueueSize     = 4096
	DefaultUploaders     = 4
)

// Tier is the shared store as a second tier. Create it with New, start it
// with Start, and Close it after the last Enqueue.
type Tier struct {
	cfg   Config
	log   *slog.Logger
	pool  *health.Pool
	store *health.Upstream
	queue *queue
	good  goodObjects
	stats counters

	stop    context.CancelFunc
	done    sync.WaitGroup
	started atomic.Bool
}

// New returns a Tier over cfg.Store. It makes no call before Start.
func New(cfg Config) *Tier {
	if cfg.ProbeInterval <= 0 {
		cfg.ProbeInterval = DefaultProbeInterval
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = DefaultQueueSize
	}
	if cfg.Uploaders <= 0 {
		cfg.Uploaders = DefaultUploaders
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	u := &health.Upstream{Name: cfg.Name, URL: cfg.URL}
	if u.URL == nil {
		u.URL = &url.URL{Scheme: "s3", Host: cfg.Name}
	}
	return &Tier{
		cfg:   cfg,
		log:   cfg.Logger,
		pool:  health.NewPool([]*health.Upstream{u}, cfg.Health, cfg.Clock),
		store: u,
		queue: newQueue(cfg.QueueSize),
	}
}

// Name identifies the store.
func (t *Tier) Name() string { return t.cfg.Name }

// Pool is the store's health: one upstream, the store. Read it (Snapshot)
// to show the store's state; the Tier alone reports to it.
func (t *Tier) Pool() *health.Pool { return t.pool }

// Start starts the probe and the uploaders, which run until Close.
func (t *Tier) Start(ctx context.Context) {
	if !t.started.CompareAndSwap(false, true) {
		return
	}
	ctx, t.stop = context.WithCancel(ctx)
	t.done.Add(1 + t.cfg.Uploaders)
	go func() {
		defer t.done.Done()
		t.probeLoop(ctx)
	}()
	for range t.cfg.Uploaders {
		go func() {
			defer t.done.Done()
			t.uploadLoop(ctx)
		}()
	}
}

// Close drains the upload queue until it is empty or ctx ends, or the
// store is down (waiting for it would only hold up the shutdown), then
// stops the probe and the uploaders. It returns how many uploads were left
// undone. Call it after the last Enqueue and before the local cache
// closes.
func (t *Tier) Close(ctx context.Context) int {
	t.queue.close()
	if t.started.Load() {
		t.queue.drained(ctx, t.down)
		t.stop()
		t.done.Wait()
	}
	left := t.queue.abandon()
	if left > 0 {
		t.log.Warn("shutdown: uploads to the shared store left undone", "store", t.cfg.Name, "uploads", left)
	}
	return left
}

// call runs one request to the store through the breaker and reports what
// it showed. found reports whether err is an answer (not found, already
// exists) rather than a failure.
func (t *Tier) call(ctx context.Context, probe bool, f func(ctx context.Context) error) error {
	if !t.pool.Admit(t.store) {
		t.stats.bypassed.Add(1)
		return ErrDown
	}
	start := time.Now()
	err := f(ctx)
	t.report(start, err, probe)
	return err
}

// report tells the store's health what a call that started at start
// showed. A call cancelled by its caller (a client left, shutdown) says
// nothing of the store.
func (t *Tier) report(start time.Time, err error, probe bool) {
	d := time.Since(start)
	o := health.Outcome{Status: http.StatusOK, FirstByte: d, Total: d, Probe: probe}
	switch {
	case err == nil:
	case errors.Is(err, shared.ErrNotFound):
		o.Status = http.StatusNotFound
	case errors.Is(err, shared.ErrExists):
		o.Status = http.StatusPreconditionFailed
	case errors.Is(err, context.Canceled):
		return
	default:
		o.Status, o.Failure, o.Err = 0, failureOf(err), err
		if !probe {
			t.stats.errors.Add(1)
		}
	}
	t.pool.Report(t.store, o)
}

// failureOf classifies a failed call for the breaker.
func failureOf(err error) health.FailureKind {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return health.FailTimeout
	case errors.Is(err, syscall.ECONNREFUSED):
		return health.FailRefused
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, io.ErrUnexpectedEOF):
		return health.FailReset
	}
	return health.FailOther
}

// Get reads the object stored for a request path. It returns an error
// wrapping shared.ErrNotFound when there is none, and ErrDown at once while
// the store is down. A body that fails while it is read counts against the
// store's health too.
func (t *Tier) Get(ctx context.Context, path string) (*shared.Object, error) {
	var obj *shared.Object
	err := t.call(ctx, false, func(ctx context.Context) (err error) {
		obj, err = t.cfg.Store.Get(ctx, path)
		return err
	})
	switch {
	case err == nil:
		t.stats.hits.Add(1)
		obj.Body = &countingBody{ReadCloser: obj.Body, t: t}
	case errors.Is(err, shared.ErrNotFound):
		t.stats.misses.Add(1)
	}
	return obj, err
}

// Delete removes the object stored for a request path: one that failed
// the checks or verification. It counts the object as corrupt.
func (t *Tier) Delete(ctx context.Context, path string) error {
	t.stats.corrupt.Add(1)
	t.good.forget(path)
	err := t.call(ctx, false, func(ctx context.Context) error { return t.cfg.Store.Delete(ctx, path) })
	if err != nil {
		return fmt.Errorf("deleting the shared store's %s: %w", path, err)
	}
	return nil
}

// Verified records that the object stored for path, in the version that
// etag names, was checked and verified: a redirect may send clients to it
// (see Presign).
func (t *Tier) Verified(path, etag string) { t.good.add(path, etag) }

// Presign returns a presigned URL of the object stored for path, valid
// for expiry, when that object is still the version recorded as verified
// (Verified): the store is asked for its entity tag now. It returns false
// otherwise, or when the store is down.
func (t *Tier) Presign(ctx context.Context, path string, expiry time.Duration) (*url.URL, bool) {
	etag, ok := t.good.get(path)
	if !ok {
		return nil, false
	}
	var u *url.URL
	err := t.call(ctx, false, func(ctx context.Context) error {
		st, err := t.cfg.Store.Stat(ctx, path)
		if err != nil {
			return err
		}
		if st.ETag != etag {
			return errChanged
		}
		u, err = t.cfg.Store.PresignGet(ctx, path, expiry)
		return err
	})
	if errors.Is(err, errChanged) || errors.Is(err, shared.ErrNotFound) {
		t.good.forget(path)
	}
	return u, err == nil
}

// errChanged says an object is no longer the version that was verified.
var errChanged = errors.New("the object changed since it was verified")

// countingBody counts the bytes read from the store, and reports a body
// that fails midway to the store's health.
type countingBody struct {
	io.ReadCloser
	t      *Tier
	failed bool
}

func (b *countingBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.t.stats.bytesRead.Add(int64(n))
	if err != nil && err != io.EOF && !b.failed && !errors.Is(err, context.Canceled) {
		b.failed = true
		b.t.stats.errors.Add(1)
		b.t.pool.Report(b.t.store, health.Outcome{Failure: failureOf(err), Err: err})
	}
	return n, err
}

// probeLoop pings the store every ProbeInterval, so that its health is
// current when no request needs it, and so that a store that was down is
// tried again (and uploads resume) once it is back.
func (t *Tier) probeLoop(ctx context.Context) {
	for {
		t.probe(ctx)
		if !health.Sleep(ctx, t.cfg.ProbeInterval) {
			return
		}
	}
}

// probe pings the store once, if its breaker lets it.
func (t *Tier) probe(ctx context.Context) {
	err := t.call(ctx, true, t.cfg.Store.Ping)
	switch {
	case err == nil, errors.Is(err, ErrDown), ctx.Err() != nil:
	default:
		t.log.Debug("shared store probe failed", "store", t.cfg.Name, "err", err)
	}
}

// down reports whether the store's breaker keeps requests out (open,
// half-open, quarantined), without taking a trial.
func (t *Tier) down() bool {
	return t.pool.Snapshot()[0].State.Down()
}

// LatencyP95 returns the store's recent p95 time to answer, requests and
// probes alike, when anything is known of it.
func (t *Tier) LatencyP95() (time.Duration, bool) { return t.pool.LatencyP95(t.store) }

// Abandoned records a read given up after d without an answer because the
// caller would not wait longer: the store is known to take at least d.
// Like a mirror's lost hedge, it counts toward the store's latency, not as
// a failure.
func (t *Tier) Abandoned(d time.Duration) {
	t.stats.abandoned.Add(1)
	t.pool.Report(t.store, health.AbandonedAfter(d))
}
