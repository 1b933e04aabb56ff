package alert

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"
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
	s *sender
}

// NewWebhook returns a Webhook configured by cfg, or an error if cfg.URL
// is not an absolute http or https URL.
func NewWebhook(cfg WebhookConfig) (*Webhook, error) {
	u, err := parseEndpoint("alert webhook", cfg.URL)
	if err != nil {
		return nil, err
	}
	dc := deliveryConfig{Timeout: cfg.Timeout, Retries: cfg.Retries, Backoff: cfg.Backoff,
		QueueSize: cfg.QueueSize, Client: cfg.Client, Logger: cfg.Logger}.withDefaults()
	return &Webhook{s: newSender("alert webhook", u, dc)}, nil
}

// Notify queues t for Run to send. It never blocks: when the queue is full
// it drops the oldest notification, with a warning.
func (w *Webhook) Notify(t Transition) {
	d, err := w.delivery(t)
	if err != nil {
		w.s.log.Warn("alert webhook notification dropped", "webhook", w.s.name, "err", err)
		return
	}
	w.s.enqueue(d)
}

// Run sends the queued notifications until ctx is done, and then returns,
// abandoning an attempt in flight and whatever is still queued.
func (w *Webhook) Run(ctx context.Context) { w.s.run(ctx) }

// delivery is t as the webhook sends it: its Payload as JSON.
func (w *Webhook) delivery(t Transition) (delivery, error) {
	body, err := json.Marshal(NewPayload(t))
	if err != nil {
		return delivery{}, fmt.Errorf("encoding alert for webhook %s: %w", w.s.name, err)
	}
	return delivery{body: body, attrs: []any{"rule", t.Alert.Rule, "upstream", t.Alert.Upstream, "to", t.To, "at", t.At}}, nil
}

// deliver POSTs t now, retrying as configured, and logs the outcome.
func (w *Webhook) deliver(ctx context.Context, t Transition) error {
	d, err := w.delivery(t)
	if err != nil {
		return err
	}
	return w.s.deliver(ctx, d)
}
