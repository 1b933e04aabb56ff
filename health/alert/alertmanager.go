package alert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
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
	targets []*sender // one per Alertmanager

	mu   sync.Mutex
	sent map[key]time.Time // when each firing alert was last sent
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
	if cfg.Resend <= 0 {
		cfg.Resend = DefaultAlertmanagerResend
	}
	if cfg.EndsAfter <= 0 {
		cfg.EndsAfter = DefaultAlertmanagerEndsAfter
	}
	dc := deliveryConfig{Timeout: cfg.Timeout, Retries: cfg.Retries, Backoff: cfg.Backoff,
		QueueSize: cfg.QueueSize, Client: cfg.Client, Logger: cfg.Logger}.withDefaults()
	var targets []*sender
	for _, raw := range cfg.URLs {
		u, err := parseEndpoint("alertmanager", strings.TrimSpace(raw))
		if err != nil {
			return nil, err
		}
		if !strings.HasSuffix(strings.TrimRight(u.Path, "/"), alertmanagerPath) {
			u.Path = strings.TrimRight(u.Path, "/") + alertmanagerPath
			u.RawPath = ""
		}
		targets = append(targets, newSender("alertmanager", u, dc))
	}
	return &Alertmanager{cfg: cfg, log: dc.Logger, targets: targets, sent: make(map[key]time.Time)}, nil
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
	switch {
	case a.Rule == SharedStoreDown:
		labels["store"] = a.Upstream
	case a.Upstream != "":
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
		t.enqueue(delivery{body: body, attrs: []any{"alerts", len(batch), "at", now}})
	}
}

// Run sends the queued batches to every Alertmanager until ctx is done,
// one goroutine per Alertmanager, and returns once they have all stopped,
// abandoning attempts in flight and whatever is still queued.
func (m *Alertmanager) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for _, t := range m.targets {
		wg.Go(func() { t.run(ctx) })
	}
	wg.Wait()
}
