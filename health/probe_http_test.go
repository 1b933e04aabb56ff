package health_test

// End-to-end tests of the Prober: its requests made by the real upstream
// client (proxy/upstream) to httptest mirrors on 127.0.0.1. The prober's
// own logic is tested with a fake Requester in probe_test.go.

import (
	"archive/zip"
	"bytes"
	"context"
	"github.com/gofailover/gofailover/proxy/mirrortest"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofailover/gofailover/health"
	"github.com/gofailover/gofailover/proxy/protocol"
	"github.com/gofailover/gofailover/proxy/upstream"
)

// The probe targets the test mirrors serve.
const (
	testSumDB   = "sum.example"
	testModule  = "example.com/Foo/bar"
	testVersion = "v1.1.0"

	// The protocol paths, as the mirror's handler sees them (unescaped).
	pathSupported = "/sumdb/sum.example/supported"
	pathList      = "/example.com/!foo/bar/@v/list"
	pathInfo      = "/example.com/!foo/bar/@v/v1.1.0.info"
	pathMod       = "/example.com/!foo/bar/@v/v1.1.0.mod"
	pathZip       = "/example.com/!foo/bar/@v/v1.1.0.zip"
	pathLatest    = "/example.com/!foo/bar/@latest"
)

const ms = time.Millisecond

func testProbeConfig() health.ProbeConfig {
	return health.ProbeConfig{SumDB: testSumDB, Module: testModule, Version: testVersion, Timeout: 2 * time.Second}
}

func fullProbeConfig() health.ProbeConfig {
	cfg := testProbeConfig()
	cfg.Full = true
	return cfg
}

// mirror is an httptest upstream that answers the probe targets like a good
// mirror, except for paths given an override, and records what it was asked.
type mirror struct {
	srv *httptest.Server

	mu        sync.Mutex
	overrides map[string]http.HandlerFunc
	uris      []string // request targets as sent
	agents    []string
	auths     []string // "user:password" of basic auth, "" for none
	hits      map[string]int
}

func newMirror(t *testing.T) *mirror {
	t.Helper()
	m := &mirror{overrides: map[string]http.HandlerFunc{}, hits: map[string]int{}}
	m.srv = httptest.NewServer(http.HandlerFunc(m.serve))
	m.srv.Config.ErrorLog = mirrortest.QuietLog()
	t.Cleanup(m.srv.Close)
	return m
}

func (m *mirror) serve(w http.ResponseWriter, r *http.Request) {
	user, pass, _ := r.BasicAuth()
	m.mu.Lock()
	m.uris = append(m.uris, r.RequestURI)
	m.agents = append(m.agents, r.UserAgent())
	if user != "" || pass != "" {
		m.auths = append(m.auths, user+":"+pass)
	} else {
		m.auths = append(m.auths, "")
	}
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

// asked returns the request targets sent, joined by spaces.
func (m *mirror) asked() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return strings.Join(m.uris, " ")
}

