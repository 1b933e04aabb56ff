package alert

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/gofailover/gofailover/health"
)

// deliveryConfig is how notifications are delivered: what WebhookConfig
// and AlertmanagerConfig share. Zero fields take their defaults
// (withDefaults).
type deliveryConfig struct {
	Timeout   time.Duration
	Retries   int
	Backoff   time.Duration
	QueueSize int
	Client    Doer
	Logger    *slog.Logger
}

// withDefaults returns c with every zero field set to its default.
func (c deliveryConfig) withDefaults() deliveryConfig {
	if c.Timeout <= 0 {
		c.Timeout = DefaultWebhookTimeout
	}
	switch {
	case c.Retries == 0:
		c.Retries = DefaultWebhookRetries
	case c.Retries < 0:
		c.Retries = 0
	}
	if c.Backoff <= 0 {
		c.Backoff = DefaultWebhookBackoff
	}
	if c.QueueSize <= 0 {
		c.QueueSize = DefaultWebhookQueueSize
	}
	if c.Client == nil {
		c.Client = http.DefaultClient
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// parseEndpoint parses the URL of a notification endpoint (kind names it
// in errors): an absolute http or https URL. Errors never quote the whole
// URL, which often carries a secret.
func parseEndpoint(kind, raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its URL may hold a secret
		}
		return nil, fmt.Errorf("%s URL: %w", kind, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%s URL %s://%s…: must be an absolute http or https URL", kind, u.Scheme, u.Host)
	}
	return u, nil
}

// delivery is one JSON body to POST, and what to log about it.
type delivery struct {
	body  []byte
	attrs []any
}

// sender POSTs JSON bodies to one endpoint: a bounded queue that drops the
// oldest when full, one goroutine (Run) that sends in order, and retries
// with backoff. Queueing never blocks, so that an endpoint that is down or
// hangs holds up nothing but its own queue. Webhook and Alertmanager send
// through it.
type sender struct {
	kind string // "alert webhook", "alertmanager": for logs and errors
	url  string // to POST to
	name string // scheme and host, for logs and errors
	cfg  deliveryConfig
	log  *slog.Logger
	q    *queue[delivery]

	// wait waits d or until ctx is done, reporting whether d passed.
	wait func(ctx context.Context, d time.Duration) bool
}

// newSender returns a sender to u; cfg has its defaults.
func newSender(kind string, u *url.URL, cfg deliveryConfig) *sender {
	return &sender{kind: kind, url: u.String(), name: u.Scheme + "://" + u.Host, cfg: cfg, log: cfg.Logger,
		q: newQueue[delivery](cfg.QueueSize), wait: health.Sleep}
}

// enqueue queues d for run. It never blocks: when the queue is full it
// drops the oldest delivery, with a warning.
func (s *sender) enqueue(d delivery) {
	if old, full := s.q.push(d); full {
		s.log.Warn(s.kind+" queue is full; dropping the oldest notification",
			append([]any{s.kindKey(), s.name, "queue_size", s.cfg.QueueSize}, old.attrs...)...)
	}
}

// run sends the queued deliveries until ctx is done, and then returns,
// abandoning an attempt in flight and whatever is still queued.
func (s *sender) run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			if n := s.q.len(); n > 0 {
				s.log.Warn(s.kind+" stopped with notifications unsent", s.kindKey(), s.name, "unsent", n)
			}
			return
		case <-s.q.ready:
		}
		for ctx.Err() == nil {
			d, ok := s.q.pop()
			if !ok {
				break
			}
			_ = s.deliver(ctx, d) // logged
		}
	}
}

// deliver POSTs d, retrying as configured, and logs the outcome.
func (s *sender) deliver(ctx context.Context, d delivery) error {
	attrs := append([]any{s.kindKey(), s.name}, d.attrs...)
	var err error
	attempt := 1
	for ; ; attempt++ {
		err = s.post(ctx, d.body)
		if err == nil {
			s.log.Debug(s.kind+" notified", append(attrs, "attempts", attempt)...)
			return nil
		}
		var ae *attemptError
		if attempt > s.cfg.Retries || ctx.Err() != nil || errors.As(err, &ae) && ae.final {
			break
		}
		wait := s.backoff(attempt)
		s.log.Debug(s.kind+" attempt failed; retrying", append(attrs, "attempt", attempt, "retry_in", wait, "err", err)...)
		if !s.wait(ctx, wait) {
			break
		}
	}
	s.log.Warn(s.kind+" notification failed", append(attrs, "attempts", attempt, "err", err)...)
	return err
}

// backoff returns the wait after the given failed attempt (from 1).
func (s *sender) backoff(attempt int) time.Duration { return backoff(s.cfg.Backoff, attempt) }

// post makes one attempt to POST body, within the configured timeout.
func (s *sender) post(ctx context.Context, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url, bytes.NewReader(body))
	if err != nil {
		return &attemptError{final: true, err: fmt.Errorf("building request to %s %s: %w", s.kind, s.name, err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "gofailover-alert")
	resp, err := s.cfg.Client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its URL may hold a secret
		}
		return fmt.Errorf("posting to %s %s: %w", s.kind, s.name, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, maxWebhookBody))
	if code := resp.StatusCode; code < 200 || code > 299 {
		retry := code >= 500 || code == http.StatusRequestTimeout || code == http.StatusTooManyRequests
		return &attemptError{final: !retry, err: fmt.Errorf("%s %s answered %s: %.200s", s.kind, s.name, resp.Status, bytes.TrimSpace(msg))}
	}
	return nil
}

// kindKey is the log key that names the endpoint: "webhook" or
// "alertmanager".
func (s *sender) kindKey() string {
	if s.kind == "alert webhook" {
		return "webhook"
	}
	return "alertmanager"
}

// attemptError is a failed attempt that says whether to try again.
type attemptError struct {
	final bool // retrying cannot help
	err   error
}

func (e *attemptError) Error() string { return e.err.Error() }
func (e *attemptError) Unwrap() error { return e.err }

// backoff returns the wait after the given failed attempt (from 1): first,
// doubled for each further attempt, at most 5m.
func backoff(first time.Duration, attempt int) time.Duration {
	d := first
	for i := 1; i < attempt && d < maxWebhookBackoff; i++ {
		d *= 2
	}
	return min(d, maxWebhookBackoff)
}
