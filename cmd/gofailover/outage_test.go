package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofailover/gofailover/cache"
	"github.com/gofailover/gofailover/health"
	"github.com/gofailover/gofailover/health/alert"
	"github.com/gofailover/gofailover/health/history"
	"github.com/gofailover/gofailover/proxy"
	"github.com/gofailover/gofailover/proxy/mirrortest"
	"github.com/gofailover/gofailover/proxy/statuspage"
	"github.com/gofailover/gofailover/proxy/upstream"
)

// noCache and noRequests stand in for the cache and the handler of a
// server that answered nothing yet.
type (
	noCache    struct{}
	noRequests struct{}
)

func (noCache) Stats() cache.Stats    { return cache.Stats{} }
func (noRequests) Stats() proxy.Stats { return proxy.Stats{} }

// TestThirteenMinuteOutage kills the preferred mirror (it hangs up: no
// answer, so no latency) for 13 minutes on a fake clock, probed every 10
// seconds, with the history recorded and the alerts evaluated at each
// tick, as the server does. However often the breaker tried the mirror
// again meanwhile, the episode starts at the first failed probe, and the
// page, /status.json, the CLI text, the alert and the headline all say
// so; the plots have no latency where nothing answered (no 0 ms line), an
// error rate that never dips to 0%, and no traffic share without traffic;
// the availability strips are down from the breaker's opening on.
func TestThirteenMinuteOutage(t *testing.T) {
	mods := mirrortest.TestdataModules(t)
	sick := mirrortest.NewMirror(nil, mods...)
	good := mirrortest.NewMirror(nil, mods...)
	t.Cleanup(sick.Close)
	t.Cleanup(good.Close)
	var dead atomic.Bool
	target, err := url.Parse(sick.URL())
	if err != nil {
		t.Fatal(err)
	}
	relay := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if dead.Load() {
			mirrortest.HangUp(w, r)
			return
		}
		relay.ServeHTTP(w, r)
	}))
	front.Config.ErrorLog = mirrortest.QuietLog()
	front.Start()
	t.Cleanup(front.Close)

	ups, err := health.NewUpstreams([]string{front.URL, good.URL()}, health.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 29, 20, 30, 0, 0, time.UTC)
	clock := health.NewFakeClock(start)
	pool := health.NewPool(ups, health.Config{FailureThreshold: 3, OpenBackoff: 30 * time.Second,
		MaxOpenBackoff: 2 * time.Minute, HalfOpenSuccesses: 1}, clock)
	hist := history.New(history.Config{})
	engine := alert.NewEngine(alert.Config{For: time.Minute}, alert.Notifiers{}, nil)
	src := &statusSource{pools: pools{public: pool}, history: hist, alerts: engine, store: noCache{}, handler: noRequests{},
		started: start, window: 5 * time.Minute, now: clock.Now}
	prober := health.NewProber(pool, health.ProbeConfig{Module: "example.com/lib", Version: "v1.0.0"}, upstream.New(upstream.Config{}), clock)
	ctx := t.Context()
	tick := func() {
		clock.Advance(10 * time.Second)
		prober.ProbeOnce(ctx)
		hist.Record(clock.Now(), pool.Snapshot())
		engine.Evaluate(clock.Now(), pool.Snapshot())
	}

	for range 30 { // five healthy minutes
		tick()
	}
	dead.Store(true)
	died := clock.Now().Add(10 * time.Second) // the next probe is the first to fail
	var opened time.Time                      // when the breaker first opened
	sinces := map[time.Time]bool{}
	for range 13*6 + 1 {
		tick()
		st := pool.Snapshot()[0]
		if st.State.Down() {
			if opened.IsZero() {
				opened = clock.Now()
			}
			sinces[st.Since] = true
		}
	}
	now := clock.Now()
	if opened.IsZero() || len(sinces) < 3 {
		t.Fatalf("the breaker opened at %v and took %d states: want an outage with several breaker trials", opened, len(sinces))
	}
	st := pool.Snapshot()[0]
	if !st.State.Down() || !st.EpisodeSince.Equal(died) || !st.Since.After(died.Add(time.Minute)) {
		t.Fatalf("after 13 minutes: %s since %v, episode since %v; want down since the first failure %v, the state later",
			st.State, st.Since, st.EpisodeSince, died)
	}
	stateWord := string(st.State)

	// The page and its JSON.
	page := httptest.NewServer(statuspage.Handler(src))
	t.Cleanup(page.Close)
	get := func(path string) string {
		t.Helper()
		resp, err := http.Get(page.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %v %s", path, err, resp.Status)
		}
		return string(b)
	}
	var rep statuspage.Report
	if err := json.Unmarshal([]byte(get("/status.json")), &rep); err != nil {
		t.Fatal(err)
	}
	u := rep.Upstreams[0]
	if u.State != stateWord || !u.EpisodeSince.Equal(died) || !u.Since.Equal(st.Since) {
		t.Errorf("/status.json: %s since %v, episode since %v; want %s, episode since %v", u.State, u.Since, u.EpisodeSince, stateWord, died)
	}
	var down *statuspage.Alert
	for i, a := range rep.Alerts {
		if a.Rule == string(alert.UpstreamDown) && a.Upstream == front.URL {
			down = &rep.Alerts[i]
		}
	}
	if down == nil || down.State != "firing" || !down.Since.Equal(died) || !strings.Contains(down.Summary, "is down since 20:35:10 UTC") ||
		strings.Contains(down.Summary, "(open)") {
		t.Errorf("upstream_down alert %+v: want firing since the first failure %v", down, died)
	}

	// Plots: nothing known is drawn as 0.
	hour := rep.Ranges[0]
	step := time.Duration(hour.Step * float64(time.Second))
	var after int
	for _, p := range hour.Series[0].Points {
		if p.Missing {
			continue
		}
		if !p.TrafficMissing {
			t.Errorf("%v: traffic share %v without any request", p.T, p.TrafficShare)
		}
		if p.T.Before(died) {
			if p.LatencyMissing || p.P50 <= 0 {
				t.Errorf("%v: healthy, but latency %v (missing %v)", p.T, p.P50, p.LatencyMissing)
			}
			continue
		}
		after++
		if !p.LatencyMissing && (p.P50 <= 0 || !p.T.Before(opened.Add(time.Minute))) {
			// The window holds the latencies of the last minute's
			// answers; after that, nothing answered.
			t.Errorf("%v: dead, but latency %v s", p.T, p.P50)
		}
		if !p.ErrorRateMissing && p.ErrorRate == 0 {
			t.Errorf("%v: dead, but an error rate of 0", p.T)
		}
	}
	if after < 13*6-1 {
		t.Errorf("%d points since the mirror died, want %d", after, 13*6)
	}

	// The CLI's text.
	var text strings.Builder
	if err := statuspage.WriteText(&text, rep); err != nil {
		t.Fatal(err)
	}
	if want := "down since 20:35:10 (13m)"; !strings.Contains(text.String(), want) {
		t.Errorf("text lacks %q:\n%s", want, text.String())
	}

	// The page: the row, the headline, and the strips.
	html := get("/")
	for _, want := range []string{
		"down since 20:35:10", stateWord + " since " + st.Since.Format("15:04:05"),
		front.URL + " " + stateWord + ", down for 13m",
		"20:35:20–20:35:30: degraded", opened.Format("15:04:05") + "–" + opened.Add(step).Format("15:04:05") + ": down (open)",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(html, "is down (open)") {
		t.Errorf("page names a breaker state in the alert")
	}
	strip := regexp.MustCompile(`(?s)<div class="avail" data-upstream="` + regexp.QuoteMeta(front.URL) + `">.*?</div>`).FindString(html)
	svgs := regexp.MustCompile(`(?s)<svg class="strip".*?</svg>`).FindAllString(strip, -1)
	if len(svgs) != 2 {
		t.Fatalf("%d strips of the dead mirror, want the last hour's and the last day's", len(svgs))
	}
	wantDown := int(now.Sub(opened)/step) + 1
	if n := strings.Count(svgs[0], `data-state="down"`); n != wantDown {
		t.Errorf("last hour: %d slots down, want %d (from %v on)", n, wantDown, opened)
	}
	if n := strings.Count(svgs[0], `data-state="healthy"`); n < 29 {
		t.Errorf("last hour: %d slots healthy before the outage, want 29 or more", n)
	}
	if n := strings.Count(svgs[1], `data-state="down"`); n != 3 { // 20:35, 20:40 and 20:45
		t.Errorf("last day: %d slots down, want 3", n)
	}
}