func goodMirror(w http.ResponseWriter, r *http.Request) {
	switch strings.TrimPrefix(r.URL.Path, "/prefix") {
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

// testZip returns a small module zip of testModule at testVersion.
func testZip() []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	f, _ := zw.Create(testModule + "@" + testVersion + "/go.mod")
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

// testProber returns a prober of a pool over the given upstream URLs,
// whose requests a real upstream client with ccfg makes, with a fake
// clock.
func testProber(t *testing.T, cfg health.ProbeConfig, ccfg upstream.Config, urls ...string) (*health.Prober, *health.Pool, []*health.Upstream, *health.FakeClock) {
	t.Helper()
	ups, err := health.NewUpstreams(urls, health.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if ccfg.TempDir == "" {
		ccfg.TempDir = t.TempDir()
	}
	clock := &health.FakeClock{}
	pool := health.NewPool(ups, health.Config{}, clock)
	return health.NewProber(pool, cfg, upstream.New(ccfg), clock), pool, ups, clock
}

// status returns the pool's status of u.
func status(t *testing.T, p *health.Pool, u *health.Upstream) health.Status {
	t.Helper()
	for _, s := range p.Snapshot() {
		if s.Upstream == u {
			return s
		}
	}
	t.Fatalf("%s is not in the pool", u.Name)
	return health.Status{}
}

func TestProbeHTTPHealthy(t *testing.T) {
	m := newMirror(t)
	// The mirror lives under a path prefix, behind credentials.
	base := strings.Replace(m.srv.URL, "http://", "http://user:secret@", 1) + "/prefix/"
	p, pool, ups, _ := testProber(t, testProbeConfig(), upstream.Config{}, base)
	res := p.ProbeOnce(context.Background())
	if len(res) != 1 || res[0].Upstream != ups[0] {
		t.Fatalf("ProbeOnce = %+v, want one result for %s", res, ups[0].Name)
	}
	r := res[0]
	if !r.OK() {
		t.Errorf("OK() = false: %+v", r)
	}
	wantKinds := []health.ProbeKind{health.ProbeSumDB, health.ProbeList, health.ProbeInfo}
	wantPaths := []string{pathSupported, pathList, pathInfo}
	if len(r.Endpoints) != len(wantKinds) {
		t.Fatalf("%d endpoints, want %d: %+v", len(r.Endpoints), len(wantKinds), r.Endpoints)
	}
	for i, e := range r.Endpoints {
		o := e.Outcome
		if e.Kind != wantKinds[i] || !e.Reported || e.Skipped || o.Status != 200 || o.Failure != health.FailNone || o.Err != nil || !o.Probe {
			t.Errorf("endpoint %d = %+v, want a reported 200 %s", i, e, wantKinds[i])
		}
		if o.Path != wantPaths[i] {
			t.Errorf("endpoint %d: outcome path %q, want %q (the pool clears a denial by it)", i, o.Path, wantPaths[i])
		}
		if o.FirstByte <= 0 || o.Total < o.FirstByte {
			t.Errorf("endpoint %d: first byte %v, total %v", i, o.FirstByte, o.Total)
		}
		if want := ups[0].Name + wantPaths[i]; e.URL != want || strings.Contains(e.URL, "secret") || !strings.Contains(e.URL, "/prefix/") {
			t.Errorf("endpoint %d URL %q, want %q: the redacted URL under /prefix/", i, e.URL, want)
		}
	}
	if got := r.Endpoints[1].Versions; !slices.Equal(got, []string{"v1.0.0", "v1.1.0"}) {
		t.Errorf("list versions %q", got)
	}
	// The paths are escaped as the go command escapes them: '!' as %21.
	want := "/prefix/sumdb/sum.example/supported /prefix/example.com/%21foo/bar/@v/list /prefix/example.com/%21foo/bar/@v/v1.1.0.info"
	if got := m.asked(); got != want {
		t.Errorf("mirror was asked for\n%s\nwant\n%s", got, want)
	}
	m.mu.Lock()
	agents, auths := m.agents, m.auths
	m.mu.Unlock()
	for i := range agents {
		if agents[i] != "gofailover-probe" {
			t.Errorf("User-Agent %q, want gofailover-probe", agents[i])
		}
		if auths[i] != "user:secret" {
			t.Errorf("credentials %q sent, want the URL's", auths[i])
		}
	}
	s := status(t, pool, ups[0])
	if s.Probes != 3 || s.ProbeFailures != 0 || s.Requests != 0 || s.State != health.StateHealthy {
		t.Errorf("pool status: %d probes, %d failures, %d requests, %s; want 3, 0, 0, healthy", s.Probes, s.ProbeFailures, s.Requests, s.State)
	}
}

func TestProbeHTTPFailures(t *testing.T) {
	const none = health.FailNone
	type kinds = [3]health.FailureKind // sumdb, list, info
	for _, tc := range []struct {
		name      string
		path      string
		h         http.HandlerFunc
		timeout   time.Duration
		want      kinds
		skipped   [3]bool
		status    int // of the overridden endpoint
		retry     time.Duration
		errSubstr string
	}{
		{name: "503 with Retry-After", path: pathList, h: answer(503, "5"),
			want: kinds{none, health.FailStatus5xx, none}, status: 503, retry: 5 * time.Second, errSubstr: "503 Service Unavailable: Service Unavailable"},
		{name: "500", path: pathInfo, h: answer(500, ""),
			want: kinds{none, none, health.FailStatus5xx}, status: 500},
		{name: "429 with Retry-After skips the rest", path: pathSupported, h: answer(429, "90"),
			want: kinds{health.FailRateLimit, none, none}, skipped: [3]bool{false, true, true}, status: 429, retry: 90 * time.Second},
		{name: "401", path: pathList, h: answer(401, ""), want: kinds{none, health.FailAuth, none}, status: 401},
		{name: "404 is an answer", path: pathInfo, h: answer(404, ""), status: 404},
		{name: "410 is an answer", path: pathList, h: answer(410, ""), status: 410},
		{name: "403 is an answer", path: pathList, h: answer(403, ""), status: 403},
		{name: "400 is an answer", path: pathInfo, h: answer(400, ""), status: 400},
		{name: "404 for the checksum database is an answer", path: pathSupported, h: answer(404, ""), status: 404},
		{name: "204", path: pathInfo, h: answer(204, ""), want: kinds{none, none, health.FailBadStatus}, status: 204},
		{name: "list of HTML", path: pathList, h: body("<html><body>Sign in</body></html>\n"),
			want: kinds{none, health.FailBadBody, none}, status: 200, errSubstr: "is not a version list: line 1"},
		{name: "list with one bad line", path: pathList, h: body("v1.0.0\n\nv1.1.0 2024-01-02T03:04:05Z\nlatest\n"),
			want: kinds{none, health.FailBadBody, none}, status: 200, errSubstr: "line 4"},
		{name: "empty list is fine", path: pathList, h: body(""), status: 200},
		{name: "info not JSON", path: pathInfo, h: body("<html></html>"),
			want: kinds{none, none, health.FailBadBody}, status: 200, errSubstr: "is not version information JSON"},
		{name: "info without Version", path: pathInfo, h: body(`{"Time":"2024-01-02T03:04:05Z"}`),
			want: kinds{none, none, health.FailBadBody}, status: 200},
		{name: "info of another version", path: pathInfo, h: body(`{"Version":"v1.0.0"}`),
			want: kinds{none, none, health.FailBadBody}, status: 200, errSubstr: `names version "v1.0.0", not the v1.1.0 asked for`},
		{name: "list too large", path: pathList, h: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "100000000")
			io.WriteString(w, "v1.0.0\n")
		}, want: kinds{none, health.FailTooLarge, none}, status: 200, errSubstr: "exceeds"},
		{name: "no header in time", path: pathList, h: hang, timeout: 100 * ms,
			want: kinds{none, health.FailTimeout, none}, skipped: [3]bool{false, false, true}, errSubstr: "deadline exceeded"},
		{name: "body stalls", path: pathList, h: stall, timeout: 100 * ms,
			want: kinds{none, health.FailTimeout, none}, status: 200, errSubstr: "deadline exceeded"},
		{name: "connection closed", path: pathSupported, h: mirrortest.HangUp,
			want: kinds{health.FailReset, none, none}, skipped: [3]bool{false, true, true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMirror(t)
			m.set(tc.path, tc.h)
			cfg := testProbeConfig()
			if tc.timeout > 0 {
				cfg.Timeout = tc.timeout
			}
			p, pool, ups, _ := testProber(t, cfg, upstream.Config{}, m.srv.URL)
			r := p.ProbeOnce(context.Background())[0]

			reported, failures := 0, 0
			var o health.Outcome
			for i, e := range r.Endpoints {
				if e.Skipped != tc.skipped[i] || e.Reported == tc.skipped[i] {
					t.Errorf("%s: skipped %v reported %v, want skipped %v", e.Kind, e.Skipped, e.Reported, tc.skipped[i])
				}
				if e.Outcome.Failure != tc.want[i] {
					t.Errorf("%s: failure %q, want %q (err %v)", e.Kind, e.Outcome.Failure, tc.want[i], e.Outcome.Err)
				}
				if (e.Outcome.Failure == health.FailNone) != (e.Outcome.Err == nil) {
					t.Errorf("%s: failure %q with err %v", e.Kind, e.Outcome.Failure, e.Outcome.Err)
				}
				if e.Reported {
					reported++
					if e.Outcome.Failure != health.FailNone {
						failures++
					}
				}
				if strings.HasSuffix(e.URL, tc.path) {
					o = e.Outcome
				}
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
			if wantOK := failures == 0 && reported == 3; r.OK() != wantOK {
				t.Errorf("OK() = %v, want %v", r.OK(), wantOK)
			}
			s := status(t, pool, ups[0])
			if s.Probes != uint64(reported) || s.ProbeFailures != uint64(failures) {
				t.Errorf("pool counted %d probes, %d failures; want %d, %d", s.Probes, s.ProbeFailures, reported, failures)
			}
			if failures > 0 && s.LastFailure != o.Failure {
				t.Errorf("pool shows last failure %q, want %q", s.LastFailure, o.Failure)
			}
		})
	}
}

// TestProbeHTTPClientTimeouts: the client's own first-byte and idle
// timeouts are judged by the client, before the probe's timeout.
func TestProbeHTTPClientTimeouts(t *testing.T) {
	for _, tc := range []struct {
		name   string
		h      http.HandlerFunc
		ccfg   upstream.Config
		status int
	}{
		{"first byte", hang, upstream.Config{FirstByteTimeout: 50 * ms}, 0},
		{"idle body", stall, upstream.Config{IdleTimeout: 50 * ms}, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMirror(t)
			m.set(pathList, tc.h)
			cfg := health.ProbeConfig{Module: testModule, Timeout: 5 * time.Second}
			p, pool, ups, _ := testProber(t, cfg, tc.ccfg, m.srv.URL)
			start := time.Now()
			e := p.ProbeOnce(context.Background())[0].Endpoints[0]
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("the probe took %v: the client's timeout did not apply", d)
			}
			if !e.Reported || e.Outcome.Failure != health.FailTimeout || e.Outcome.Status != tc.status {
				t.Errorf("endpoint %+v: want a reported timeout, status %d", e, tc.status)
			}
			if e.Outcome.Err == nil || strings.Contains(e.Outcome.Err.Error(), "deadline exceeded") {
				t.Errorf("err %v: want the client's, not the probe timeout's", e.Outcome.Err)
			}
			if s := status(t, pool, ups[0]); s.ProbeFailures != 1 || s.LastFailure != health.FailTimeout {
				t.Errorf("pool: %d failures, last %q", s.ProbeFailures, s.LastFailure)
			}
		})
	}
}

