package health

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/semver"
)

// The probe targets the test mirrors serve.
const (
	testSumDB   = "sum.example"
	testModule  = "example.com/Foo/bar"
	testVersion = "v1.1.0"

	pathSupported = "/sumdb/sum.example/supported"
	pathList      = "/example.com/!foo/bar/@v/list"
	pathInfo      = "/example.com/!foo/bar/@v/v1.1.0.info"
	pathMod       = "/example.com/!foo/bar/@v/v1.1.0.mod"
	pathZip       = "/example.com/!foo/bar/@v/v1.1.0.zip"
	pathLatest    = "/example.com/!foo/bar/@latest"
)

func testProbeConfig() ProbeConfig {
	return ProbeConfig{SumDB: testSumDB, Module: testModule, Version: testVersion, Timeout: 2 * time.Second}
}

// mirror is an httptest upstream that answers the probe targets like a good
// mirror, except for paths given an override, and records what it was asked.
type mirror struct {
	srv *httptest.Server

	mu        sync.Mutex
	overrides map[string]http.HandlerFunc
	paths     []string
	agents    []string
	hits      map[string]int
}

func newMirror(t *testing.T) *mirror {
	t.Helper()
	m := &mirror{overrides: map[string]http.HandlerFunc{}, hits: map[string]int{}}
	m.srv = httptest.NewServer(http.HandlerFunc(m.serve))
	m.srv.Config.ErrorLog = quietLog()
	t.Cleanup(m.srv.Close)
	return m
}

func (m *mirror) serve(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	m.paths = append(m.paths, r.URL.EscapedPath())
	m.agents = append(m.agents, r.UserAgent())
	m.hits[r.URL.Path]++
	h := m.overrides[r.URL.Path]
	m.mu.Unlock()
	if h != nil {
		h(w, r)
		return
	}
	goodMirror(w, r)
}

// set makes path answer with h; nil restores the good answer.
func (m *mirror) set(path string, h http.HandlerFunc) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if h == nil {
		delete(m.overrides, path)
		return
	}
	m.overrides[path] = h
}

func (m *mirror) count(path string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.hits[path]
}

func goodMirror(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case pathSupported:
		w.WriteHeader(http.StatusOK)
	case pathList:
		io.WriteString(w, "v1.0.0\nv1.1.0\n")
	case pathInfo, pathLatest:
		io.WriteString(w, `{"Version":"v1.1.0","Time":"2024-01-02T03:04:05Z"}`)
	case pathMod:
		io.WriteString(w, "module example.com/Foo/bar\n\ngo 1.21\n")
	case pathZip:
		w.Write(testZip())
	default:
		http.Error(w, "not found: "+r.URL.Path, http.StatusNotFound)
	}
}

// testZip returns a small module zip.
func testZip() []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	f, _ := zw.Create("example.com/!foo/bar@v1.1.0/go.mod")
	io.WriteString(f, "module example.com/Foo/bar\n")
	zw.Close()
	return b.Bytes()
}

// answer answers with code, a Retry-After if given, and a one-line body.
func answer(code int, retryAfter string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		http.Error(w, http.StatusText(code), code)
	}
}

// body answers 200 with b.
func body(b string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, b) }
}

// hang answers nothing until the client goes away.
func hang(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }

// stall sends the header and part of the body, then nothing until the
// client goes away.
func stall(w http.ResponseWriter, r *http.Request) {
	io.WriteString(w, "v1.0.0\n")
	w.(http.Flusher).Flush()
	<-r.Context().Done()
}

// hangUp closes the connection without an answer.
func hangUp(w http.ResponseWriter, r *http.Request) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		conn.Close()
	}
}

// closedURL returns the URL of a 127.0.0.1 port nothing listens on.
func closedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}

func quietLog() *log.Logger { return log.New(io.Discard, "", 0) }

