package alert

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/gofailover/gofailover/health"
)

// at returns the test time d after the start of a test.
func at(d time.Duration) time.Time {
	return time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(d)
}

// testUpstreams returns n upstreams named after 127.0.0.1 ports, ranked in
// order.
func testUpstreams(n int) []*health.Upstream {
	ups := make([]*health.Upstream, n)
	for i := range ups {
		u, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", 8081+i))
		ups[i] = &health.Upstream{Name: u.String(), URL: u, Rank: i}
	}
	return ups
}

// statuses returns one status per upstream in the given states, with
// enough samples and no errors.
func statuses(ups []*health.Upstream, states ...health.State) []health.Status {
	out := make([]health.Status, len(ups))
	for i, u := range ups {
		out[i] = health.Status{Upstream: u, State: states[i], Samples: 20}
	}
	return out
}

// recorder is a Notifier that keeps what it is told.
type recorder struct {
	mu sync.Mutex
	ts []Transition
}

func (r *recorder) Notify(t Transition) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ts = append(r.ts, t)
}

func (r *recorder) got() []Transition {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Transition(nil), r.ts...)
}

// logBuffer collects log output; it is safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testLogger returns a logger writing every level as text to a buffer.
func testLogger() (*slog.Logger, *logBuffer) {
	b := new(logBuffer)
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}

// moves summarizes transitions as "rule upstream-index from→to severity",
// upstream-index being the port's last digit minus one, or "pool".
func moves(ts []Transition) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		who := "pool"
		if t.Alert.Upstream != "" {
			who = fmt.Sprint(t.Alert.Upstream[len(t.Alert.Upstream)-1] - '1')
		}
		out[i] = fmt.Sprintf("%s %s %s→%s %s", t.Alert.Rule, who, t.From, t.To, t.Alert.Severity)
	}
	return out
}

// wantMoves fails t unless got summarizes as want.
func wantMoves(t *testing.T, when string, got []Transition, want ...string) {
	t.Helper()
	g := moves(got)
	if fmt.Sprint(g) != fmt.Sprint(want) {
		t.Errorf("%s: transitions\n got %q\nwant %q", when, g, want)
	}
}