// TestProbeHTTPNoSlot: a probe the client does not make, because the
// upstream's request slots are taken (by users' requests), says nothing
// about the upstream: nothing is reported, and nothing is skipped.
func TestProbeHTTPNoSlot(t *testing.T) {
	m := newMirror(t)
	const held = "/example.com/!foo/bar/@v/v1.0.0.zip"
	arrived := make(chan struct{})
	m.set(held, func(w http.ResponseWriter, r *http.Request) {
		close(arrived)
		<-r.Context().Done()
	})
	ups, err := health.NewUpstreams([]string{m.srv.URL}, health.Limits{MaxInFlight: 1})
	if err != nil {
		t.Fatal(err)
	}
	clock := &health.FakeClock{}
	pool := health.NewPool(ups, health.Config{}, clock)
	client := upstream.New(upstream.Config{SlotWait: 20 * ms, TempDir: t.TempDir()})
	p := health.NewProber(pool, testProbeConfig(), client, clock)

	req, err := protocol.ParseRequest(held)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan *upstream.Response)
	go func() { got <- client.Get(ctx, ups[0], req, upstream.Options{}) }()
	<-arrived

	r := p.ProbeOnce(context.Background())[0]
	cancel()
	if resp := <-got; !resp.Cancelled {
		t.Errorf("the request holding the slot: %+v", resp)
	}
	for _, e := range r.Endpoints {
		if e.Reported || e.Skipped || e.Outcome.Failure != health.FailNone {
			t.Errorf("%s: %+v, want neither reported nor skipped, no failure", e.Kind, e)
		}
	}
	if got := m.asked(); got != strings.ReplaceAll(held, "!", "%21") {
		t.Errorf("mirror asked %s, want only the request holding the slot", got)
	}
	if s := status(t, pool, ups[0]); s.Probes != 0 || s.State != health.StateHealthy {
		t.Errorf("pool: %d probes, %s; want none, healthy", s.Probes, s.State)
	}
}