// testClient returns an HTTP client of its own, closed when the test ends.
func testClient(t *testing.T) *http.Client {
	c := &http.Client{Transport: &http.Transport{}}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// testProber returns a prober of a pool over the given upstream URLs, with
// a fake clock.
func testProber(t *testing.T, cfg ProbeConfig, urls ...string) (*Prober, *Pool, []*Upstream, *FakeClock) {
	t.Helper()
	ups, err := NewUpstreams(urls)
	if err != nil {
		t.Fatal(err)
	}
	clock := &FakeClock{}
	pool := NewPool(ups, Config{}, clock)
	return NewProber(pool, cfg, testClient(t), clock), pool, ups, clock
}

func TestProbeOnceHealthy(t *testing.T) {
	m := newMirror(t)
	// The mirror lives under a path prefix, behind credentials.
	mux := http.NewServeMux()
	mux.Handle("/prefix/", http.StripPrefix("/prefix", m.srv.Config.Handler))
	srv := httptest.NewServer(mux)
	defer srv.Close()
	base := strings.Replace(srv.URL, "http://", "http://user:secret@", 1) + "/prefix/"

	p, pool, ups, _ := testProber(t, testProbeConfig(), base)
	res := p.ProbeOnce(context.Background())
	if len(res) != 1 || res[0].Upstream != ups[0] {
		t.Fatalf("ProbeOnce = %+v, want one result for %s", res, ups[0].Name)
	}
	r := res[0]
	if !r.OK() {
		t.Errorf("OK() = false: %+v", r)
	}
	wantKinds := []ProbeKind{ProbeSumDB, ProbeList, ProbeInfo}
	if len(r.Endpoints) != len(wantKinds) {
		t.Fatalf("%d endpoints, want %d: %+v", len(r.Endpoints), len(wantKinds), r.Endpoints)
	}
	for i, e := range r.Endpoints {
		if e.Kind != wantKinds[i] || !e.Reported || e.Skipped || e.Outcome.Status != 200 || e.Outcome.Failure != FailNone || e.Outcome.Err != nil {
			t.Errorf("endpoint %d = %+v, want a reported 200 %s", i, e, wantKinds[i])
		}
		if strings.Contains(e.URL, "secret") || !strings.Contains(e.URL, "/prefix/") {
			t.Errorf("endpoint %d URL %q: want the redacted URL under /prefix/", i, e.URL)
		}
	}
	m.mu.Lock()
	got, agents := strings.Join(m.paths, " "), m.agents
	m.mu.Unlock()
	if want := strings.Join([]string{pathSupported, pathList, pathInfo}, " "); got != want {
		t.Errorf("mirror was asked for %s, want %s", got, want)
	}
	for _, a := range agents {
		if a != "gofailover-probe" {
			t.Errorf("User-Agent %q, want gofailover-probe", a)
		}
	}
	s := status(pool, ups[0])
	if s.Probes != 3 || s.ProbeFailures != 0 || s.State != StateHealthy {
		t.Errorf("pool status: %d requests, %d failures, %s; want 3, 0, healthy", s.Probes, s.ProbeFailures, s.State)
	}
}

func TestProbeOnceFailures(t *testing.T) {
	epoch := fakeEpoch()
	for _, tc := range []struct {
		name      string
		path      string
		h         http.HandlerFunc
		timeout   time.Duration
		want      [3]FailureKind // sumdb, list, info
		skipped   [3]bool
		status    int // of the overridden endpoint
		retry     time.Duration
		errSubstr string
	}{
		{name: "503 with Retry-After seconds", path: pathList, h: answer(503, "5"),
			want: [3]FailureKind{"", FailStatus5xx, ""}, status: 503, retry: 5 * time.Second, errSubstr: "503 Service Unavailable: Service Unavailable"},
		{name: "429 with Retry-After date skips the rest", path: pathSupported,
			h:    answer(429, epoch.Add(90*time.Second).Format(http.TimeFormat)),
			want: [3]FailureKind{FailRateLimit, "", ""}, skipped: [3]bool{false, true, true}, status: 429, retry: 90 * time.Second},
		{name: "404 is an answer", path: pathInfo, h: answer(404, ""), want: [3]FailureKind{}, status: 404},
		{name: "410 is an answer", path: pathList, h: answer(410, ""), want: [3]FailureKind{}, status: 410},
		{name: "404 for the checksum database is an answer", path: pathSupported, h: answer(404, ""), want: [3]FailureKind{}, status: 404},
		{name: "403", path: pathList, h: answer(403, ""), want: [3]FailureKind{"", FailBadStatus, ""}, status: 403},
		{name: "204", path: pathInfo, h: answer(204, ""), want: [3]FailureKind{"", "", FailBadStatus}, status: 204},
		{name: "list of HTML", path: pathList, h: body("<html><body>Sign in</body></html>\n"),
			want: [3]FailureKind{"", FailBadBody, ""}, status: 200, errSubstr: "line 1 of the list is not a version"},
		{name: "list with one bad line", path: pathList, h: body("v1.0.0\n\nv1.1.0 2024-01-02T03:04:05Z\nlatest\n"),
			want: [3]FailureKind{"", FailBadBody, ""}, status: 200, errSubstr: "line 4"},
		{name: "empty list is fine", path: pathList, h: body(""), want: [3]FailureKind{}, status: 200},
		{name: "info not JSON", path: pathInfo, h: body("<html></html>"),
			want: [3]FailureKind{"", "", FailBadBody}, status: 200, errSubstr: "not version JSON"},
		{name: "info without Version", path: pathInfo, h: body(`{"Time":"2024-01-02T03:04:05Z"}`),
			want: [3]FailureKind{"", "", FailBadBody}, status: 200},
		{name: "info of another version", path: pathInfo, h: body(`{"Version":"v1.0.0"}`),
			want: [3]FailureKind{"", "", FailBadBody}, status: 200, errSubstr: `"v1.0.0", want "v1.1.0"`},
		{name: "list too large", path: pathList, h: body(strings.Repeat("v1.0.0\n", maxProbeBody/7+1)),
			want: [3]FailureKind{"", FailTooLarge, ""}, status: 200},
		{name: "no header in time", path: pathList, h: hang, timeout: 100 * time.Millisecond,
			want: [3]FailureKind{"", FailTimeout, ""}, skipped: [3]bool{false, false, true}},
		{name: "body stalls", path: pathList, h: stall, timeout: 100 * time.Millisecond,
			want: [3]FailureKind{"", FailTimeout, ""}, status: 200},
		{name: "connection closed", path: pathSupported, h: hangUp,
			want: [3]FailureKind{FailReset, "", ""}, skipped: [3]bool{false, true, true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMirror(t)
			m.set(tc.path, tc.h)
			cfg := testProbeConfig()
			if tc.timeout > 0 {
				cfg.Timeout = tc.timeout
			}
			p, pool, ups, _ := testProber(t, cfg, m.srv.URL)
			r := p.ProbeOnce(context.Background())[0]

			reported, failures := 0, 0
			for i, e := range r.Endpoints {
				if e.Skipped != tc.skipped[i] || e.Reported == tc.skipped[i] {
					t.Errorf("%s: skipped %v reported %v, want skipped %v", e.Kind, e.Skipped, e.Reported, tc.skipped[i])
				}
				if e.Outcome.Failure != tc.want[i] {
					t.Errorf("%s: failure %q, want %q (err %v)", e.Kind, e.Outcome.Failure, tc.want[i], e.Outcome.Err)
				}
				if (e.Outcome.Failure == FailNone) != (e.Outcome.Err == nil) {
					t.Errorf("%s: failure %q with err %v", e.Kind, e.Outcome.Failure, e.Outcome.Err)
				}
				if e.Reported {
					reported++
					if e.Outcome.Failure != FailNone {
						failures++
					}
				}
			}
			var o Outcome
			for _, e := range r.Endpoints {
				if strings.HasSuffix(tc.path, kindSuffix(e.Kind)) {
					o = e.Outcome
				}
			}
			if o.Status != tc.status {
				t.Errorf("status %d, want %d", o.Status, tc.status)
			}
			if o.RetryAfter != tc.retry {
				t.Errorf("RetryAfter %v, want %v", o.RetryAfter, tc.retry)
			}
			if tc.errSubstr != "" && (o.Err == nil || !strings.Contains(o.Err.Error(), tc.errSubstr)) {
				t.Errorf("err %v, want it to contain %q", o.Err, tc.errSubstr)
			}
			if ra := r.RetryAfter(); ra != tc.retry {
				t.Errorf("result RetryAfter %v, want %v", ra, tc.retry)
			}
			if wantOK := failures == 0 && reported == 3; r.OK() != wantOK {
				t.Errorf("OK() = %v, want %v", r.OK(), wantOK)
			}
			s := status(pool, ups[0])
			if s.Probes != uint64(reported) || s.ProbeFailures != uint64(failures) {
				t.Errorf("pool counted %d requests, %d failures; want %d, %d", s.Probes, s.ProbeFailures, reported, failures)
			}
			if failures > 0 && s.LastFailure == FailNone {
				t.Errorf("pool shows no last failure")
			}
		})
	}
}

// kindSuffix is the end of the path a probe kind requests.
func kindSuffix(k ProbeKind) string {
	switch k {
	case ProbeSumDB:
		return "/supported"
	case ProbeList:
		return "/@v/list"
	}
	return ".info"
}

func TestProbeRetryAfterHoldsUpstream(t *testing.T) {
	m := newMirror(t)
	m.set(pathSupported, answer(429, "30"))
	p, pool, ups, clock := testProber(t, testProbeConfig(), m.srv.URL)
	p.ProbeOnce(context.Background())
	s := status(pool, ups[0])
	if s.State != StateOpen || !s.Until.Equal(clock.Now().Add(30*time.Second)) {
		t.Errorf("after a 429 with Retry-After 30: state %s until %v, want open until %v", s.State, s.Until, clock.Now().Add(30*time.Second))
	}
	if m.count(pathList) != 0 {
		t.Errorf("the list was probed after a 429")
	}
}

func TestProbeRefused(t *testing.T) {
	good := newMirror(t)
	p, pool, ups, _ := testProber(t, testProbeConfig(), closedURL(t), good.srv.URL)
	res := p.ProbeOnce(context.Background())
	bad := res[0]
	if bad.Endpoints[0].Outcome.Failure != FailRefused || bad.Endpoints[0].Outcome.Status != 0 {
		t.Errorf("closed port: %+v, want refused", bad.Endpoints[0].Outcome)
	}
	if !bad.Endpoints[1].Skipped || !bad.Endpoints[2].Skipped {
		t.Errorf("probes after a refused connection were not skipped: %+v", bad.Endpoints)
	}
	if e, ok := bad.Failed(); !ok || e.Kind != ProbeSumDB {
		t.Errorf("Failed() = %+v, %v", e, ok)
	}
	if !res[1].OK() {
		t.Errorf("the good upstream: %+v", res[1])
	}
	if s := status(pool, ups[0]); s.ProbeFailures != 1 || s.LastFailure != FailRefused {
		t.Errorf("pool: %d failures, last %q; want 1 refused", s.ProbeFailures, s.LastFailure)
	}
}

func TestProbeTimesWithSystemClock(t *testing.T) {
	m := newMirror(t)
	m.set(pathList, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(30 * time.Millisecond)
		io.WriteString(w, "v1.0.0\n")
		w.(http.Flusher).Flush()
		time.Sleep(20 * time.Millisecond)
		io.WriteString(w, "v1.1.0\n")
	})
	ups, err := NewUpstreams([]string{m.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	pool := NewPool(ups, Config{}, nil)
	p := NewProber(pool, ProbeConfig{Module: testModule}, testClient(t), nil)
	r := p.ProbeOnce(context.Background())[0]
	if len(r.Endpoints) != 1 || r.Endpoints[0].Kind != ProbeList {
		t.Fatalf("endpoints %+v, want only the list", r.Endpoints)
	}
	o := r.Endpoints[0].Outcome
	if o.Failure != FailNone || o.FirstByte < 30*time.Millisecond || o.Total < 50*time.Millisecond || o.Total <= o.FirstByte {
		t.Errorf("outcome %+v: want success, first byte ≥ 30ms, total ≥ 50ms and after the first byte", o)
	}
	if s := status(pool, ups[0]); s.EWMA < 30*time.Millisecond {
		t.Errorf("pool EWMA %v, want the probe's time to first byte", s.EWMA)
	}
}

func TestProbeOnceCancelled(t *testing.T) {
	m := newMirror(t)
	m.set(pathList, hang)
	p, pool, ups, _ := testProber(t, testProbeConfig(), m.srv.URL)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	start := time.Now()
	r := p.ProbeOnce(ctx)[0]
	if d := time.Since(start); d > time.Second {
		t.Errorf("ProbeOnce took %v after its context was cancelled", d)
	}
	e := r.Endpoints
	if !e[0].Reported || e[1].Reported || e[1].Skipped || !e[2].Skipped || e[2].Reported {
		t.Errorf("endpoints %+v: want supported reported, list cut short and not reported, info skipped", e)
	}
	if s := status(pool, ups[0]); s.Probes != 1 || s.ProbeFailures != 0 {
		t.Errorf("pool: %d requests, %d failures; want 1, 0", s.Probes, s.ProbeFailures)
	}
}

func TestProbeConfigValidate(t *testing.T) {
	for _, tc := range []struct {
		cfg ProbeConfig
		ok  bool
	}{
		{ProbeConfig{}, true},
		{testProbeConfig(), true},
		{ProbeConfig{SumDB: "sum.example"}, true},
		{ProbeConfig{Module: "example.com/m"}, true},
		{ProbeConfig{Module: "example.com/m/v2", Version: "v2.0.1"}, true},
		{ProbeConfig{Module: "example.com/m", Version: "v2.0.0+incompatible"}, true},
		{ProbeConfig{SumDB: "../x"}, false},
		{ProbeConfig{SumDB: "a/b"}, false},
		{ProbeConfig{Module: "not a path"}, false},
		{ProbeConfig{Version: "v1.0.0"}, false},
		{ProbeConfig{Module: "example.com/m", Version: "master"}, false},
		{ProbeConfig{Module: "example.com/m", Version: "v1.2"}, false},
		{ProbeConfig{Module: "example.com/m/v2", Version: "v1.0.0"}, false},
	} {
		if err := tc.cfg.Validate(); (err == nil) != tc.ok {
			t.Errorf("%+v: Validate() = %v, want ok %v", tc.cfg, err, tc.ok)
		}
	}
}

func TestNewProberLeavesOutInvalidTargets(t *testing.T) {
	pool := NewPool(nil, Config{}, nil)
	var logs bytes.Buffer
	p := NewProber(pool, ProbeConfig{SumDB: testSumDB, Module: testModule, Version: "master",
		Logger: slog.New(slog.NewTextHandler(&logs, nil))}, nil, nil)
	var kinds []ProbeKind
	for _, s := range p.specs {
		kinds = append(kinds, s.kind)
	}
	if fmt.Sprint(kinds) != "[sumdb-supported list]" {
		t.Errorf("probes %v, want [sumdb-supported list]", kinds)
	}
	if !strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("no error logged for an invalid probe version: %q", logs.String())
	}
	if p := NewProber(pool, ProbeConfig{Module: "bad path"}, nil, nil); len(p.specs) != 0 {
		t.Errorf("probes %+v for an invalid module path, want none", p.specs)
	}
}

func TestJitterAndNext(t *testing.T) {
	if got := jitter(10*time.Second, 0.1, 0); got != 9*time.Second {
		t.Errorf("jitter low = %v", got)
	}
	if got := jitter(10*time.Second, 0.1, 0.5); got != 10*time.Second {
		t.Errorf("jitter mid = %v", got)
	}
	if got := jitter(10*time.Second, 0.1, 0.999999); got >= 11*time.Second || got < 10999*time.Millisecond {
		t.Errorf("jitter high = %v", got)
	}
	p := NewProber(NewPool(nil, Config{}, nil), ProbeConfig{}, nil, nil)
	if p.cfg.Interval != 15*time.Second || p.cfg.Jitter != 0.1 || p.cfg.Timeout != 10*time.Second {
		t.Errorf("defaults: %+v", p.cfg)
	}
	for range 1000 {
		if d := p.next(ProbeResult{}); d < 13500*time.Millisecond || d > 16500*time.Millisecond {
			t.Fatalf("next = %v, want 15s ± 10%%", d)
		}
	}
	p.rand = func() float64 { return 0.5 }
	withRetry := func(d time.Duration) ProbeResult {
		return ProbeResult{Endpoints: []EndpointResult{{Outcome: Outcome{RetryAfter: d}}}}
	}
	for _, tc := range []struct{ retry, want time.Duration }{
		{0, 15 * time.Second},
		{5 * time.Second, 15 * time.Second},
		{90 * time.Second, 90 * time.Second},
		{time.Hour, 10 * time.Minute},
	} {
		if got := p.next(withRetry(tc.retry)); got != tc.want {
			t.Errorf("next after Retry-After %v = %v, want %v", tc.retry, got, tc.want)
		}
	}
	if p := NewProber(nil, ProbeConfig{Jitter: -1}, nil, nil); p.cfg.Jitter != 0 {
		t.Errorf("negative jitter gave %v, want none", p.cfg.Jitter)
	}
}

// lockedBuffer is a bytes.Buffer safe for concurrent logging.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestRunRounds drives Run's loop one round at a time through its wait.
func TestRunRounds(t *testing.T) {
	m := newMirror(t)
	var logs lockedBuffer
	cfg := testProbeConfig()
	cfg.Interval = time.Minute
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	p, pool, ups, _ := testProber(t, cfg, m.srv.URL)
	p.rand = func() float64 { return 0.5 }
	waits := make(chan time.Duration)
	step := make(chan struct{})
	p.wait = func(ctx context.Context, d time.Duration) bool {
		select {
		case waits <- d:
		case <-ctx.Done():
			return false
		}
		select {
		case <-step:
			return true
		case <-ctx.Done():
			return false
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()

	// Rounds: good, bad, bad (429 with Retry-After), good.
	plan := []struct {
		h    http.HandlerFunc
		wait time.Duration
	}{
		{nil, time.Minute},
		{answer(500, ""), time.Minute},
		{answer(429, "300"), 5 * time.Minute},
		{nil, time.Minute},
	}
	for i, round := range plan {
		m.set(pathInfo, round.h)
		if i > 0 {
			step <- struct{}{}
		}
		select {
		case d := <-waits:
			if d != round.wait {
				t.Errorf("round %d: waits %v, want %v", i, d, round.wait)
			}
		case <-time.After(3 * time.Second):
			t.Fatalf("round %d did not finish", i)
		}
		if got := m.count(pathSupported); got != i+1 {
			t.Errorf("round %d: %d probe rounds seen by the mirror, want %d", i, got, i+1)
		}
	}
	cancel()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if s := status(pool, ups[0]); s.Probes != 12 || s.ProbeFailures != 2 || s.Requests != 0 {
		t.Errorf("pool: %d probes, %d failed, %d requests; want 12, 2, 0", s.Probes, s.ProbeFailures, s.Requests)
	}
	out := logs.String()
	if n := strings.Count(out, "level=WARN"); n != 1 || !strings.Contains(out, "upstream is failing its probes") {
		t.Errorf("want one warning for two failing rounds, got:\n%s", out)
	}
	if n := strings.Count(out, "passes its probes again"); n != 1 {
		t.Errorf("want one recovery message, got:\n%s", out)
	}
}

// TestRunConcurrentAndStops runs real rounds with a short interval: a hung
// upstream does not hold up the others, and cancelling ends Run promptly,
// with nothing left running.
func TestRunConcurrentAndStops(t *testing.T) {
	before := runtime.NumGoroutine()
	slow, fast := newMirror(t), newMirror(t)
	slow.set(pathList, hang)
	cfg := ProbeConfig{Module: testModule, Interval: 5 * time.Millisecond, Jitter: -1, Timeout: 10 * time.Second}
	ups, err := NewUpstreams([]string{slow.srv.URL, fast.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	pool := NewPool(ups, Config{}, nil)
	client := &http.Client{Transport: &http.Transport{}}
	p := NewProber(pool, cfg, client, nil)

	ctx, cancel := context.WithCancel(context.Background())
	var stopped atomic.Bool
	done := make(chan struct{})
	go func() { p.Run(ctx); stopped.Store(true); close(done) }()

	deadline := time.Now().Add(3 * time.Second)
	for fast.count(pathList) < 5 {
		if time.Now().After(deadline) {
			t.Fatalf("the fast upstream was probed %d times in 3s", fast.count(pathList))
		}
		time.Sleep(time.Millisecond)
	}
	if n := slow.count(pathList); n != 1 {
		t.Errorf("the hung upstream was probed %d times, want 1 (still in flight)", n)
	}
	if stopped.Load() {
		t.Fatal("Run returned before cancel")
	}
	start := time.Now()
	cancel()
	select {
	case <-done:
	case <-time.After(time.Second):
		t.Fatal("Run did not return within 1s of cancel")
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("Run took %v to return after cancel", d)
	}
	if s := status(pool, ups[0]); s.Probes != 0 {
		t.Errorf("the probe cut short by cancel was reported: %+v", s)
	}

	client.CloseIdleConnections()
	slow.srv.Close()
	fast.srv.Close()
	deadline = time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines before, %d after:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRunNothingToProbe(t *testing.T) {
	m := newMirror(t)
	p, _, _, _ := testProber(t, ProbeConfig{Interval: time.Millisecond}, m.srv.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	p.Run(ctx)
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.paths) != 0 {
		t.Errorf("requests made with nothing to probe: %v", m.paths)
	}
}

func TestRunNoUpstreams(t *testing.T) {
	p := NewProber(NewPool(nil, Config{}, nil), testProbeConfig(), testClient(t), nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	select {
	case <-done:
		t.Fatal("Run returned before cancel")
	case <-time.After(20 * time.Millisecond):
	}
	cancel()
	<-done
}

func fullProbeConfig() ProbeConfig {
	cfg := testProbeConfig()
	cfg.Full = true
	return cfg
}

func TestProbeOnceFullHealthy(t *testing.T) {
	m := newMirror(t)
	p, pool, ups, _ := testProber(t, fullProbeConfig(), m.srv.URL)
	r := p.ProbeOnce(context.Background())[0]
	if !r.OK() {
		t.Errorf("OK() = false: %+v", r)
	}
	wantKinds := []ProbeKind{ProbeSumDB, ProbeList, ProbeInfo, ProbeMod, ProbeZip, ProbeLatest}
	var kinds []ProbeKind
	for _, e := range r.Endpoints {
		kinds = append(kinds, e.Kind)
		if !e.Reported || e.Outcome.Status != 200 || e.Outcome.Failure != FailNone {
			t.Errorf("%s: %+v, want a reported 200", e.Kind, e)
		}
	}
	if fmt.Sprint(kinds) != fmt.Sprint(wantKinds) {
		t.Errorf("kinds %v, want %v", kinds, wantKinds)
	}
	m.mu.Lock()
	got := strings.Join(m.paths, " ")
	m.mu.Unlock()
	if want := strings.Join([]string{pathSupported, pathList, pathInfo, pathMod, pathZip, pathLatest}, " "); got != want {
		t.Errorf("mirror was asked for %s, want %s", got, want)
	}
	if s := status(pool, ups[0]); s.Probes != 6 || s.ProbeFailures != 0 {
		t.Errorf("pool: %d probes, %d failures; want 6, 0", s.Probes, s.ProbeFailures)
	}
}

func TestProbeFullIsOptIn(t *testing.T) {
	for _, tc := range []struct {
		cfg  ProbeConfig
		want string
	}{
		{testProbeConfig(), "[sumdb-supported list info]"},
		{fullProbeConfig(), "[sumdb-supported list info mod zip latest]"},
		{ProbeConfig{Module: testModule, Full: true}, "[list latest]"},
		{ProbeConfig{SumDB: testSumDB, Module: testModule, Version: "master", Full: true}, "[sumdb-supported list latest]"},
		{ProbeConfig{SumDB: testSumDB, Full: true}, "[sumdb-supported]"},
	} {
		var kinds []ProbeKind
		for _, s := range NewProber(NewPool(nil, Config{}, nil), tc.cfg, nil, nil).specs {
			kinds = append(kinds, s.kind)
		}
		if fmt.Sprint(kinds) != tc.want {
			t.Errorf("%+v: probes %v, want %s", tc.cfg, kinds, tc.want)
		}
	}
}

func TestProbeFullBodies(t *testing.T) {
	for _, tc := range []struct {
		name      string
		path      string
		h         http.HandlerFunc
		want      FailureKind
		errSubstr string
	}{
		{name: "mod with comments first", path: pathMod, h: body("// a comment\n\nmodule example.com/Foo/bar\n")},
		{name: "mod with a quoted path", path: pathMod, h: body("module \"example.com/Foo/bar\"\n")},
		{name: "mod of HTML", path: pathMod, h: body("<html><body>Sign in</body></html>\n"),
			want: FailBadBody, errSubstr: "no module directive"},
		{name: "empty mod", path: pathMod, h: body(""), want: FailBadBody, errSubstr: "no module directive"},
		{name: "mod of another module", path: pathMod, h: body("module example.com/other\n"),
			want: FailBadBody, errSubstr: `names module "example.com/other", want "example.com/Foo/bar"`},
		{name: "zip of HTML", path: pathZip, h: body("<html></html>"), want: FailBadBody, errSubstr: "not a zip file"},
		{name: "empty zip", path: pathZip, h: body(""), want: FailBadBody, errSubstr: "not a zip file"},
		{name: "zip of three bytes", path: pathZip, h: body("PK\x03"), want: FailBadBody},
		{name: "zip cut short", path: pathZip, h: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "100000")
			w.Write(testZip())
		}, want: FailReset},
		{name: "404 zip is an answer", path: pathZip, h: answer(404, "")},
		{name: "zip 503", path: pathZip, h: answer(503, ""), want: FailStatus5xx},
		{name: "latest of an older version", path: pathLatest, h: body(`{"Version":"v1.0.0"}`)},
		{name: "latest prerelease", path: pathLatest, h: body(`{"Version":"v1.2.0-rc.1"}`)},
		{name: "latest not JSON", path: pathLatest, h: body("v1.1.0"), want: FailBadBody, errSubstr: "not version JSON"},
		{name: "latest without a version", path: pathLatest, h: body(`{"Time":"2024-01-02T03:04:05Z"}`),
			want: FailBadBody, errSubstr: `names "", which is not a version`},
		{name: "latest not semver", path: pathLatest, h: body(`{"Version":"master"}`), want: FailBadBody},
		{name: "latest of another major version", path: pathLatest, h: body(`{"Version":"v2.0.0"}`),
			want: FailBadBody, errSubstr: `names "v2.0.0", which is not a version of example.com/Foo/bar`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMirror(t)
			m.set(tc.path, tc.h)
			p, _, _, _ := testProber(t, fullProbeConfig(), m.srv.URL)
			r := p.ProbeOnce(context.Background())[0]
			for _, e := range r.Endpoints {
				want := FailNone
				if strings.HasSuffix(tc.path, fullKindSuffix(e.Kind)) {
					want = tc.want
					if tc.errSubstr != "" && (e.Outcome.Err == nil || !strings.Contains(e.Outcome.Err.Error(), tc.errSubstr)) {
						t.Errorf("%s: err %v, want it to contain %q", e.Kind, e.Outcome.Err, tc.errSubstr)
					}
				}
				if e.Outcome.Failure != want || e.Skipped {
					t.Errorf("%s: failure %q skipped %v (err %v), want %q", e.Kind, e.Outcome.Failure, e.Skipped, e.Outcome.Err, want)
				}
			}
		})
	}
}

// fullKindSuffix is the end of the path a probe kind requests, for every
// kind.
func fullKindSuffix(k ProbeKind) string {
	switch k {
	case ProbeMod:
		return ".mod"
	case ProbeZip:
		return ".zip"
	case ProbeLatest:
		return "/@latest"
	}
	return kindSuffix(k)
}

// TestReadProbeBodyLimits reads bodies around the limit: a zip is read to
// its end but only its start is kept; one byte over the limit is seen.
func TestReadProbeBodyLimits(t *testing.T) {
	zipBody := zipMagic + strings.Repeat("x", 96)
	for _, tc := range []struct {
		kind     ProbeKind
		body     string
		max      int64
		wantBody string
		wantSize int64
	}{
		{ProbeZip, zipBody, 100, zipMagic, 100},
		{ProbeZip, zipBody + "y", 100, zipMagic, 101},
		{ProbeZip, zipBody + "yz", 100, zipMagic, 101},
		{ProbeZip, "PK", 100, "PK", 2},
		{ProbeZip, "", 100, "", 0},
		{ProbeMod, "module m\n", 9, "module m\n", 9},
		{ProbeMod, "module m\n", 8, "module m\n", 9},
	} {
		b, size, err := readProbeBody(strings.NewReader(tc.body), probeSpec{kind: tc.kind, maxBody: tc.max})
		if err != nil || string(b) != tc.wantBody || size != tc.wantSize {
			t.Errorf("%s of %d bytes, limit %d: %q, %d, %v; want %q, %d", tc.kind, len(tc.body), tc.max, b, size, err, tc.wantBody, tc.wantSize)
		}
	}
}

// FuzzCheckBody feeds arbitrary bodies to every kind's check: none panics,
// and what passes is what the go command could use.
func FuzzCheckBody(f *testing.F) {
	for _, seed := range []string{
		"", "v1.0.0\nv1.1.0\n", `{"Version":"v1.1.0"}`, `{"Version":"v2.0.0"}`,
		"module example.com/Foo/bar\n", "module (\n\texample.com/Foo/bar\n)\n", "// c\nmodule \"example.com/Foo/bar\"\n",
		zipMagic, string(testZip()), "<html></html>", "{", "\x00\xff",
		`{"Version":"v2.0.0-` + strings.Repeat("a", 500) + `"}`,
	} {
		f.Add(seed)
	}
	specs := probeSpecs(fullProbeConfig())
	f.Fuzz(func(t *testing.T, b string) {
		for _, s := range specs {
			err := checkBody(s, []byte(b))
			if err == nil {
				switch s.kind {
				case ProbeZip:
					if !strings.HasPrefix(b, zipMagic) {
						t.Errorf("zip %q passed", b)
					}
				case ProbeMod:
					if !strings.Contains(b, "module") {
						t.Errorf("go.mod %q without a module directive passed", b)
					}
				case ProbeInfo, ProbeLatest:
					var info struct{ Version string }
					if json.Unmarshal([]byte(b), &info) != nil || !semver.IsValid(info.Version) {
						t.Errorf("%s %q names no version but passed", s.kind, b)
					}
				}
			} else if len(err.Error()) > 400 {
				t.Errorf("%s: error of %d bytes: %.100q", s.kind, len(err.Error()), err)
			}
		}
	})
}
