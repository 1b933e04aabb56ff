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
	"strings"
	"sync"
	"time"

	"github.com/gofailover/gofailover/health"
)

// Alertmanager defaults.
const (
	// DefaultAlertmanagerResend is how often firing alerts are sent again.
	DefaultAlertmanagerResend = time.Minute
	// DefaultAlertmanagerEndsAfter is how far ahead of a send a firing
	// alert's endsAt is put: Alertmanager resolves it by itself then if
	// no further send comes (gofailover stopped, or cannot reach it).
	DefaultAlertmanagerEndsAfter = 4 * time.Minute
	// alertmanagerPath is where Alertmanager's API v2 takes alerts.
	alertmanagerPath = "/api/v2/alerts"
)

// AlertmanagerConfig configures an Alertmanager notifier. A zero field
// means its default.
type AlertmanagerConfig struct {
	// URLs are the Alertmanagers, each an absolute http or https URL:
	// its base (alerts are POSTed to URL/api/v2/alerts), or that full
	// path. Every one of them gets every alert, as Prometheus does with a
	// cluster of Alertmanagers. At least one is required. Logs and errors
	// show only their scheme and host.
	URLs []string
	// Instance is the value of every alert's instance label: which
	// gofailover it is about. Required.
	Instance string
	// GeneratorURL, if set, is every alert's generatorURL: where to look,
	// such as the status page.
	GeneratorURL string
	// Resend is how often the firing alerts are sent again while they
	// fire; Alertmanager expects it. Default 1m.
	Resend time.Duration
	// EndsAfter is how far after a send the endsAt of a firing alert is
	// put, so that Alertmanager resolves it by itself if the sends stop.
	// It should be a few times Resend. Default 4m.
	EndsAfter time.Duration
	// Timeout, Retries and Backoff bound each POST as for a Webhook:
	// defaults 10s, 3 and 1s.
	Timeout time.Duration
	Retries int
	Backoff time.Duration
	// QueueSize bounds the batches waiting to be sent to each
	// Alertmanager; when it is full, the oldest is dropped (the next
	// resend makes up for it). Default 100.
	QueueSize int
	// Client sends the requests; nil means http.DefaultClient.
	Client Doer
	// Logger receives a warning for each batch dropped or given up on,
	// and debug for each attempt; nil discards them.
	Logger *slog.Logger
}

// Alertmanager is a Notifier and Refresher that sends alerts to
// Prometheus Alertmanager's API v2: a firing alert when it fires and then
// every Resend while it fires (at the first evaluation Resend after its
// last send), with endsAt EndsAfter ahead; a resolved one
// once, with endsAt set to when it resolved. Notify and Refresh only
// queue; Run sends, to each Alertmanager from its own queue, so that one
// that is down or hangs holds up nothing but its own queue.
type Alertmanager struct {
	cfg     AlertmanagerConfig
	log     *slog.Logger
	targets []*amTarget

	mu   sync.Mutex
	sent map[key]time.Time // when each firing alert was last sent

	// wait waits d or until ctx is done, reporting whether d passed.
	wait func(ctx context.Context, d time.Duration) bool
}

// amTarget is one Alertmanager and its queue of JSON bodies to POST.
type amTarget struct {
	url  string // to POST to
	name string // scheme and host, for logs and errors
	q    *queue[[]byte]
}

// AMAlert is one alert as Alertmanager's API v2 takes it
// (postableAlert).
type AMAlert struct {
	// Labels identify the alert: alertname, severity, instance and,
	// for an alert about one upstream, upstream.
	Labels map[string]string `json:"labels"`
	// Annotations describe it: summary and description.
	Annotations map[string]string `json:"annotations"`
	// StartsAt is when its condition began to hold.
	StartsAt time.Time `json:"startsAt"`
	// EndsAt is when it resolved, or, while it fires, when Alertmanager
	// is to take it as resolved unless sent it again.
	EndsAt time.Time `json:"endsAt"`
	// GeneratorURL is AlertmanagerConfig.GeneratorURL.
	GeneratorURL string `json:"generatorURL,omitempty"`
}

