package proxy

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gofailover/gofailover/health"
)

// UpstreamTimeouts bound each request to an upstream.
type UpstreamTimeouts struct {
	// Connect bounds the TCP and TLS handshake. Zero means 5s.
	Connect time.Duration
	// FirstByte bounds the wait for the response header after the request
	// was sent. Zero means 30s.
	FirstByte time.Duration
}

// NewUpstreamClient returns the HTTP client used for upstream requests. It
// honours the usual HTTPS_PROXY/NO_PROXY environment for offices behind a
// forward proxy and keeps connections to each upstream alive.
func NewUpstreamClient(t UpstreamTimeouts) *http.Client {
	if t.Connect <= 0 {
		t.Connect = 5 * time.Second
	}
	if t.FirstByte <= 0 {
		t.FirstByte = 30 * time.Second
	}
	dialer := &net.Dialer{Timeout: t.Connect, KeepAlive: 30 * time.Second}
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           dialer.DialContext,
			ForceAttemptHTTP2:     true,
			TLSHandshakeTimeout:   t.Connect,
			ResponseHeaderTimeout: t.FirstByte,
			ExpectContinueTimeout: time.Second,
			MaxIdleConns:          64,
			MaxIdleConnsPerHost:   16,
			IdleConnTimeout:       90 * time.Second,
		},
	}
}

// classify names the kind of a failed upstream request.
func classify(err error) health.FailureKind {
	if errors.Is(err, errIdleBody) {
		return health.FailTimeout
	}
	return health.Classify(err)
}

// errIdleBody reports an upstream body that stopped making progress.
var errIdleBody = errors.New("upstream body made no progress within the idle timeout")

// idleReader aborts a body read that makes no progress for a while: every
// Read that returns data pushes the deadline back; when it passes, the
// attempt's context is cancelled, which unblocks the pending Read.
type idleReader struct {
	r       io.Reader
	idle    time.Duration
	timer   *time.Timer
	once    sync.Once
	expired chan struct{}
}

func newIdleReader(r io.Reader, idle time.Duration, cancel context.CancelFunc) *idleReader {
	ir := &idleReader{r: r, idle: idle, expired: make(chan struct{})}
	ir.timer = time.AfterFunc(idle, func() {
		ir.once.Do(func() { close(ir.expired) })
		cancel()
	})
	return ir
}

// Read reads from the body and pushes the idle deadline back on progress.
func (ir *idleReader) Read(p []byte) (int, error) {
	n, err := ir.r.Read(p)
	if n > 0 {
		ir.timer.Reset(ir.idle)
	}
	if err != nil && err != io.EOF {
		select {
		case <-ir.expired:
			return n, errIdleBody
		default:
		}
	}
	return n, err
}

// stop releases the timer.
func (ir *idleReader) stop() { ir.timer.Stop() }

// isNotExist reports whether err says a path does not exist upstream.
func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
