package alert

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// firing returns a firing transition of upstream_down.
func firing(upstream string) Transition {
	a := Alert{Rule: UpstreamDown, Upstream: upstream, Severity: P1, State: Firing,
		Since: at(time.Minute), ActiveAt: at(0), FiredAt: at(time.Minute), Value: 1, Threshold: 1, Summary: "down"}
	return Transition{Alert: a, From: Pending, To: Firing, At: at(time.Minute)}
}

// newTestWebhook returns a Webhook configured by cfg whose waits between retries
// do not wait but are recorded.
func newTestWebhook(t *testing.T, cfg WebhookConfig) (*Webhook, *[]time.Duration) {
	t.Helper()
	w, err := NewWebhook(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var waits []time.Duration
	w.s.wait = func(ctx context.Context, d time.Duration) bool {
		waits = append(waits, d)
		return ctx.Err() == nil
	}
	return w, &waits
}

func TestWebhookPayloads(t *testing.T) {
	bodies := make(chan []byte, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s with Content-Type %q", r.Method, r.Header.Get("Content-Type"))
		}
		b, _ := io.ReadAll(r.Body)
		bodies <- b
	}))
	defer srv.Close()
	w, err := NewWebhook(WebhookConfig{URL: srv.URL + "/hook"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { w.Run(ctx) })
	defer wg.Wait()
	defer cancel()

	e := NewEngine(Config{For: time.Minute}, w, nil)
	ups := testUpstreams(2)
	e.Evaluate(at(0), statuses(ups, healthy, open))
	e.Evaluate(at(time.Minute), statuses(ups, healthy, open))
	e.Evaluate(at(90*time.Second), statuses(ups, healthy, healthy))

	for _, want := range []struct {
		status, from string
		endsAt       bool
		at           time.Time
	}{
		{"firing", "pending", false, at(time.Minute)},
		{"resolved", "firing", true, at(90 * time.Second)},
	} {
		b := <-bodies
		var raw map[string]any
		if err := json.Unmarshal(b, &raw); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		check := map[string]any{
			"version": 1.0, "source": "gofailover", "status": want.status, "from": want.from, "to": want.status,
			"rule": "upstream_down", "severity": "P2", "upstream": ups[1].Name, "value": 1.0, "threshold": 1.0,
			"active_at": "2025-01-01T00:00:00Z", "starts_at": "2025-01-01T00:01:00Z",
		}
		for k, v := range check {
			if raw[k] != v {
				t.Errorf("%s payload: %s = %v, want %v", want.status, k, raw[k], v)
			}
		}
		if _, ok := raw["ends_at"]; ok != want.endsAt {
			t.Errorf("%s payload: ends_at present = %v", want.status, ok)
		}
		if s, _ := raw["summary"].(string); !strings.Contains(s, ups[1].Name) {
			t.Errorf("%s payload: summary %q", want.status, s)
		}
		var p Payload
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatal(err)
		}
		if want.endsAt && !p.EndsAt.Equal(want.at) || !p.At.Equal(want.at) {
			t.Errorf("%s payload times: %+v", want.status, p)
		}
	}
}

func TestWebhookRetriesThenSucceeds(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 2 {
			http.Error(rw, "busy", http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	log, buf := testLogger()
	w, waits := newTestWebhook(t, WebhookConfig{URL: srv.URL, Retries: 3, Backoff: time.Second, Logger: log})
	if err := w.deliver(context.Background(), firing("u")); err != nil {
		t.Fatalf("deliver: %v", err)
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("%d attempts, want 3", n)
	}
	if got := *waits; len(got) != 2 || got[0] != time.Second || got[1] != 2*time.Second {
		t.Errorf("waits %v, want [1s 2s]", got)
	}
	if strings.Contains(buf.String(), "level=WARN") {
		t.Errorf("warned on success:\n%s", buf)
	}
}

func TestWebhookGivesUp(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		http.Error(rw, "down", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	log, buf := testLogger()
	w, waits := newTestWebhook(t, WebhookConfig{URL: srv.URL + "/hooks/s3cr3t", Retries: 2, Logger: log})
	err := w.deliver(context.Background(), firing("u"))
	if err == nil || calls.Load() != 3 || len(*waits) != 2 {
		t.Errorf("deliver = %v after %d attempts and waits %v; want an error after 3", err, calls.Load(), *waits)
	}
	if !strings.Contains(buf.String(), `level=WARN msg="alert webhook notification failed"`) {
		t.Errorf("no warning:\n%s", buf)
	}
	if strings.Contains(buf.String(), "s3cr3t") || strings.Contains(err.Error(), "s3cr3t") {
		t.Errorf("the URL's secret leaked: %v\n%s", err, buf)
	}
}

func TestWebhookFinalAnswerNotRetried(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		http.Error(rw, "no such hook", http.StatusNotFound)
	}))
	defer srv.Close()
	w, _ := newTestWebhook(t, WebhookConfig{URL: srv.URL})
	if err := w.deliver(context.Background(), firing("u")); err == nil || calls.Load() != 1 {
		t.Errorf("deliver = %v after %d attempts, want an error after 1", err, calls.Load())
	}
}

