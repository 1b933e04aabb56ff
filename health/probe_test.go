package health

// Tests of the Prober's own logic, with a fake Requester. The same prober
// against real mirrors, through the real upstream client, is tested in
// probe_http_test.go.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofailover/gofailover/proxy/mirrortest"
)

// The probe targets the fake mirrors serve.
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

func fullProbeConfig() ProbeConfig {
	cfg := testProbeConfig()
	cfg.Full = true
	return cfg
}

// reply is a scripted answer of a fake mirror to one request: what
// Requester.Request returns for it. It runs in the request, with the
// probe's context.
type reply func(ctx context.Context) (o Outcome, body []byte, judged bool)

// body is a usable 200 answer with b.
func body(b string) reply {
	return func(context.Context) (Outcome, []byte, bool) {
		return Outcome{Status: http.StatusOK, FirstByte: 3 * ms, Total: 4 * ms}, []byte(b), true
	}
}

// answer is a definitive answer other than 200, such as a 404: no failure.
func answer(code int) reply {
	return func(context.Context) (Outcome, []byte, bool) {
		return Outcome{Status: code, FirstByte: 2 * ms, Total: 2 * ms}, nil, true
	}
}

// failure is an answer the client judged a failure; code 0 means no
// response arrived.
func failure(kind FailureKind, code int, retryAfter time.Duration) reply {
	return func(context.Context) (Outcome, []byte, bool) {
		o := Outcome{Status: code, Failure: kind, RetryAfter: retryAfter, Total: ms,
			Err: fmt.Errorf("scripted %s failure", kind)}
		if code != 0 {
			o.FirstByte = ms
		}
		return o, nil, true
	}
}

// hang answers nothing until the request's context ends, then returns
// what the client returns for a request whose context ended first: a
// timeout when its deadline passed, else (cancelled by the caller) an
// Outcome that says only how long it took, not judged.
func hang(ctx context.Context) (Outcome, []byte, bool) {
	start := time.Now()
	<-ctx.Done()
	return ended(ctx, Outcome{Total: time.Since(start)})
}

// stall sends a 200 header, then nothing of the body until the request's
// context ends.
func stall(ctx context.Context) (Outcome, []byte, bool) {
	start := time.Now()
	<-ctx.Done()
	return ended(ctx, Outcome{Status: http.StatusOK, FirstByte: ms, Total: time.Since(start)})
}

// ended judges o, of a request whose context ended, as the client does: a
// deadline that passed is a timeout of the upstream; a cancellation is
// not judged.
func ended(ctx context.Context, o Outcome) (Outcome, []byte, bool) {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		o.Failure, o.Err = FailTimeout, fmt.Errorf("scripted: %w", ctx.Err())
		return o, nil, true
	}
	return o, nil, false
}

// busy is a request the client did not make (no request slot was free):
// not judged, though its context is still live.
func busy(context.Context) (Outcome, []byte, bool) { return Outcome{}, nil, false }

// goodReply is a good mirror's answer to path.
func goodReply(path string) reply {
	switch path {
	case pathSupported:
		return body("")
	case pathList:
		return body("v1.0.0\nv1.1.0\n")
	case pathInfo, pathLatest:
		return body(`{"Version":"v1.1.0","Time":"2024-01-02T03:04:05Z"}`)
	case pathMod:
		return body("module example.com/Foo/bar\n\ngo 1.21\n")
	case pathZip:
		return body("") // the client keeps no zip body
	}
	return answer(http.StatusNotFound)
}

// call is one request a fake mirror was asked.
type call struct {
	up   *Upstream
	path string
	// left is how long the request's context had left when it was
	// asked; 0 when it had no deadline.
	left time.Duration
}

// mirror is a fake upstream. fakeRequester answers a request to it with
// the reply set for the path, or else as a good mirror does, and the
// mirror records what it was asked. Its base URL is srv.URL (named as an
// httptest server's, as freshness_test.go uses it), on a host of its own
// that no network knows.
type mirror struct {
	srv struct{ URL string }

	mu       sync.Mutex
	replies  map[string]reply
	calls    []call
	hits     map[string]int
	inFlight int
}

// The fake mirrors, by host.
var (
	mirrorsMu sync.Mutex
	mirrors   = map[string]*mirror{}
	mirrorSeq atomic.Int64
)

func newMirror(t *testing.T) *mirror {
	t.Helper()
	host := fmt.Sprintf("mirror%d.test", mirrorSeq.Add(1))
	m := &mirror{replies: map[string]reply{}, hits: map[string]int{}}
	m.srv.URL = "http://" + host
	mirrorsMu.Lock()
	mirrors[host] = m
	mirrorsMu.Unlock()
	t.Cleanup(func() {
		mirrorsMu.Lock()
		delete(mirrors, host)
		mirrorsMu.Unlock()
	})
	return m
}

// unreachableURL returns the URL of a fake host with no mirror: requests
// to it are refused.
func unreachableURL() string {
	return fmt.Sprintf("http://nothing%d.test", mirrorSeq.Add(1))
}

// set makes path answer with r; nil restores the good answer.
func (m *mirror) set(path string, r reply) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if r == nil {
		delete(m.replies, path)
		return
	}
	m.replies[path] = r
}

