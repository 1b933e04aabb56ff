package clientlimit_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofailover/gofailover/proxy/clientlimit"

	"github.com/gofailover/gofailover/proxy/mirrortest"
)

// fakeClock is a settable clock.
type fakeClock struct{ ns atomic.Int64 }

func (c *fakeClock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// warnings decodes the overload warnings logged so far.
func warnings(t *testing.T, logs *mirrortest.SyncBuffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, l := range lines(logs, `"level":"WARN"`) {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

// TestOverloadIsLoggedOncePerInterval refuses connections at the cap and
// shows one warning per interval, each with the counts since the last,
// the first at once and the rest from Run; nothing new, no warning.
func TestOverloadIsLoggedOncePerInterval(t *testing.T) {
	clock := &fakeClock{}
	clock.ns.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	const interval = 50 * time.Millisecond // also Run's tick, in real time
	release := make(chan struct{})
	busy := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { <-release })
	r := newRig(t, clientlimit.Config{MaxConns: 1, LogInterval: interval, Now: clock.now}, busy, nil)
	defer close(release)
	holder := r.dial(t)
	io.WriteString(holder.c, "GET / HTTP/1.1\r\nHost: test\r\n\r\n")
	holder.waitState(r.active)
	refuse := func(n int) {
		before := r.ln.Stats().Refused
		for range n {
			if c := r.dial(t); !c.closedWithin(5 * time.Second) {
				t.Fatal("a connection past the cap was not refused")
			}
		}
		waitFor(t, func() bool { return r.ln.Stats().Refused >= before+uint64(n) }, func() string { return "refusals not counted" })
	}

	refuse(1)
	// The refusal is counted, then logged.
	waitFor(t, func() bool { return len(warnings(t, r.logs)) > 0 }, func() string { return "the first refusal was not logged" })
	if w := warnings(t, r.logs); len(w) != 1 || w[0]["refused"] != 1.0 || w[0]["max"] != 1.0 {
		t.Fatalf("after the first refusal: warnings %v, want one at once with refused=1 max=1", w)
	}
	refuse(4)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { r.ln.Run(ctx) })
	defer func() { cancel(); wg.Wait() }()
	time.Sleep(5 * interval) // Run ticks, but the interval has not passed on the clock
	if w := warnings(t, r.logs); len(w) != 1 {
		t.Fatalf("within the interval: %d warnings, want still 1: %v", len(w), w)
	}
	clock.advance(interval)
	waitFor(t, func() bool { return len(warnings(t, r.logs)) == 2 }, func() string { return "Run did not log the refusals left for later" })
	if w := warnings(t, r.logs)[1]; w["refused"] != 4.0 {
		t.Errorf("second warning %v, want refused=4 (those since the first)", w)
	}
	clock.advance(interval)
	time.Sleep(5 * interval)
	if w := warnings(t, r.logs); len(w) != 2 {
		t.Errorf("nothing new, yet %d warnings: %v", len(w), w)
	}
	if st := r.ln.Stats(); st.Refused != 5 {
		t.Errorf("refused %d, want 5", st.Refused)
	}
}
