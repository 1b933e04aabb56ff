package shared

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// watchTransport bounds every request the client makes: the response
// header must arrive within timeout of the request being sent (for a
// request with a body, of its last byte being taken), a request body the
// transport stops taking for idle fails the request, and so does a
// response body that yields no byte for idle while it is being read.
type watchTransport struct {
	base    http.RoundTripper
	timeout time.Duration
	idle    time.Duration
}

// RoundTrip implements http.RoundTripper.
func (t *watchTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancelCause(req.Context())
	noHeader := fmt.Errorf("no response header within %v", t.timeout)
	header := time.AfterFunc(t.timeout, func() { cancel(noHeader) })
	r := req.WithContext(ctx)
	var up *uploadWatch
	if req.Body != nil && req.Body != http.NoBody {
		header.Stop() // armed once the body is sent
		up = newUploadWatch(req.Body, t.idle, t.timeout, header, cancel)
		r.Body = up
		r.GetBody = nil
	}
	resp, err := t.base.RoundTrip(r)
	header.Stop()
	if up != nil {
		up.finish()
	}
	if err != nil {
		cause := context.Cause(ctx)
		cancel(nil)
		if cause != nil && ctx.Err() != nil && req.Context().Err() == nil && !errors.Is(err, cause) {
			// Ours: say why, not just "context canceled".
			return nil, fmt.Errorf("%w (%w)", cause, err)
		}
		return nil, err
	}
	resp.Body = newBodyWatch(ctx, resp.Body, t.idle, cancel)
	return resp, nil
}

// uploadWatch is a request body that cancels its request once the
// transport has taken no byte of it for idle, and arms the response header
// timer once it is all taken.
type uploadWatch struct {
	body    io.ReadCloser
	idle    time.Duration
	timeout time.Duration
	header  *time.Timer
	stall   *time.Timer

	mu   sync.Mutex
	sent bool // every byte taken (or the body closed): the header timer runs
	done bool // RoundTrip returned: no timer runs
}

func newUploadWatch(body io.ReadCloser, idle, timeout time.Duration, header *time.Timer, cancel context.CancelCauseFunc) *uploadWatch {
	w := &uploadWatch{body: body, idle: idle, timeout: timeout, header: header}
	stalled := fmt.Errorf("upload stalled: the store took no byte for %v", idle)
	w.stall = time.AfterFunc(idle, func() { cancel(stalled) })
	return w
}

// Read implements io.Reader; the idle timer runs between reads.
func (w *uploadWatch) Read(p []byte) (int, error) {
	w.stall.Stop()
	n, err := w.body.Read(p)
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.done || w.sent:
	case err != nil:
		w.sent = true
		w.header.Reset(w.timeout)
	default:
		w.stall.Reset(w.idle)
	}
	return n, err
}

// Close implements io.Closer: the transport is done with the body.
func (w *uploadWatch) Close() error {
	w.mu.Lock()
	if !w.done && !w.sent {
		w.sent = true
		w.stall.Stop()
		w.header.Reset(w.timeout)
	}
	w.mu.Unlock()
	return w.body.Close()
}

// finish stops both timers for good.
func (w *uploadWatch) finish() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.done = true
	w.stall.Stop()
	w.header.Stop()
}

// bodyWatch is a response body whose reads fail once the store sends no
// byte for idle while one is waited for; closing it ends its request.
type bodyWatch struct {
	ctx    context.Context
	body   io.ReadCloser
	idle   time.Duration
	timer  *time.Timer
	cancel context.CancelCauseFunc
	stall  error
}

func newBodyWatch(ctx context.Context, body io.ReadCloser, idle time.Duration, cancel context.CancelCauseFunc) *bodyWatch {
	b := &bodyWatch{ctx: ctx, body: body, idle: idle, cancel: cancel}
	b.stall = fmt.Errorf("body read stalled: the store sent no byte for %v", idle)
	b.timer = time.AfterFunc(idle, func() { cancel(b.stall) })
	b.timer.Stop()
	return b
}

// Read implements io.Reader; the idle timer runs while a read waits.
func (b *bodyWatch) Read(p []byte) (int, error) {
	b.timer.Reset(b.idle)
	n, err := b.body.Read(p)
	b.timer.Stop()
	if err != nil && !errors.Is(err, io.EOF) && errors.Is(context.Cause(b.ctx), b.stall) && !errors.Is(err, b.stall) {
		err = fmt.Errorf("%w (%w)", b.stall, err)
	}
	return n, err
}

// Close implements io.Closer, ending the request.
func (b *bodyWatch) Close() error {
	b.timer.Stop()
	err := b.body.Close()
	b.cancel(nil)
	return err
}
