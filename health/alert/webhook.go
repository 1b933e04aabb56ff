package alert

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/gofailover/gofailover/health"
)

// Webhook defaults and bounds.
const (
	DefaultWebhookTimeout   = 10 * time.Second
	DefaultWebhookRetries   = 3
	DefaultWebhookBackoff   = time.Second
	DefaultWebhookQueueSize = 100
	// maxWebhookBackoff caps the wait between two attempts.
	maxWebhookBackoff = 5 * time.Minute
	// maxWebhookBody bounds what is read of a webhook's answer, which is
	// read only so that the connection can be reused.
	maxWebhookBody = 64 << 10
)

// WebhookConfig configures a Webhook. A zero field means its default.
type WebhookConfig struct {
	// URL receives the POSTs: an absolute http or https URL. Required.
	// Logs and errors show only its scheme and host, since a webhook URL
	// often carries a secret.
	URL string
	// Timeout bounds each attempt, the answer's body included. Default 10s.
	Timeout time.Duration
	// Retries is how many times a failed POST is tried again: after an
	// error, a timeout, a 5xx, 408 or 429 answer (any other non-2xx
	// answer is final). Default 3; negative means none.
	Retries int
	// Backoff is the wait before the first retry; it doubles for each
	// further one, up to 5m. Default 1s.
	Backoff time.Duration
	// QueueSize bounds the notifications waiting to be sent; when it is
	// full, the oldest is dropped. Default 100.
	QueueSize int
	// Client sends the requests; nil means http.DefaultClient.
	Client Doer
	// Logger receives a warning for each notification dropped or given up
	// on, and debug for each attempt; nil discards them.
	Logger *slog.Logger
}

// Doer sends the webhook's HTTP requests; *http.Client is one. (Requests
// to the upstream mirrors go through proxy/upstream; a webhook is no
// mirror.)
type Doer interface {
	Do(*http.Request) (*http.Response, error)
}

// Webhook is a Notifier that POSTs each transition it is given to a URL
// as JSON (see Payload). Notify only queues the transition; Run sends the
// queue, one notification at a time, oldest first, so that a webhook that
// is down or hangs holds up nothing but its own queue.
type Webhook struct {
	cfg    WebhookConfig
	url    string // to POST to
	name   string // scheme and host, for logs and errors
	client Doer
	log    *slog.Logger
	q      *queue[Transition]

	// wait waits d or until ctx is done, reporting whether d passed.
	wait func(ctx context.Context, d time.Duration) bool
}

// NewWebhook returns a Webhook configured by cfg, or an error if cfg.URL
// is not an absolute http or https URL.
func NewWebhook(cfg WebhookConfig) (*Webhook, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its URL may hold a secret
		}
		return nil, fmt.Errorf("alert webhook URL: %w", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("alert webhook URL %s://%s…: must be an absolute http or https URL", u.Scheme, u.Host)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultWebhookTimeout
	}
	switch {
	case cfg.Retries == 0:
		cfg.Retries = DefaultWebhookRetries
	case cfg.Retries < 0:
		cfg.Retries = 0
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = DefaultWebhookBackoff
	}
	if cfg.QueueSize <= 0 {
		cfg.QueueSize = DefaultWebhookQueueSize
	}
	if cfg.Client == nil {
		cfg.Client = http.DefaultClient
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Webhook{
		cfg:    cfg,
		url:    u.String(),
		name:   u.Scheme + "://" + u.Host,
		client: cfg.Client,
		log:    cfg.Logger,
		q:      newQueue[Transition](cfg.QueueSize),
		wait:   health.Sleep,
	}, nil
}

// Notify queues t for Run to send. It never blocks: when the queue is full
// it drops the oldest notification, with a warning.
func (w *Webhook) Notify(t Transition) {
	if d, full := w.q.push(t); full {
		w.log.Warn("alert webhook queue is full; dropping the oldest notification",
			"webhook", w.name, "queue_size", w.cfg.QueueSize,
			"rule", d.Alert.Rule, "upstream", d.Alert.Upstream, "to", d.To, "at", d.At)
	}
}

// Run sends the queued notifications until ctx is done, and then returns,
// abandoning an attempt in flight and whatever is still queued.
func (w *Webhook) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			if n := w.q.len(); n > 0 {
				w.log.Warn("alert webhook stopped with notifications unsent", "webhook", w.name, "unsent", n)
			}
			return
		case <-w.q.ready:
		}
		for ctx.Err() == nil {
			t, ok := w.q.pop()
			if !ok {
				break
			}
			_ = w.deliver(ctx, t) // logged
		}
	}
}

// deliver POSTs t, retrying as configured, and logs the outcome.
func (w *Webhook) deliver(ctx context.Context, t Transition) error {
	attrs := []any{"webhook", w.name, "rule", t.Alert.Rule, "upstream", t.Alert.Upstream, "to", t.To}
	body, err := json.Marshal(NewPayload(t))
	if err != nil {
		err = fmt.Errorf("encoding alert for webhook %s: %w", w.name, err)
		w.log.Warn("alert webhook notification dropped", append(attrs, "err", err)...)
		return err
	}
	attempt := 1
	for ; ; attempt++ {
		err = w.post(ctx, body)
		if err == nil {
			w.log.Debug("alert webhook notified", append(attrs, "attempts", attempt)...)
			return nil
		}
		var ae *attemptError
		if attempt > w.cfg.Retries || ctx.Err() != nil || errors.As(err, &ae) && ae.final {
			break
		}
		d := w.backoff(attempt)
		w.log.Debug("alert webhook attempt failed; retrying", append(attrs, "attempt", attempt, "retry_in", d, "err", err)...)
		if !w.wait(ctx, d) {
			break
		}
	}
	w.log.Warn("alert webhook notification failed", append(attrs, "attempts", attempt, "err", err)...)
	return err
}

// backoff returns the wait after the given failed attempt (from 1).
func (w *Webhook) backoff(attempt int) time.Duration {
	return backoff(w.cfg.Backoff, attempt)
}

// post makes one attempt to POST body, within the configured timeout.
func (w *Webhook) post(ctx context.Context, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, w.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url, bytes.NewReader(body))
	if err != nil {
		return &attemptError{final: true, err: fmt.Errorf("building request to alert webhook %s: %w", w.name, err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "gofailover-alert")
	resp, err := w.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its URL may hold a secret
		}
		return fmt.Errorf("posting alert to webhook %s: %w", w.name, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxWebhookBody))
	if code := resp.StatusCode; code < 200 || code > 299 {
		retry := code >= 500 || code == http.StatusRequestTimeout || code == http.StatusTooManyRequests
		return &attemptError{final: !retry, err: fmt.Errorf("alert webhook %s answered %s", w.name, resp.Status)}
	}
	return nil
}

// attemptError is a failed attempt that says whether to try again.
type attemptError struct {
	final bool // retrying cannot help
	err   error
}

func (e *attemptError) Error() string { return e.err.Error() }
func (e *attemptError) Unwrap() error { return e.err }