// count returns how many times path was asked.
func (m *mirror) count(path string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.hits[path]
}

// asked returns the requests made so far.
func (m *mirror) asked() []call {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.calls)
}

// paths returns the paths asked so far, in order, joined by spaces.
func (m *mirror) paths() string {
	var ps []string
	for _, c := range m.asked() {
		ps = append(ps, c.path)
	}
	return strings.Join(ps, " ")
}

func (m *mirror) request(ctx context.Context, u *Upstream, path string) (Outcome, []byte, bool) {
	c := call{up: u, path: path}
	if dl, ok := ctx.Deadline(); ok {
		c.left = time.Until(dl)
	}
	m.mu.Lock()
	m.calls = append(m.calls, c)
	m.hits[path]++
	m.inFlight++
	r := m.replies[path]
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		m.inFlight--
		m.mu.Unlock()
	}()
	if r == nil {
		r = goodReply(path)
	}
	o, b, judged := r(ctx)
	o.Path = path // as the client's Outcomes do
	return o, b, judged
}

// fakeRequester stands in for proxy/upstream.Client: it sends each request
// to the fake mirror of the upstream's host. A host with no mirror refuses
// the connection.
type fakeRequester struct{}

func (fakeRequester) Request(ctx context.Context, u *Upstream, path string) (Outcome, []byte, bool) {
	mirrorsMu.Lock()
	m := mirrors[u.URL.Host]
	mirrorsMu.Unlock()
	if m == nil {
		return Outcome{Path: path, Failure: FailRefused, Total: ms, Err: fmt.Errorf("GET %s%s: connection refused", u.Name, path)}, nil, true
	}
	return m.request(ctx, u, path)
}