func TestProbeHTTPRetryAfterHoldsUpstream(t *testing.T) {
	m := newMirror(t)
	m.set(pathSupported, answer(429, "30"))
	p, pool, ups, clock := testProber(t, testProbeConfig(), upstream.Config{}, m.srv.URL)
	p.ProbeOnce(context.Background())
	s := status(t, pool, ups[0])
	if want := clock.Now().Add(30 * time.Second); s.State != health.StateOpen || !s.Until.Equal(want) {
		t.Errorf("after a 429 with Retry-After 30: state %s until %v, want open until %v", s.State, s.Until, want)
	}
	if m.count(pathList) != 0 {
		t.Errorf("the list was probed after a 429")
	}
}

func TestProbeHTTPRefused(t *testing.T) {
	good := newMirror(t)
	closed := strings.Replace(mirrortest.ClosedURL(t), "http://", "http://user:secret@", 1)
	p, pool, ups, _ := testProber(t, testProbeConfig(), upstream.Config{}, closed, good.srv.URL)
	res := p.ProbeOnce(context.Background())
	bad := res[0]
	o := bad.Endpoints[0].Outcome
	if o.Failure != health.FailRefused || o.Status != 0 {
		t.Errorf("closed port: %+v, want refused", o)
	}
	if o.Err == nil || strings.Contains(o.Err.Error(), "secret") || strings.Contains(bad.Endpoints[0].URL, "secret") {
		t.Errorf("error %v, URL %q: want an error, without credentials", o.Err, bad.Endpoints[0].URL)
	}
	if !bad.Endpoints[1].Skipped || !bad.Endpoints[2].Skipped {
		t.Errorf("probes after a refused connection were not skipped: %+v", bad.Endpoints)
	}
	if e, ok := bad.Failed(); !ok || e.Kind != health.ProbeSumDB {
		t.Errorf("Failed() = %+v, %v", e, ok)
	}
	if !res[1].OK() {
		t.Errorf("the good upstream: %+v", res[1])
	}
	if s := status(t, pool, ups[0]); s.ProbeFailures != 1 || s.LastFailure != health.FailRefused {
		t.Errorf("pool: %d failures, last %q; want 1 refused", s.ProbeFailures, s.LastFailure)
	}
}