// errDoer fails every request with a *url.Error naming the request's URL.
type errDoer struct{}

func (errDoer) Do(r *http.Request) (*http.Response, error) {
	return nil, &url.Error{Op: "Post", URL: r.URL.String(), Err: errors.New("connection refused")}
}

func TestWebhookClientErrorHidesURL(t *testing.T) {
	w, _ := newTestWebhook(t, WebhookConfig{URL: "http://127.0.0.1:9/hooks/s3cr3t", Retries: -1, Client: errDoer{}})
	err := w.deliver(context.Background(), firing("u"))
	if err == nil || strings.Contains(err.Error(), "s3cr3t") || !strings.Contains(err.Error(), "http://127.0.0.1:9") {
		t.Errorf("deliver = %v", err)
	}
}

func TestNewWebhookRejectsBadURL(t *testing.T) {
	for _, u := range []string{"", "127.0.0.1:9/hook", "ftp://127.0.0.1/hook", "http:///hook", "http://127.0.0.1/%zz-s3cr3t"} {
		_, err := NewWebhook(WebhookConfig{URL: u})
		if err == nil {
			t.Errorf("NewWebhook(%q) succeeded", u)
		} else if strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("NewWebhook(%q) = %v: the secret leaked", u, err)
		}
	}
}

// hangingServer returns a server whose handler blocks until the request
// is abandoned or the test ends, and a channel that receives a value as
// each request arrives.
func hangingServer(t *testing.T) (*httptest.Server, chan struct{}) {
	arrived := make(chan struct{}, 100)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs before srv.Close
	return srv, arrived
}

func TestWebhookTimeoutApplies(t *testing.T) {
	srv, arrived := hangingServer(t)
	w, _ := newTestWebhook(t, WebhookConfig{URL: srv.URL, Timeout: 50 * time.Millisecond, Retries: 1})
	err := w.deliver(context.Background(), firing("u"))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("deliver = %v, want a timeout", err)
	}
	if n := len(arrived); n != 2 {
		t.Errorf("%d attempts, want 2: the timeout cuts each one short", n)
	}
}

func TestHangingWebhookBlocksNothing(t *testing.T) {
	srv, arrived := hangingServer(t)
	log, buf := testLogger()
	w, err := NewWebhook(WebhookConfig{URL: srv.URL, Timeout: time.Hour, QueueSize: 3, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.Run(ctx)
	}()

	w.Notify(firing("first"))
	<-arrived // Run is now stuck in the first POST.

	// The engine evaluates and notifies without waiting for the webhook,
	// and Notify keeps returning once the queue is full.
	e := NewEngine(Config{For: -1}, w, nil)
	ups := testUpstreams(2)
	e.Evaluate(at(0), statuses(ups, open, open))
	for i := range 10 {
		w.Notify(firing("u" + string(rune('a'+i))))
	}
	if n := w.s.q.len(); n != 3 {
		t.Errorf("queue holds %d, want its size, 3", n)
	}
	if n := strings.Count(buf.String(), "alert webhook queue is full"); n != 10 {
		t.Errorf("%d drops logged, want 10:\n%s", n, buf)
	}
	var kept []string
	w.s.q.mu.Lock()
	for _, q := range w.s.q.items {
		kept = append(kept, fmt.Sprint(q.attrs[3])) // "upstream", its name
	}
	w.s.q.mu.Unlock()
	if strings.Join(kept, ",") != "uh,ui,uj" {
		t.Errorf("queue kept %v, want the newest three", kept)
	}

	cancel()
	<-done // Run returns though its POST hangs and its timeout is an hour.
}

func TestWebhookRunIdleStops(t *testing.T) {
	w, err := NewWebhook(WebhookConfig{URL: "http://127.0.0.1:9/hook"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	w.Run(ctx) // returns at once
}

func TestWebhookBackoffCapped(t *testing.T) {
	w, _ := newTestWebhook(t, WebhookConfig{URL: "http://127.0.0.1:9/hook", Backoff: time.Second})
	if d := w.s.backoff(1); d != time.Second {
		t.Errorf("backoff(1) = %v", d)
	}
	if d := w.s.backoff(3); d != 4*time.Second {
		t.Errorf("backoff(3) = %v", d)
	}
	if d := w.s.backoff(200); d != maxWebhookBackoff {
		t.Errorf("backoff(200) = %v, want the cap", d)
	}
}