// NewAlertmanager returns an Alertmanager notifier configured by cfg, or
// an error if cfg has no URL, a URL that is not an absolute http or https
// one, or no Instance.
func NewAlertmanager(cfg AlertmanagerConfig) (*Alertmanager, error) {
	if len(cfg.URLs) == 0 {
		return nil, errors.New("alertmanager: no URL")
	}
	if cfg.Instance == "" {
		return nil, errors.New("alertmanager: no instance label")
	}
	var targets []*amTarget
	for _, raw := range cfg.URLs {
		u, err := url.Parse(strings.TrimSpace(raw))
		if err != nil {
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err // its URL may hold a secret
			}
			return nil, fmt.Errorf("alertmanager URL: %w", err)
		}
		if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("alertmanager URL %s://%s…: must be an absolute http or https URL", u.Scheme, u.Host)
		}
		if !strings.HasSuffix(strings.TrimRight(u.Path, "/"), alertmanagerPath) {
			u.Path = strings.TrimRight(u.Path, "/") + alertmanagerPath
			u.RawPath = ""
		}
		targets = append(targets, &amTarget{url: u.String(), name: u.Scheme + "://" + u.Host})
	}
	if cfg.Resend <= 0 {
		cfg.Resend = DefaultAlertmanagerResend
	}
	if cfg.EndsAfter <= 0 {
		cfg.EndsAfter = DefaultAlertmanagerEndsAfter
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
	for _, t := range targets {
		t.q = newQueue[[]byte](cfg.QueueSize)
	}
	return &Alertmanager{cfg: cfg, log: cfg.Logger, targets: targets, sent: make(map[key]time.Time), wait: health.Sleep}, nil
}

// Notify queues a firing or resolved alert for every Alertmanager. It
// never blocks.
func (m *Alertmanager) Notify(t Transition) {
	k := key{t.Alert.Rule, t.Alert.Upstream}
	switch t.To {
	case Firing:
		m.mu.Lock()
		m.sent[k] = t.At
		m.mu.Unlock()
		m.send(t.At, []AMAlert{m.amAlert(t.Alert, t.At.Add(m.cfg.EndsAfter))})
	case Resolved:
		m.mu.Lock()
		delete(m.sent, k)
		m.mu.Unlock()
		m.send(t.At, []AMAlert{m.amAlert(t.Alert, t.Alert.ResolvedAt)})
	}
}

// Refresh queues for every Alertmanager, in one batch, the firing alerts
// last sent Resend or more before now, with endsAt moved ahead. It never
// blocks.
func (m *Alertmanager) Refresh(now time.Time, firing []Alert) {
	var batch []AMAlert
	m.mu.Lock()
	live := make(map[key]bool, len(firing))
	for _, a := range firing {
		k := key{a.Rule, a.Upstream}
		live[k] = true
		if last, ok := m.sent[k]; ok && now.Sub(last) < m.cfg.Resend {
			continue
		}
		m.sent[k] = now
		batch = append(batch, m.amAlert(a, now.Add(m.cfg.EndsAfter)))
	}
	for k := range m.sent {
		if !live[k] {
			delete(m.sent, k)
		}
	}
	m.mu.Unlock()
	if len(batch) > 0 {
		m.send(now, batch)
	}
}

// amAlert returns a as Alertmanager takes it, ending at endsAt.
func (m *Alertmanager) amAlert(a Alert, endsAt time.Time) AMAlert {
	labels := map[string]string{
		"alertname": string(a.Rule),
		"severity":  string(a.Severity),
		"instance":  m.cfg.Instance,
	}
	if a.Upstream != "" {
		labels["upstream"] = a.Upstream
	}
	desc := fmt.Sprintf("gofailover %s: %s (%s) since %s; value %g, threshold %g.",
		m.cfg.Instance, a.Rule, a.Severity, utc(a.ActiveAt).Format(time.RFC3339), finite(a.Value), finite(a.Threshold))
	if !a.FiredAt.IsZero() {
		desc += " Firing since " + utc(a.FiredAt).Format(time.RFC3339) + "."
	}
	if !a.ResolvedAt.IsZero() {
		desc += " Resolved at " + utc(a.ResolvedAt).Format(time.RFC3339) + "."
	}
	return AMAlert{
		Labels:       labels,
		Annotations:  map[string]string{"summary": a.Summary, "description": desc},
		StartsAt:     utc(a.ActiveAt),
		EndsAt:       utc(endsAt),
		GeneratorURL: m.cfg.GeneratorURL,
	}
}