func TestProbeHTTPTimesWithSystemClock(t *testing.T) {
	m := newMirror(t)
	m.set(pathList, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(30 * ms)
		io.WriteString(w, "v1.0.0\n")
		w.(http.Flusher).Flush()
		time.Sleep(20 * ms)
		io.WriteString(w, "v1.1.0\n")
	})
	ups, err := health.NewUpstreams([]string{m.srv.URL}, health.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	pool := health.NewPool(ups, health.Config{}, nil)
	p := health.NewProber(pool, health.ProbeConfig{Module: testModule}, upstream.New(upstream.Config{}), nil)
	r := p.ProbeOnce(context.Background())[0]
	if len(r.Endpoints) != 1 || r.Endpoints[0].Kind != health.ProbeList {
		t.Fatalf("endpoints %+v, want only the list", r.Endpoints)
	}
	o := r.Endpoints[0].Outcome
	if o.Failure != health.FailNone || o.FirstByte < 30*ms || o.Total < 50*ms || o.Total <= o.FirstByte {
		t.Errorf("outcome %+v: want success, first byte ≥ 30ms, total ≥ 50ms and after the first byte", o)
	}
	if s := status(t, pool, ups[0]); s.EWMA < 30*ms {
		t.Errorf("pool EWMA %v, want the probe's time to first byte", s.EWMA)
	}
}

func TestProbeHTTPCancelled(t *testing.T) {
	m := newMirror(t)
	m.set(pathList, hang)
	p, pool, ups, _ := testProber(t, testProbeConfig(), upstream.Config{}, m.srv.URL)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*ms, cancel)
	start := time.Now()
	r := p.ProbeOnce(ctx)[0]
	if d := time.Since(start); d > time.Second {
		t.Errorf("ProbeOnce took %v after its context was cancelled", d)
	}
	e := r.Endpoints
	if !e[0].Reported || e[1].Reported || e[1].Skipped || !e[2].Skipped || e[2].Reported {
		t.Errorf("endpoints %+v: want supported reported, list cut short and not reported, info skipped", e)
	}
	if s := status(t, pool, ups[0]); s.Probes != 1 || s.ProbeFailures != 0 {
		t.Errorf("pool: %d probes, %d failures; want 1, 0", s.Probes, s.ProbeFailures)
	}
}