// testProber returns a prober of a pool over the given upstream URLs,
// whose requests go to the fake mirrors, with a fake clock.
func testProber(t *testing.T, cfg ProbeConfig, urls ...string) (*Prober, *Pool, []*Upstream, *FakeClock) {
	t.Helper()
	ups, err := NewUpstreams(urls, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	clock := &FakeClock{}
	pool := NewPool(ups, Config{}, clock)
	return NewProber(pool, cfg, fakeRequester{}, clock), pool, ups, clock
}

func kindsOf(specs []probeSpec) string {
	var kinds []ProbeKind
	for _, s := range specs {
		kinds = append(kinds, s.kind)
	}
	return fmt.Sprint(kinds)
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
		{ProbeConfig{SumDB: ".."}, false},
		{ProbeConfig{SumDB: "a b"}, false},
		{ProbeConfig{SumDB: "a?b"}, false},
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
	if got := kindsOf(p.specs); got != "[sumdb-supported list]" {
		t.Errorf("probes %v, want [sumdb-supported list]", got)
	}
	if !strings.Contains(logs.String(), "level=ERROR") {
		t.Errorf("no error logged for an invalid probe version: %q", logs.String())
	}
	if p := NewProber(pool, ProbeConfig{Module: "bad path"}, nil, nil); len(p.specs) != 0 {
		t.Errorf("probes %+v for an invalid module path, want none", p.specs)
	}
	if p := NewProber(pool, ProbeConfig{SumDB: "a/b", Module: testModule}, nil, nil); kindsOf(p.specs) != "[list]" {
		t.Errorf("probes %+v for an invalid checksum database name, want only the list", p.specs)
	}
}

// TestProbeSpecs pins the protocol paths probed, escaped as the go command
// escapes module paths and versions ('!' before an upper-case letter).
func TestProbeSpecs(t *testing.T) {
	got := probeSpecs(fullProbeConfig())
	want := []probeSpec{
		{ProbeSumDB, pathSupported},
		{ProbeList, pathList},
		{ProbeInfo, pathInfo},
		{ProbeMod, pathMod},
		{ProbeZip, pathZip},
		{ProbeLatest, pathLatest},
	}
	if !slices.Equal(got, want) {
		t.Errorf("probeSpecs = %+v, want %+v", got, want)
	}
	got = probeSpecs(ProbeConfig{Module: "example.com/M/v2", Version: "v2.0.0-RC1"})
	want = []probeSpec{
		{ProbeList, "/example.com/!m/v2/@v/list"},
		{ProbeInfo, "/example.com/!m/v2/@v/v2.0.0-!r!c1.info"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("probeSpecs = %+v, want %+v", got, want)
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
		{ProbeConfig{Full: true}, "[]"},
	} {
		if got := kindsOf(NewProber(NewPool(nil, Config{}, nil), tc.cfg, nil, nil).specs); got != tc.want {
			t.Errorf("%+v: probes %v, want %s", tc.cfg, got, tc.want)
		}
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
	if got := jitter(10*time.Second, 0, 0.9); got != 10*time.Second {
		t.Errorf("no jitter = %v", got)
	}
	p := NewProber(NewPool(nil, Config{}, nil), ProbeConfig{}, nil, nil)
	if p.cfg.Interval != 15*time.Second || p.cfg.Jitter != 0.1 || p.cfg.Timeout != 10*time.Second || p.cfg.MaxRetryAfter != 10*time.Minute {
		t.Errorf("defaults: %+v", p.cfg)
	}
	for range 1000 {
		if d := p.next(ProbeResult{}); d < 13500*time.Millisecond || d > 16500*time.Millisecond {
			t.Fatalf("next = %v, want 15s ± 10%%", d)
		}
	}
	p.rand = func() float64 { return 0.5 }
	withRetry := func(ds ...time.Duration) ProbeResult {
		var r ProbeResult
		for _, d := range ds {
			r.Endpoints = append(r.Endpoints, EndpointResult{Outcome: Outcome{RetryAfter: d}})
		}
		return r
	}
	for _, tc := range []struct {
		retry []time.Duration
		want  time.Duration
	}{
		{nil, 15 * time.Second},
		{[]time.Duration{0}, 15 * time.Second},
		{[]time.Duration{5 * time.Second}, 15 * time.Second},
		{[]time.Duration{90 * time.Second}, 90 * time.Second},
		{[]time.Duration{30 * time.Second, 0, 90 * time.Second}, 90 * time.Second},
		{[]time.Duration{time.Hour}, 10 * time.Minute},
	} {
		if got := p.next(withRetry(tc.retry...)); got != tc.want {
			t.Errorf("next after Retry-After %v = %v, want %v", tc.retry, got, tc.want)
		}
	}
	p = NewProber(nil, ProbeConfig{MaxRetryAfter: time.Minute}, nil, nil)
	p.rand = func() float64 { return 0.5 }
	if got := p.next(withRetry(time.Hour)); got != time.Minute {
		t.Errorf("next after Retry-After 1h capped at 1m = %v", got)
	}
	if p := NewProber(nil, ProbeConfig{Jitter: -1}, nil, nil); p.cfg.Jitter != 0 {
		t.Errorf("negative jitter gave %v, want none", p.cfg.Jitter)
	}
	if p := NewProber(nil, ProbeConfig{Jitter: 2}, nil, nil); p.cfg.Jitter != 0.5 {
		t.Errorf("jitter 2 gave %v, want 0.5", p.cfg.Jitter)
	}
}

func TestProbeOnceHealthy(t *testing.T) {
	m := newMirror(t)
	// The mirror lives under a path prefix, behind credentials.
	base := strings.Replace(m.srv.URL, "http://", "http://user:secret@", 1) + "/prefix/"
	cfg := testProbeConfig()
	cfg.Timeout = 7 * time.Second
	p, pool, ups, _ := testProber(t, cfg, base)
	res := p.ProbeOnce(context.Background())
	if len(res) != 1 || res[0].Upstream != ups[0] {
		t.Fatalf("ProbeOnce = %+v, want one result for %s", res, ups[0].Name)
	}
	r := res[0]
	if !r.OK() || r.Stale != nil || r.RetryAfter() != 0 {
		t.Errorf("OK() = %v, stale %q, RetryAfter %v: %+v", r.OK(), r.Stale, r.RetryAfter(), r)
	}
	if e, bad := r.Failed(); bad {
		t.Errorf("Failed() = %+v", e)
	}
	wantKinds := []ProbeKind{ProbeSumDB, ProbeList, ProbeInfo}
	wantPaths := []string{pathSupported, pathList, pathInfo}
	if len(r.Endpoints) != len(wantKinds) {
		t.Fatalf("%d endpoints, want %d: %+v", len(r.Endpoints), len(wantKinds), r.Endpoints)
	}
	for i, e := range r.Endpoints {
		if e.Kind != wantKinds[i] || !e.Reported || e.Skipped || e.Outcome.Status != 200 || e.Outcome.Failure != FailNone || e.Outcome.Err != nil {
			t.Errorf("endpoint %d = %+v, want a reported 200 %s", i, e, wantKinds[i])
		}
		if !e.Outcome.Probe {
			t.Errorf("endpoint %d: outcome not marked as a probe's", i)
		}
		if want := ups[0].Name + wantPaths[i]; e.URL != want || strings.Contains(e.URL, "secret") {
			t.Errorf("endpoint %d URL %q, want %q (without credentials)", i, e.URL, want)
		}
	}
	if got := r.Endpoints[1].Versions; !slices.Equal(got, []string{"v1.0.0", "v1.1.0"}) {
		t.Errorf("list versions %q", got)
	}
	if r.Endpoints[0].Versions != nil || r.Endpoints[2].Versions != nil {
		t.Errorf("versions on endpoints other than the list: %+v", r.Endpoints)
	}
	calls := m.asked()
	if got, want := m.paths(), strings.Join(wantPaths, " "); got != want {
		t.Errorf("mirror was asked for %s, want %s", got, want)
	}
	for _, c := range calls {
		if c.up != ups[0] {
			t.Errorf("%s asked of upstream %p, want %p", c.path, c.up, ups[0])
		}
		// Each request has the probe's own timeout.
		if c.left <= 6*time.Second || c.left > 7*time.Second {
			t.Errorf("%s asked with %v left, want the 7s probe timeout", c.path, c.left)
		}
	}
	s := status(pool, ups[0])
	if s.Probes != 3 || s.ProbeFailures != 0 || s.Requests != 0 || s.State != StateHealthy {
		t.Errorf("pool status: %d probes, %d failures, %d requests, %s; want 3, 0, 0, healthy", s.Probes, s.ProbeFailures, s.Requests, s.State)
	}
}

// TestProbeOnceOutcomes scripts one answer of a round and checks what is
// reported, what is skipped, and what the pool counts.
func TestProbeOnceOutcomes(t *testing.T) {
	const none = FailNone
	for _, tc := range []struct {
		name    string
		path    string
		r       reply
		timeout time.Duration
		want    [3]FailureKind // sumdb, list, info
		skipped [3]bool
		// notReported is the endpoint neither skipped nor reported, -1
		// for none.
		notReported int
		status      int // of the scripted endpoint
		retry       time.Duration
		errSubstr   string
	}{
		{name: "5xx with Retry-After", path: pathList, r: failure(FailStatus5xx, 503, 5*time.Second),
			want: [3]FailureKind{none, FailStatus5xx, none}, notReported: -1, status: 503, retry: 5 * time.Second},
		{name: "429 skips the rest", path: pathSupported, r: failure(FailRateLimit, 429, 90*time.Second),
			want: [3]FailureKind{FailRateLimit, none, none}, skipped: [3]bool{false, true, true}, notReported: -1, status: 429, retry: 90 * time.Second},
		{name: "429 on the list skips the info", path: pathList, r: failure(FailRateLimit, 429, 0),
			want: [3]FailureKind{none, FailRateLimit, none}, skipped: [3]bool{false, false, true}, notReported: -1, status: 429},
		{name: "refused skips the rest", path: pathSupported, r: failure(FailRefused, 0, 0),
			want: [3]FailureKind{FailRefused, none, none}, skipped: [3]bool{false, true, true}, notReported: -1},
		{name: "reset before an answer skips the rest", path: pathList, r: failure(FailReset, 0, 0),
			want: [3]FailureKind{none, FailReset, none}, skipped: [3]bool{false, false, true}, notReported: -1},
		{name: "a failure after a response does not skip", path: pathList, r: failure(FailBadBody, 200, 0),
			want: [3]FailureKind{none, FailBadBody, none}, notReported: -1, status: 200, errSubstr: "scripted bad_body"},
		{name: "auth", path: pathSupported, r: failure(FailAuth, 401, 0),
			want: [3]FailureKind{FailAuth, none, none}, notReported: -1, status: 401},
		{name: "404 is an answer", path: pathInfo, r: answer(404), want: [3]FailureKind{}, notReported: -1, status: 404},
		{name: "400 is an answer", path: pathList, r: answer(400), want: [3]FailureKind{}, notReported: -1, status: 400},
		{name: "no answer within the probe timeout", path: pathList, r: hang, timeout: 30 * ms,
			want: [3]FailureKind{none, FailTimeout, none}, skipped: [3]bool{false, false, true}, notReported: -1,
			errSubstr: "deadline exceeded"},
		{name: "body stalls past the probe timeout", path: pathList, r: stall, timeout: 30 * ms,
			want: [3]FailureKind{none, FailTimeout, none}, notReported: -1, status: 200,
			errSubstr: "deadline exceeded"},
		{name: "not made", path: pathList, r: busy, want: [3]FailureKind{}, notReported: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMirror(t)
			m.set(tc.path, tc.r)
			cfg := testProbeConfig()
			if tc.timeout > 0 {
				cfg.Timeout = tc.timeout
			}
			p, pool, ups, _ := testProber(t, cfg, m.srv.URL)
			r := p.ProbeOnce(context.Background())[0]

			reported, failures := 0, 0
			var o Outcome
			for i, e := range r.Endpoints {
				wantReported := !tc.skipped[i] && i != tc.notReported
				if e.Skipped != tc.skipped[i] || e.Reported != wantReported {
					t.Errorf("%s: skipped %v reported %v, want %v and %v", e.Kind, e.Skipped, e.Reported, tc.skipped[i], wantReported)
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
				if strings.HasSuffix(e.URL, tc.path) {
					o = e.Outcome
				}
			}
			if want := 3 - strings.Count(fmt.Sprint(tc.skipped), "true"); m.count(pathSupported)+m.count(pathList)+m.count(pathInfo) != want {
				t.Errorf("mirror asked %s, want %d requests", m.paths(), want)
			}
			if o.Status != tc.status {
				t.Errorf("status %d, want %d", o.Status, tc.status)
			}
			if o.RetryAfter != tc.retry || r.RetryAfter() != tc.retry {
				t.Errorf("RetryAfter %v, result's %v, want %v", o.RetryAfter, r.RetryAfter(), tc.retry)
			}
			if tc.errSubstr != "" && (o.Err == nil || !strings.Contains(o.Err.Error(), tc.errSubstr)) {
				t.Errorf("err %v, want it to contain %q", o.Err, tc.errSubstr)
			}
			if tc.notReported < 0 {
				// (A request not made is neither skipped nor failed, so
				// OK() does not see it; see the report on the prober.)
				if wantOK := failures == 0 && reported == 3; r.OK() != wantOK {
					t.Errorf("OK() = %v, want %v", r.OK(), wantOK)
				}
			}
			if e, bad := r.Failed(); bad != (failures > 0) || bad && e.Outcome.Failure == FailNone {
				t.Errorf("Failed() = %+v, %v with %d failures", e, bad, failures)
			}
			s := status(pool, ups[0])
			if s.Probes != uint64(reported) || s.ProbeFailures != uint64(failures) || s.Requests != 0 {
				t.Errorf("pool counted %d probes, %d failures, %d requests; want %d, %d, 0", s.Probes, s.ProbeFailures, s.Requests, reported, failures)
			}
			if failures > 0 && s.LastFailure != o.Failure {
				t.Errorf("pool shows last failure %q, want %q", s.LastFailure, o.Failure)
			}
		})
	}
}

// TestProbeOwnTimeout: a request the probe's own timeout cut short is the
// upstream's failure, a timeout, with what the client measured.
func TestProbeOwnTimeout(t *testing.T) {
	m := newMirror(t)
	m.set(pathList, stall)
	cfg := ProbeConfig{Module: testModule, Timeout: 40 * ms}
	p, pool, ups, _ := testProber(t, cfg, m.srv.URL)
	start := time.Now()
	r := p.ProbeOnce(context.Background())[0]
	if d := time.Since(start); d < 40*ms || d > 2*time.Second {
		t.Errorf("the round took %v with a 40ms timeout", d)
	}
	e := r.Endpoints[0]
	o := e.Outcome
	if !e.Reported || o.Failure != FailTimeout || o.Status != 200 || !o.Probe || o.FirstByte != ms || o.Total < 40*ms {
		t.Errorf("endpoint %+v: want a reported probe timeout with the 200 status and times measured", e)
	}
	if e.Versions != nil || r.Stale != nil {
		t.Errorf("a list cut short gave versions %q, stale %q", e.Versions, r.Stale)
	}
	if s := status(pool, ups[0]); s.ProbeFailures != 1 || s.LastFailure != FailTimeout || s.LastError == nil {
		t.Errorf("pool: %d failures, last %q (%v); want 1 timeout", s.ProbeFailures, s.LastFailure, s.LastError)
	}
}

// TestProbeNotMade: a request the client did not make says nothing about
// the upstream: not reported, and the round goes on.
func TestProbeNotMade(t *testing.T) {
	m := newMirror(t)
	m.set(pathSupported, busy)
	p, pool, ups, _ := testProber(t, testProbeConfig(), m.srv.URL)
	r := p.ProbeOnce(context.Background())[0]
	e := r.Endpoints
	if e[0].Reported || e[0].Skipped || e[0].Outcome.Failure != FailNone {
		t.Errorf("request not made: %+v, want neither reported nor skipped, no failure", e[0])
	}
	if !e[1].Reported || !e[2].Reported {
		t.Errorf("the round did not go on: %+v", e)
	}
	if s := status(pool, ups[0]); s.Probes != 2 || s.ProbeFailures != 0 {
		t.Errorf("pool: %d probes, %d failures; want 2, 0", s.Probes, s.ProbeFailures)
	}
}

func TestProbeRetryAfterHoldsUpstream(t *testing.T) {
	m := newMirror(t)
	m.set(pathSupported, failure(FailRateLimit, 429, 30*time.Second))
	p, pool, ups, clock := testProber(t, testProbeConfig(), m.srv.URL)
	p.ProbeOnce(context.Background())
	s := status(pool, ups[0])
	if s.State != StateOpen || !s.Until.Equal(clock.Now().Add(30*time.Second)) {
		t.Errorf("after a 429 with Retry-After 30s: state %s until %v, want open until %v", s.State, s.Until, clock.Now().Add(30*time.Second))
	}
	if m.count(pathList) != 0 {
		t.Errorf("the list was probed after a 429")
	}
}

func TestProbeUnreachable(t *testing.T) {
	good := newMirror(t)
	p, pool, ups, _ := testProber(t, testProbeConfig(), unreachableURL(), good.srv.URL)
	res := p.ProbeOnce(context.Background())
	bad := res[0]
	if bad.Endpoints[0].Outcome.Failure != FailRefused || bad.Endpoints[0].Outcome.Status != 0 {
		t.Errorf("unreachable: %+v, want refused", bad.Endpoints[0].Outcome)
	}
	if !bad.Endpoints[1].Skipped || !bad.Endpoints[2].Skipped || bad.Endpoints[1].Reported || bad.Endpoints[2].Reported {
		t.Errorf("probes after a refused connection were not skipped: %+v", bad.Endpoints)
	}
	if e, ok := bad.Failed(); !ok || e.Kind != ProbeSumDB {
		t.Errorf("Failed() = %+v, %v", e, ok)
	}
	if bad.OK() {
		t.Errorf("OK() with a refused connection")
	}
	if !res[1].OK() {
		t.Errorf("the good upstream: %+v", res[1])
	}
	if s := status(pool, ups[0]); s.Probes != 1 || s.ProbeFailures != 1 || s.LastFailure != FailRefused {
		t.Errorf("pool: %d probes, %d failures, last %q; want 1, 1 refused", s.Probes, s.ProbeFailures, s.LastFailure)
	}
	if s := status(pool, ups[1]); s.Probes != 3 || s.ProbeFailures != 0 {
		t.Errorf("good upstream in the pool: %d probes, %d failures; want 3, 0", s.Probes, s.ProbeFailures)
	}
}

// TestProbeOnceConcurrent: ProbeOnce probes the upstreams at the same
// time, each one's requests one after another.
func TestProbeOnceConcurrent(t *testing.T) {
	const n = 3
	var arrived sync.WaitGroup
	arrived.Add(n)
	all := make(chan struct{})
	go func() { arrived.Wait(); close(all) }()
	// Each list answers once every upstream's list has been asked.
	barrier := func(ctx context.Context) (Outcome, []byte, bool) {
		arrived.Done()
		select {
		case <-all:
			return goodReply(pathList)(ctx)
		case <-ctx.Done():
			return hang(ctx)
		}
	}
	var urls []string
	var mirrors []*mirror
	for range n {
		m := newMirror(t)
		m.set(pathList, barrier)
		mirrors = append(mirrors, m)
		urls = append(urls, m.srv.URL)
	}
	p, _, ups, _ := testProber(t, testProbeConfig(), urls...)
	res := p.ProbeOnce(context.Background())
	for i, r := range res {
		if r.Upstream != ups[i] || !r.OK() {
			t.Errorf("result %d: %+v, want %s OK", i, r, ups[i].Name)
		}
	}
	for i, m := range mirrors {
		m.mu.Lock()
		in := m.inFlight
		m.mu.Unlock()
		if in != 0 || m.paths() != pathSupported+" "+pathList+" "+pathInfo {
			t.Errorf("mirror %d asked %s, %d in flight", i, m.paths(), in)
		}
	}
}

func TestProbeOnceCancelled(t *testing.T) {
	m := newMirror(t)
	m.set(pathList, hang)
	p, pool, ups, _ := testProber(t, testProbeConfig(), m.srv.URL)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(30*ms, cancel)
	start := time.Now()
	r := p.ProbeOnce(ctx)[0]
	if d := time.Since(start); d > time.Second {
		t.Errorf("ProbeOnce took %v after its context was cancelled", d)
	}
	e := r.Endpoints
	if !e[0].Reported || e[1].Reported || e[1].Skipped || !e[2].Skipped || e[2].Reported {
		t.Errorf("endpoints %+v: want supported reported, list cut short and not reported, info skipped", e)
	}
	if e[1].Outcome.Failure != FailNone {
		t.Errorf("the list cut short by the caller: failure %q, want none (it says nothing of the upstream)", e[1].Outcome.Failure)
	}
	if s := status(pool, ups[0]); s.Probes != 1 || s.ProbeFailures != 0 {
		t.Errorf("pool: %d probes, %d failures; want 1, 0", s.Probes, s.ProbeFailures)
	}
	if m.count(pathInfo) != 0 {
		t.Errorf("the info was asked after the context was cancelled")
	}

	// A round started with its context done makes no request.
	r = p.ProbeOnce(ctx)[0]
	for _, e := range r.Endpoints {
		if !e.Skipped || e.Reported {
			t.Errorf("%s: %+v, want skipped", e.Kind, e)
		}
	}
	if r.OK() {
		t.Errorf("OK() for a round skipped entirely")
	}
	if n := len(m.asked()); n != 2 {
		t.Errorf("%d requests in all, want 2", n)
	}
}

// TestRunRounds drives Run's loop one round at a time through its wait.
func TestRunRounds(t *testing.T) {
	m := newMirror(t)
	var logs mirrortest.SyncBuffer
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
		r    reply
		wait time.Duration
	}{
		{nil, time.Minute},
		{failure(FailStatus5xx, 500, 0), time.Minute},
		{failure(FailRateLimit, 429, 5*time.Minute), 5 * time.Minute},
		{nil, time.Minute},
	}
	for i, round := range plan {
		m.set(pathInfo, round.r)
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
// with nothing left running and the request cut short not reported.
func TestRunConcurrentAndStops(t *testing.T) {
	before := runtime.NumGoroutine()
	slow, fast := newMirror(t), newMirror(t)
	slow.set(pathList, hang)
	cfg := ProbeConfig{Module: testModule, Interval: 5 * ms, Jitter: -1, Timeout: 10 * time.Second}
	p, pool, ups, _ := testProber(t, cfg, slow.srv.URL, fast.srv.URL)

	ctx, cancel := context.WithCancel(context.Background())
	var stopped atomic.Bool
	done := make(chan struct{})
	go func() { p.Run(ctx); stopped.Store(true); close(done) }()

	deadline := time.Now().Add(3 * time.Second)
	for fast.count(pathList) < 5 {
		if time.Now().After(deadline) {
			t.Fatalf("the fast upstream was probed %d times in 3s", fast.count(pathList))
		}
		time.Sleep(ms)
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
	if d := time.Since(start); d > 500*ms {
		t.Errorf("Run took %v to return after cancel", d)
	}
	if s := status(pool, ups[0]); s.Probes != 0 {
		t.Errorf("the probe cut short by cancel was reported: %+v", s)
	}
	// (The fifth may have been cut short by the cancel.)
	if s := status(pool, ups[1]); s.Probes < 4 || s.ProbeFailures != 0 {
		t.Errorf("the fast upstream: %d probes, %d failures", s.Probes, s.ProbeFailures)
	}

	deadline = time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines before, %d after:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * ms)
	}
}

func TestRunNothingToProbe(t *testing.T) {
	m := newMirror(t)
	var logs mirrortest.SyncBuffer
	p, _, _, _ := testProber(t, ProbeConfig{Interval: ms, Logger: slog.New(slog.NewTextHandler(&logs, nil))}, m.srv.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 50*ms)
	defer cancel()
	p.Run(ctx)
	if got := m.asked(); len(got) != 0 {
		t.Errorf("requests made with nothing to probe: %v", m.paths())
	}
	if !strings.Contains(logs.String(), "active probing is off") {
		t.Errorf("nothing logged: %q", logs.String())
	}
}

func TestRunNoUpstreams(t *testing.T) {
	p := NewProber(NewPool(nil, Config{}, nil), testProbeConfig(), fakeRequester{}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	select {
	case <-done:
		t.Fatal("Run returned before cancel")
	case <-time.After(20 * ms):
	}
	cancel()
	<-done
}

// TestStaleNeedsUsableList: only a usable 200 list is compared with the
// others: a list that failed, or a 404, neither makes its upstream stale
// nor makes others stale.
func TestStaleNeedsUsableList(t *testing.T) {
	for _, tc := range []struct {
		name string
		r    reply
	}{
		{"404", answer(404)},
		{"bad body", failure(FailBadBody, 200, 0)},
		{"5xx", failure(FailStatus5xx, 503, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			odd, good := newMirror(t), newMirror(t)
			odd.set(pathList, tc.r)
			p, pool, ups, clock := testProber(t, testProbeConfig(), odd.srv.URL, good.srv.URL)
			for range 3 {
				clock.Advance(15 * time.Second)
				for _, r := range p.ProbeOnce(t.Context()) {
					if r.Stale != nil {
						t.Fatalf("%s stale: %q", r.Upstream.Name, r.Stale)
					}
					if r.Upstream == ups[0] && r.Endpoints[1].Versions != nil {
						t.Fatalf("versions %q from a list that was not a usable 200", r.Endpoints[1].Versions)
					}
				}
			}
			for _, u := range ups {
				if s := status(pool, u); s.Stale != nil {
					t.Errorf("%s: stale %q", u.Name, s.Stale)
				}
			}
		})
	}

	// And a list another upstream lacks versions of makes only that one
	// stale, even when the fresh one's list is seen after it.
	stale, fresh := newMirror(t), newMirror(t)
	stale.set(pathList, body("v1.0.0\n"))
	p, pool, ups, clock := testProber(t, ProbeConfig{Module: testModule}, stale.srv.URL, fresh.srv.URL)
	for i := range 3 {
		clock.Advance(15 * time.Second)
		rs := p.probeUpstream(t.Context(), ups[0])
		rf := p.probeUpstream(t.Context(), ups[1])
		if rf.Stale != nil {
			t.Fatalf("round %d: the fresh upstream is stale: %q", i, rf.Stale)
		}
		// Round 0 saw no other list before the stale one's; round 1 is
		// its first miss; round 2 its second.
		if wantStale := i == 2; (rs.Stale != nil) != wantStale {
			t.Fatalf("round %d: stale %q, want stale %v", i, rs.Stale, wantStale)
		}
	}
	if s := status(pool, ups[0]); !slices.Equal(s.Stale, []string{"v1.1.0"}) || s.State != StateDegraded {
		t.Errorf("stale upstream: %s, stale %q", s.State, s.Stale)
	}
}

// denialProber returns a prober of mirrors for the denial tests, with its
// logs.
func denialProber(t *testing.T, mirrors ...*mirror) (*Prober, *Pool, []*Upstream, *FakeClock, *mirrortest.SyncBuffer) {
	t.Helper()
	var urls []string
	for _, m := range mirrors {
		urls = append(urls, m.srv.URL)
	}
	logs := &mirrortest.SyncBuffer{}
	cfg := testProbeConfig()
	cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	p, pool, ups, clock := testProber(t, cfg, urls...)
	return p, pool, ups, clock, logs
}

// TestProbeDenial: an upstream that answers "not found" (403, 404, 410)
// for a probe path another upstream served is marked in the pool, without
// a failure; a 400, or a failure, is no denial.
func TestProbeDenial(t *testing.T) {
	for _, tc := range []struct {
		r      reply
		status int
		denial bool
	}{
		{answer(404), 404, true},
		{answer(410), 410, true},
		{answer(403), 403, true},
		{answer(400), 400, false},
		{failure(FailStatus5xx, 503, 0), 503, false},
		{failure(FailAuth, 401, 0), 401, false},
		{nil, 200, false},
	} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			denier, server := newMirror(t), newMirror(t)
			denier.set(pathInfo, tc.r)
			p, pool, ups, _, logs := denialProber(t, denier, server)
			// The upstream that serves the path is probed first, so that
			// the other's answer is judged in this round.
			if r := p.probeUpstream(t.Context(), ups[1]); !r.OK() {
				t.Fatalf("the serving upstream: %+v", r)
			}
			r := p.probeUpstream(t.Context(), ups[0])
			e := r.Endpoints[2]
			if e.Kind != ProbeInfo || e.Outcome.Status != tc.status || !e.Reported {
				t.Fatalf("info probe: %+v", e)
			}
			s := status(pool, ups[0])
			if !tc.denial {
				if s.Denial != nil || strings.Contains(logs.String(), "not found for what another upstream serves") {
					t.Errorf("denial %+v for a %d; logs:\n%s", s.Denial, tc.status, logs)
				}
				return
			}
			if e.Outcome.Failure != FailNone || s.ProbeFailures != 0 {
				t.Errorf("a %d counted as a failure: %+v; %d probe failures", tc.status, e.Outcome, s.ProbeFailures)
			}
			want := Denial{Path: pathInfo, Status: tc.status, ServedBy: ups[1].Name}
			if s.Denial == nil || s.Denial.Path != want.Path || s.Denial.Status != want.Status || s.Denial.ServedBy != want.ServedBy {
				t.Fatalf("pool denial %+v, want %+v", s.Denial, want)
			}
			if s.State != StateDegraded {
				t.Errorf("denying upstream is %s, want degraded", s.State)
			}
			if out := logs.String(); !strings.Contains(out, "level=WARN") || !strings.Contains(out, "served_by="+ups[1].Name) {
				t.Errorf("no warning naming the upstream that served it:\n%s", out)
			}
			if s := status(pool, ups[1]); s.Denial != nil || s.State != StateHealthy {
				t.Errorf("the serving upstream: %s, denial %+v", s.State, s.Denial)
			}
		})
	}
}

// TestProbeDenialAcrossRounds: a denial seen before the other upstream's
// 200 is judged in the next round; a 200 that failed its checks, or one
// older than three intervals, is nothing to deny; and the denial ends
// when the upstream serves the path.
func TestProbeDenialAcrossRounds(t *testing.T) {
	denier, server := newMirror(t), newMirror(t)
	denier.set(pathList, answer(404))
	p, pool, ups, clock, _ := denialProber(t, denier, server)
	ctx := t.Context()
	round := func() {
		clock.Advance(15 * time.Second)
		p.probeUpstream(ctx, ups[0])
		p.probeUpstream(ctx, ups[1])
	}
	round()
	if d := status(pool, ups[0]).Denial; d != nil {
		t.Fatalf("denial %+v before the other upstream served the path", d)
	}
	round()
	if d := status(pool, ups[0]).Denial; d == nil || d.Path != pathList || d.ServedBy != ups[1].Name {
		t.Fatalf("denial %+v in the second round, want one of the list", d)
	}

	// It serves the path again: the denial ends.
	denier.set(pathList, nil)
	round()
	if s := status(pool, ups[0]); s.Denial != nil || s.State != StateHealthy {
		t.Fatalf("after serving the path: %s, denial %+v", s.State, s.Denial)
	}

	// A 200 that failed its checks serves nothing.
	denier.set(pathList, answer(404))
	server.set(pathList, failure(FailBadBody, 200, 0))
	p, pool, ups, clock, _ = denialProber(t, denier, server)
	p.probeUpstream(ctx, ups[1])
	p.probeUpstream(ctx, ups[0])
	if d := status(pool, ups[0]).Denial; d != nil {
		t.Errorf("denial %+v of what the other upstream did not serve", d)
	}

	// A 200 older than three intervals (45s by default) is not compared
	// against.
	server.set(pathList, nil)
	p, pool, ups, clock, _ = denialProber(t, denier, server)
	p.probeUpstream(ctx, ups[1])
	clock.Advance(45*time.Second + ms)
	p.probeUpstream(ctx, ups[0])
	if d := status(pool, ups[0]).Denial; d != nil {
		t.Errorf("denial %+v of what was served more than 45s before", d)
	}
	p.probeUpstream(ctx, ups[1])
	clock.Advance(45 * time.Second)
	p.probeUpstream(ctx, ups[0])
	if d := status(pool, ups[0]).Denial; d == nil {
		t.Errorf("no denial of what was served 45s before")
	}
}

// TestProbeDenialServedByPreferred: when several upstreams served the
// path, the denial names the most preferred of them.
func TestProbeDenialServedByPreferred(t *testing.T) {
	for range 10 { // the served book is a map: try its orders
		a, b, c, denier := newMirror(t), newMirror(t), newMirror(t), newMirror(t)
		denier.set(pathSupported, answer(404))
		p, pool, ups, _, _ := denialProber(t, a, b, c, denier)
		for _, i := range []int{2, 1, 0, 3} {
			p.probeUpstream(t.Context(), ups[i])
		}
		d := status(pool, ups[3]).Denial
		if d == nil || d.ServedBy != ups[0].Name || d.Path != pathSupported {
			t.Fatalf("denial %+v, want one of %s served by %s", d, pathSupported, ups[0].Name)
		}
	}
}

var _ Requester = fakeRequester{}