// send queues batch for every Alertmanager, dropping the oldest batch of
// a full queue with a warning.
func (m *Alertmanager) send(now time.Time, batch []AMAlert) {
	body, err := json.Marshal(batch)
	if err != nil {
		m.log.Warn("alertmanager batch dropped", "alerts", len(batch), "err", fmt.Errorf("encoding alerts: %w", err))
		return
	}
	for _, t := range m.targets {
		if _, full := t.q.push(body); full {
			m.log.Warn("alertmanager queue is full; dropping the oldest batch",
				"alertmanager", t.name, "queue_size", m.cfg.QueueSize, "at", now)
		}
	}
}

// Run sends the queued batches to every Alertmanager until ctx is done,
// one goroutine per Alertmanager, and returns once they have all stopped,
// abandoning attempts in flight and whatever is still queued.
func (m *Alertmanager) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, t := range m.targets {
		wg.Go(func() { m.run(ctx, t) })
	}
	wg.Wait()
}

// run sends t's queue until ctx is done.
func (m *Alertmanager) run(ctx context.Context, t *amTarget) {
	for {
		select {
		case <-ctx.Done():
			if n := t.q.len(); n > 0 {
				m.log.Warn("alertmanager notifier stopped with batches unsent", "alertmanager", t.name, "unsent", n)
			}
			return
		case <-t.q.ready:
		}
		for ctx.Err() == nil {
			body, ok := t.q.pop()
			if !ok {
				break
			}
			_ = m.deliver(ctx, t, body) // logged
		}
	}
}

// deliver POSTs body to t, retrying with backoff as configured, and logs
// the outcome.
func (m *Alertmanager) deliver(ctx context.Context, t *amTarget, body []byte) error {
	var err error
	attempt := 1
	for ; ; attempt++ {
		err = m.post(ctx, t, body)
		if err == nil {
			m.log.Debug("alertmanager notified", "alertmanager", t.name, "attempts", attempt)
			return nil
		}
		var ae *attemptError
		if attempt > m.cfg.Retries || ctx.Err() != nil || errors.As(err, &ae) && ae.final {
			break
		}
		d := backoff(m.cfg.Backoff, attempt)
		m.log.Debug("alertmanager attempt failed; retrying", "alertmanager", t.name, "attempt", attempt, "retry_in", d, "err", err)
		if !m.wait(ctx, d) {
			break
		}
	}
	m.log.Warn("alertmanager notification failed", "alertmanager", t.name, "attempts", attempt, "err", err)
	return err
}

// post makes one attempt to POST body to t, within the configured timeout.
func (m *Alertmanager) post(ctx context.Context, t *amTarget, body []byte) error {
	ctx, cancel := context.WithTimeout(ctx, m.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.url, bytes.NewReader(body))
	if err != nil {
		return &attemptError{final: true, err: fmt.Errorf("building request to alertmanager %s: %w", t.name, err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "gofailover-alert")
	resp, err := m.cfg.Client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // its URL may hold a secret
		}
		return fmt.Errorf("posting alerts to alertmanager %s: %w", t.name, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, maxWebhookBody))
	if code := resp.StatusCode; code < 200 || code > 299 {
		retry := code >= 500 || code == http.StatusRequestTimeout || code == http.StatusTooManyRequests
		return &attemptError{final: !retry, err: fmt.Errorf("alertmanager %s answered %s: %.200s", t.name, resp.Status, bytes.TrimSpace(msg))}
	}
	return nil
}

// backoff returns the wait after the given failed attempt (from 1): first,
// doubled for each further attempt, at most 5m.
func backoff(first time.Duration, attempt int) time.Duration {
	d := first
	for i := 1; i < attempt && d < maxWebhookBackoff; i++ {
		d *= 2
	}
	return min(d, maxWebhookBackoff)
}