func TestProbeHTTPFullHealthy(t *testing.T) {
	m := newMirror(t)
	tmp := t.TempDir()
	p, pool, ups, _ := testProber(t, fullProbeConfig(), upstream.Config{TempDir: tmp}, m.srv.URL)
	r := p.ProbeOnce(context.Background())[0]
	if !r.OK() {
		t.Errorf("OK() = false: %+v", r)
	}
	wantKinds := []health.ProbeKind{health.ProbeSumDB, health.ProbeList, health.ProbeInfo, health.ProbeMod, health.ProbeZip, health.ProbeLatest}
	var kinds []health.ProbeKind
	for _, e := range r.Endpoints {
		kinds = append(kinds, e.Kind)
		if !e.Reported || e.Outcome.Status != 200 || e.Outcome.Failure != health.FailNone {
			t.Errorf("%s: %+v, want a reported 200", e.Kind, e)
		}
	}
	if !slices.Equal(kinds, wantKinds) {
		t.Errorf("kinds %v, want %v", kinds, wantKinds)
	}
	want := strings.ReplaceAll(strings.Join([]string{pathSupported, pathList, pathInfo, pathMod, pathZip, pathLatest}, " "), "!", "%21")
	if got := m.asked(); got != want {
		t.Errorf("mirror was asked for %s, want %s", got, want)
	}
	if s := status(t, pool, ups[0]); s.Probes != 6 || s.ProbeFailures != 0 {
		t.Errorf("pool: %d probes, %d failures; want 6, 0", s.Probes, s.ProbeFailures)
	}
	if left, err := os.ReadDir(tmp); err != nil || len(left) != 0 {
		t.Errorf("the zip probe left %v in its directory (%v)", left, err)
	}
}

func TestProbeHTTPFullBodies(t *testing.T) {
	for _, tc := range []struct {
		name      string
		path      string
		h         http.HandlerFunc
		want      health.FailureKind
		errSubstr string
	}{
		{name: "mod with comments first", path: pathMod, h: body("// a comment\n\nmodule example.com/Foo/bar\n")},
		{name: "mod with a quoted path", path: pathMod, h: body("module \"example.com/Foo/bar\"\n")},
		{name: "mod of HTML", path: pathMod, h: body("<html><body>Sign in</body></html>\n"),
			want: health.FailBadBody, errSubstr: "is not a go.mod file"},
		{name: "empty mod", path: pathMod, h: body(""), want: health.FailBadBody, errSubstr: "no module directive"},
		{name: "zip of HTML", path: pathZip, h: body("<html></html>"), want: health.FailBadBody, errSubstr: "is not a valid module zip"},
		{name: "empty zip", path: pathZip, h: body(""), want: health.FailBadBody, errSubstr: "is not a valid module zip"},
		{name: "zip of three bytes", path: pathZip, h: body("PK\x03"), want: health.FailBadBody},
		{name: "zip of another version", path: pathZip, h: func(w http.ResponseWriter, r *http.Request) {
			var b bytes.Buffer
			zw := zip.NewWriter(&b)
			f, _ := zw.Create(testModule + "@v1.0.0/go.mod")
			io.WriteString(f, "module example.com/Foo/bar\n")
			zw.Close()
			w.Write(b.Bytes())
		}, want: health.FailBadBody, errSubstr: "is not a valid module zip"},
		{name: "zip cut short", path: pathZip, h: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "100000")
			w.Write(testZip())
		}, want: health.FailReset},
		{name: "404 zip is an answer", path: pathZip, h: answer(404, "")},
		{name: "zip 503", path: pathZip, h: answer(503, ""), want: health.FailStatus5xx},
		{name: "latest of an older version", path: pathLatest, h: body(`{"Version":"v1.0.0"}`)},
		{name: "latest prerelease", path: pathLatest, h: body(`{"Version":"v1.2.0-rc.1"}`)},
		{name: "latest not JSON", path: pathLatest, h: body("v1.1.0"), want: health.FailBadBody, errSubstr: "is not version information JSON"},
		{name: "latest without a version", path: pathLatest, h: body(`{"Time":"2024-01-02T03:04:05Z"}`),
			want: health.FailBadBody, errSubstr: `names "", which is not a version`},
		{name: "latest not semver", path: pathLatest, h: body(`{"Version":"master"}`), want: health.FailBadBody},
		{name: "latest of another major version", path: pathLatest, h: body(`{"Version":"v2.0.0"}`),
			want: health.FailBadBody, errSubstr: `names "v2.0.0", which is not a version of example.com/Foo/bar`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMirror(t)
			m.set(tc.path, tc.h)
			tmp := t.TempDir()
			p, _, _, _ := testProber(t, fullProbeConfig(), upstream.Config{TempDir: tmp}, m.srv.URL)
			r := p.ProbeOnce(context.Background())[0]
			for _, e := range r.Endpoints {
				want := health.FailNone
				if strings.HasSuffix(e.URL, tc.path) {
					want = tc.want
					if tc.errSubstr != "" && (e.Outcome.Err == nil || !strings.Contains(e.Outcome.Err.Error(), tc.errSubstr)) {
						t.Errorf("%s: err %v, want it to contain %q", e.Kind, e.Outcome.Err, tc.errSubstr)
					}
				}
				if e.Outcome.Failure != want || e.Skipped || !e.Reported {
					t.Errorf("%s: failure %q skipped %v reported %v (err %v), want %q", e.Kind, e.Outcome.Failure, e.Skipped, e.Reported, e.Outcome.Err, want)
				}
			}
			if left, err := os.ReadDir(tmp); err != nil || len(left) != 0 {
				t.Errorf("the zip probe left %v in its directory (%v)", left, err)
			}
		})
	}
}

// TestProbeHTTPDenial: a mirror that answers 404 for the probe version's
// .info, which another mirror serves, is marked in the pool (degraded, not
// failing) within two rounds, and no longer once it serves it.
func TestProbeHTTPDenial(t *testing.T) {
	denier, server := newMirror(t), newMirror(t)
	denier.set(pathInfo, answer(404, ""))
	p, pool, ups, clock := testProber(t, testProbeConfig(), upstream.Config{}, denier.srv.URL, server.srv.URL)
	for range 2 { // the first round may see the 404 before the 200
		clock.Advance(15 * time.Second)
		for _, r := range p.ProbeOnce(t.Context()) {
			if !r.OK() {
				t.Fatalf("%s: %+v", r.Upstream.Name, r)
			}
		}
	}
	s := status(t, pool, ups[0])
	if s.Denial == nil || s.Denial.Path != pathInfo || s.Denial.Status != 404 || s.Denial.ServedBy != ups[1].Name {
		t.Fatalf("denial %+v, want the 404 of %s served by %s", s.Denial, pathInfo, ups[1].Name)
	}
	if s.State != health.StateDegraded || s.ProbeFailures != 0 {
		t.Errorf("denying mirror: %s, %d probe failures; want degraded, none", s.State, s.ProbeFailures)
	}
	if s := status(t, pool, ups[1]); s.Denial != nil || s.State != health.StateHealthy {
		t.Errorf("serving mirror: %s, denial %+v", s.State, s.Denial)
	}

	denier.set(pathInfo, nil)
	clock.Advance(15 * time.Second)
	p.ProbeOnce(t.Context())
	if s := status(t, pool, ups[0]); s.Denial != nil || s.State != health.StateHealthy {
		t.Errorf("after serving the path: %s, denial %+v", s.State, s.Denial)
	}
}

// TestRunHTTPStops: Run with real requests, one of them hung: the other
// upstream is probed round after round, and cancelling ends Run promptly
// without reporting the request cut short.
func TestRunHTTPStops(t *testing.T) {
	slow, fast := newMirror(t), newMirror(t)
	slow.set(pathList, hang)
	cfg := health.ProbeConfig{Module: testModule, Interval: 5 * ms, Jitter: -1, Timeout: 10 * time.Second}
	p, pool, ups, _ := testProber(t, cfg, upstream.Config{}, slow.srv.URL, fast.srv.URL)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
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
	if s := status(t, pool, ups[0]); s.Probes != 0 {
		t.Errorf("the probe cut short by cancel was reported: %+v", s)
	}
}
