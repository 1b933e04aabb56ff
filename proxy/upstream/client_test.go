package upstream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/gofailover/gofailover/proxy/mirrortest"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofailover/gofailover/health"
)

const goodInfo = `{"Version":"v1.0.0","Time":"2024-01-02T03:04:05Z"}`

// TestJudgmentTable sends one request per status and checks the one
// judgment: definitive answers are no failures, everything else is.
func TestJudgmentTable(t *testing.T) {
	tests := []struct {
		status     int
		failure    health.FailureKind
		definitive bool
	}{
		{http.StatusOK, health.FailNone, false},
		{http.StatusBadRequest, health.FailNone, true},
		{http.StatusForbidden, health.FailNone, true},
		{http.StatusNotFound, health.FailNone, true},
		{http.StatusGone, health.FailNone, true},
		{http.StatusUnauthorized, health.FailAuth, false},
		{http.StatusProxyAuthRequired, health.FailAuth, false},
		{http.StatusTooManyRequests, health.FailRateLimit, false},
		{http.StatusInternalServerError, health.FailStatus5xx, false},
		{http.StatusBadGateway, health.FailStatus5xx, false},
		{http.StatusServiceUnavailable, health.FailStatus5xx, false},
		{http.StatusNotModified, health.FailRedirect, false},
		{http.StatusNoContent, health.FailBadStatus, false},
		{http.StatusTeapot, health.FailBadStatus, false},
		{http.StatusMethodNotAllowed, health.FailBadStatus, false},
	}
	for _, tt := range tests {
		srv := server(t, func(w http.ResponseWriter, r *http.Request) {
			if tt.status == http.StatusOK {
				fmt.Fprint(w, goodInfo)
				return
			}
			w.Header().Set("Retry-After", "7")
			w.WriteHeader(tt.status)
			fmt.Fprint(w, "reason line\nsecond line")
		})
		c := newClient(t, Config{})
		resp := c.Get(context.Background(), upstreamAt(t, srv.URL), request(t, "/example.com/m/@v/v1.0.0.info"), Options{})
		if resp.Outcome.Failure != tt.failure || resp.Definitive() != tt.definitive || resp.Status != tt.status || resp.Outcome.Status != tt.status {
			t.Errorf("%d: failure %q, definitive %v, status %d; want %q, %v", tt.status, resp.Outcome.Failure, resp.Definitive(), resp.Status, tt.failure, tt.definitive)
		}
		if tt.definitive && resp.Reason != "reason line" {
			t.Errorf("%d: reason %q, want the body's first line", tt.status, resp.Reason)
		}
		if (resp.Err == nil) != (tt.failure == health.FailNone) {
			t.Errorf("%d: err %v with failure %q", tt.status, resp.Err, tt.failure)
		}
		wantRetry := tt.failure == health.FailRateLimit || tt.failure == health.FailStatus5xx
		if (resp.Outcome.RetryAfter == 7*time.Second) != wantRetry {
			t.Errorf("%d: RetryAfter %v", tt.status, resp.Outcome.RetryAfter)
		}
		if resp.Outcome.FirstByte <= 0 || resp.Outcome.Total < resp.Outcome.FirstByte {
			t.Errorf("%d: first byte %v, total %v", tt.status, resp.Outcome.FirstByte, resp.Outcome.Total)
		}
	}
}

// TestBodiesAreChecked: bodies that cannot be what was asked for are a
// failure (bad_body) of the mirror, for fetches and probes alike.
func TestBodiesAreChecked(t *testing.T) {
	const portal = "<!DOCTYPE html><html><body>Please sign in</body></html>"
	bodies := map[string]string{
		"/example.com/m/@v/list":         portal,
		"/example.com/m/@latest":         portal,
		"/example.com/m/@v/v1.0.0.info":  `{"Version":"v9.9.9"}`,
		"/example.com/m/@v/v1.1.0.info":  `{"Version":"not-a-version"}`,
		"/example.com/m/@v/v1.0.0.mod":   portal,
		"/example.com/m/@v/v1.0.0.zip":   portal,
		"/example.com/ok/@v/list":        "v1.0.0\nv1.1.0\n",
		"/example.com/ok/@v/v1.0.0.info": goodInfo,
	}
	srv := server(t, func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, bodies[r.URL.Path]) })
	c := newClient(t, Config{TempDir: t.TempDir()})
	u := upstreamAt(t, srv.URL)
	for path, body := range bodies {
		ok := strings.HasPrefix(path, "/example.com/ok/")
		resp := c.Get(context.Background(), u, request(t, path), Options{Spool: c.tempFile})
		if resp.OK() != ok {
			t.Errorf("%s (%q): OK = %v, want %v (err %v)", path, body, resp.OK(), ok, resp.Err)
		}
		if !ok && (resp.Outcome.Failure != health.FailBadBody || resp.Body != nil || resp.File != nil) {
			t.Errorf("%s: failure %q, body %q, file %v; want bad_body and nothing kept", path, resp.Outcome.Failure, resp.Body, resp.File)
		}
		if ok && string(resp.Body) != body {
			t.Errorf("%s: body %q, want %q", path, resp.Body, body)
		}
		// The probe's way gives the same judgment.
		o, _, judged := c.Request(context.Background(), u, path)
		if !judged || o.Failure != resp.Outcome.Failure || !o.Probe {
			t.Errorf("%s: probe judged %v, failure %q, probe %v; want the fetch's %q", path, judged, o.Failure, o.Probe, resp.Outcome.Failure)
		}
	}
	if files, _ := filepath.Glob(filepath.Join(c.cfg.TempDir, "*")); len(files) > 0 {
		t.Errorf("probe zips left behind: %v", files)
	}
}

// TestURLsAreEscapedAsTheGoCommandDoes: the upstream sees %21 for '!' and
// an escaped query, on a base URL with a path.
func TestURLsAreEscapedAsTheGoCommandDoes(t *testing.T) {
	var got []string
	var mu sync.Mutex
	srv := server(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.RequestURI)
		mu.Unlock()
		http.NotFound(w, r)
	})
	c := newClient(t, Config{})
	u := upstreamAt(t, srv.URL+"/base")
	for _, p := range []string{"/github.com/!foo/bar/@v/list", "/example.com/m/@v/my branch#1.info"} {
		c.Get(context.Background(), u, request(t, p), Options{})
	}
	want := []string{"/base/github.com/%21foo/bar/@v/list", "/base/example.com/m/@v/my%20branch%231.info"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("upstream saw %q, want %q", got, want)
	}
}

// TestRedirectPolicy: a same-origin redirect is followed; redirects to a
// loopback service on another port, from https to http, over plain http
// to another host, or in a loop are refused before anything is sent there.
func TestRedirectPolicy(t *testing.T) {
	var elsewhere atomic.Int32
	other := server(t, func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		fmt.Fprint(w, "v1.0.0\n")
	})
	otherTLS := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		fmt.Fprint(w, "v1.0.0\n")
	}))
	otherTLS.Config.ErrorLog = mirrortest.QuietLog()
	t.Cleanup(otherTLS.Close)

	mirror := server(t, func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasPrefix(r.URL.Path, "/moved/"):
			fmt.Fprint(w, "v1.0.0\n")
		case strings.HasPrefix(r.URL.Path, "/same/"):
			http.Redirect(w, r, "/moved"+r.URL.EscapedPath(), http.StatusFound)
		case strings.HasPrefix(r.URL.Path, "/loopback/"):
			http.Redirect(w, r, other.URL+r.URL.EscapedPath(), http.StatusFound)
		case strings.HasPrefix(r.URL.Path, "/loopbacktls/"):
			http.Redirect(w, r, otherTLS.URL+r.URL.EscapedPath(), http.StatusTemporaryRedirect)
		case strings.HasPrefix(r.URL.Path, "/loop/"):
			http.Redirect(w, r, r.URL.EscapedPath(), http.StatusFound)
		case strings.HasPrefix(r.URL.Path, "/nolocation/"):
			w.WriteHeader(http.StatusFound)
		}
	})
	c := newClient(t, Config{})
	for _, tt := range []struct {
		path string
		ok   bool
	}{
		{"/same", true},
		{"/loopback", false},
		{"/loopbacktls", false},
		{"/loop", false},
		{"/nolocation", false},
	} {
		u := upstreamAt(t, mirror.URL+tt.path)
		resp := c.Get(context.Background(), u, request(t, "/example.com/m/@v/list"), Options{})
		if resp.OK() != tt.ok {
			t.Errorf("%s: OK = %v (%v), want %v", tt.path, resp.OK(), resp.Err, tt.ok)
		}
		var re *RedirectError
		if !tt.ok && (resp.Outcome.Failure != health.FailRedirect || !errors.As(resp.Err, &re)) {
			t.Errorf("%s: failure %q, err %v; want a refused redirect", tt.path, resp.Outcome.Failure, resp.Err)
		}
	}
	if n := elsewhere.Load(); n != 0 {
		t.Errorf("the other loopback services got %d requests, want 0", n)
	}
}

// TestRedirectRules checks the policy's decisions, with a resolver
// standing in for DNS.
func TestRedirectRules(t *testing.T) {
	c := New(Config{Resolve: func(_ context.Context, host string) ([]netip.Addr, error) {
		switch host {
		case "cdn.example":
			return []netip.Addr{netip.MustParseAddr("203.0.113.7"), netip.MustParseAddr("2001:db8::7")}, nil
		case "mixed.example":
			return []netip.Addr{netip.MustParseAddr("203.0.113.7"), netip.MustParseAddr("10.0.0.7")}, nil
		case "internal.example":
			return []netip.Addr{netip.MustParseAddr("192.168.1.1")}, nil
		case "mapped.example":
			return []netip.Addr{netip.MustParseAddr("::ffff:127.0.0.1")}, nil
		}
		return nil, errors.New("no such host")
	}})
	parse := func(s string) *url.URL {
		u, err := url.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	for _, tt := range []struct {
		origin, from, to string
		ok               bool
	}{
		{"https://mirror.example", "https://mirror.example/m/@v/v1.0.0.zip", "https://mirror.example/z/1.zip", true},
		{"https://mirror.example", "https://mirror.example/m/@v/v1.0.0.zip", "https://cdn.example/z/1.zip", true},
		{"http://127.0.0.1:3000", "http://127.0.0.1:3000/m", "http://127.0.0.1:3000/other", true},
		{"http://mirror.example", "http://mirror.example/m", "https://cdn.example/z", true},
		{"https://mirror.example", "https://mirror.example/m", "http://mirror.example/m", false},
		{"https://mirror.example", "https://mirror.example/m", "http://cdn.example/z", false},
		{"https://mirror.example", "https://cdn.example/z", "http://mirror.example/z", false},
		{"https://mirror.example", "https://mirror.example/m", "https://mirror.example:8443/m", false},
		{"https://mirror.example", "https://mirror.example/m", "https://mixed.example/z", false},
		{"https://mirror.example", "https://mirror.example/m", "https://internal.example/z", false},
		{"https://mirror.example", "https://mirror.example/m", "https://mapped.example/z", false},
		{"https://mirror.example", "https://mirror.example/m", "https://unknown.example/z", false},
		{"https://mirror.example", "https://mirror.example/m", "https://127.0.0.1/z", false},
		{"https://mirror.example", "https://mirror.example/m", "https://[::1]/z", false},
		{"https://mirror.example", "https://mirror.example/m", "https://169.254.169.254/latest", false},
		{"https://mirror.example", "https://mirror.example/m", "https://0.0.0.0/z", false},
		{"https://mirror.example", "https://mirror.example/m", "https://100.64.1.1/z", false},
		{"https://mirror.example", "https://mirror.example/m", "https://user:pw@cdn.example/z", false},
		{"https://mirror.example", "https://mirror.example/m", "https://203.0.113.9/z", true},
	} {
		_, err := c.allowRedirect(context.Background(), parse(tt.origin), parse(tt.from), parse(tt.to))
		if (err == nil) != tt.ok {
			t.Errorf("redirect %s -> %s (origin %s): err %v, want ok=%v", tt.from, tt.to, tt.origin, err, tt.ok)
		}
	}
}

// trickle serves a correct body at about rate bytes per second after
// sending its header at once.
func trickle(body string, rate int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		w.WriteHeader(http.StatusOK)
		rc := http.NewResponseController(w)
		rc.Flush()
		for i := range len(body) {
			select {
			case <-r.Context().Done():
				return
			case <-time.After(time.Second / time.Duration(rate)):
			}
			w.Write([]byte{body[i]})
			rc.Flush()
		}
	}
}

// TestSlowBodyIsAbandoned: a body trickling at 20 B/s is abandoned once
// the grace has passed (slow_body); without the floor it is read to its
// end; a body that stops is abandoned after the idle timeout (timeout).
func TestSlowBodyIsAbandoned(t *testing.T) {
	srv := server(t, trickle(goodInfo, 20))
	c := newClient(t, Config{BodyGrace: 300 * time.Millisecond, IdleTimeout: time.Minute})
	u := upstreamAt(t, srv.URL)
	resp := c.Get(context.Background(), u, request(t, "/example.com/m/@v/v1.0.0.info"), Options{})
	if resp.Outcome.Failure != health.FailSlowBody || !errors.Is(resp.Err, ErrSlowBody) || resp.Status != http.StatusOK {
		t.Errorf("trickling body: failure %q, err %v, status %d; want slow_body", resp.Outcome.Failure, resp.Err, resp.Status)
	}
	if resp.Cancelled || resp.Local {
		t.Errorf("trickling body: cancelled %v, local %v; want a judged failure", resp.Cancelled, resp.Local)
	}

	short := server(t, trickle(`{"Version":"v1.0.0"}`, 100))
	resp = c.Get(context.Background(), upstreamAt(t, short.URL), request(t, "/example.com/m/@v/v1.0.0.info"), Options{Last: true})
	if !resp.OK() {
		t.Errorf("trickling body without the floor: %v", resp.Err)
	}

	stalled := server(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100")
		w.Write([]byte("v1"))
		http.NewResponseController(w).Flush()
		<-r.Context().Done()
	})
	idle := newClient(t, Config{IdleTimeout: 200 * time.Millisecond})
	resp = idle.Get(context.Background(), upstreamAt(t, stalled.URL), request(t, "/example.com/m/@v/list"), Options{Last: true})
	if resp.Outcome.Failure != health.FailTimeout || !errors.Is(resp.Err, ErrIdleBody) {
		t.Errorf("stalled body: failure %q, err %v; want timeout", resp.Outcome.Failure, resp.Err)
	}
}

// TestSizeLimit: an answer over its kind's limit is too_large, whether
// it says so up front or not.
func TestSizeLimit(t *testing.T) {
	big := strings.Repeat("v1.0.0\n", 3<<20) // over 16 MiB
	srv := server(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("chunked") {
			w.(http.Flusher).Flush()
		}
		fmt.Fprint(w, big)
	})
	c := newClient(t, Config{})
	resp := c.Get(context.Background(), upstreamAt(t, srv.URL), request(t, "/example.com/m/@v/list"), Options{})
	if resp.Outcome.Failure != health.FailTooLarge {
		t.Errorf("oversized list: failure %q (%v), want too_large", resp.Outcome.Failure, resp.Err)
	}
}

// TestConcurrencyCap: a request that finds no free slot in time is not
// made and is local (it says nothing about the upstream).
func TestConcurrencyCap(t *testing.T) {
	release := make(chan struct{})
	var inFlight atomic.Int32
	srv := server(t, func(w http.ResponseWriter, r *http.Request) {
		inFlight.Add(1)
		<-release
		fmt.Fprint(w, goodInfo)
	})
	c := newClient(t, Config{SlotWait: 50 * time.Millisecond})
	u := cappedUpstream(t, srv.URL)
	first := make(chan *Response)
	go func() {
		first <- c.Get(context.Background(), u, request(t, "/example.com/m/@v/v1.0.0.info"), Options{})
	}()
	for inFlight.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	resp := c.Get(context.Background(), u, request(t, "/example.com/m/@v/v1.0.0.info"), Options{})
	if !errors.Is(resp.Err, health.ErrBusy) || !resp.Local || resp.Outcome.Failure != health.FailNone {
		t.Errorf("second request: err %v, local %v, failure %q; want ErrBusy, local, no failure", resp.Err, resp.Local, resp.Outcome.Failure)
	}
	close(release)
	if r := <-first; !r.OK() {
		t.Errorf("first request: %v", r.Err)
	}
	if n := inFlight.Load(); n != 1 {
		t.Errorf("the upstream saw %d requests, want 1", n)
	}
}

// failingFile is a File whose writes fail, like a full disk.
type failingFile struct{ path string }

func (f *failingFile) Write([]byte) (int, error) { return 0, errors.New("no space left on device") }
func (f *failingFile) Path() string              { return f.path }
func (f *failingFile) Discard() error            { return nil }

// TestSpoolFailureIsLocal: a zip that cannot be written is a local
// failure, not the upstream's.
func TestSpoolFailureIsLocal(t *testing.T) {
	srv := server(t, func(w http.ResponseWriter, r *http.Request) { w.Write(bytes.Repeat([]byte("x"), 1<<20)) })
	c := newClient(t, Config{})
	resp := c.Get(context.Background(), upstreamAt(t, srv.URL), request(t, "/example.com/m/@v/v1.0.0.zip"),
		Options{Spool: func() (File, error) { return &failingFile{path: os.DevNull}, nil }})
	var se *SpoolError
	if !errors.As(resp.Err, &se) || !resp.Local || resp.Outcome.Failure != health.FailNone {
		t.Errorf("err %v, local %v, failure %q; want a local SpoolError", resp.Err, resp.Local, resp.Outcome.Failure)
	}
}

// TestCancelledIsNotJudged: a request its caller cancelled is marked
// cancelled, with no failure; one whose caller's deadline passed is a
// timeout of the upstream; one that never got a slot is local.
func TestCancelledIsNotJudged(t *testing.T) {
	srv := server(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	c := newClient(t, Config{})
	u := upstreamAt(t, srv.URL)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(50*time.Millisecond, cancel)
	resp := c.Get(ctx, u, request(t, "/example.com/m/@v/list"), Options{})
	if !resp.Cancelled || resp.Outcome.Failure != health.FailNone || resp.Err == nil {
		t.Errorf("cancelled: cancelled %v, failure %q, err %v", resp.Cancelled, resp.Outcome.Failure, resp.Err)
	}

	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	resp = c.Get(ctx, u, request(t, "/example.com/m/@v/list"), Options{})
	if resp.Cancelled || resp.Outcome.Failure != health.FailTimeout {
		t.Errorf("deadline: cancelled %v, failure %q, err %v; want a timeout", resp.Cancelled, resp.Outcome.Failure, resp.Err)
	}

	arrived := make(chan struct{}, 1)
	held := server(t, func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		<-r.Context().Done()
	})
	u = cappedUpstream(t, held.URL)
	capped := newClient(t, Config{SlotWait: time.Hour})
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	go capped.Get(ctx, u, request(t, "/example.com/m/@v/list"), Options{})
	<-arrived
	short, cancelShort := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancelShort()
	resp = capped.Get(short, u, request(t, "/example.com/m/@v/list"), Options{})
	if !resp.Local || resp.Outcome.Failure != health.FailNone {
		t.Errorf("no slot before the deadline: local %v, failure %q; want local, not judged", resp.Local, resp.Outcome.Failure)
	}
}

// TestDialRefusesNonPublicAfterRedirect: once a redirect to another
// origin is allowed (its name resolved to public addresses), the
// connection itself is refused if the name now leads to a non-public
// address, as a DNS rebinding would make it.
func TestDialRefusesNonPublicAfterRedirect(t *testing.T) {
	var hits atomic.Int32
	srv := server(t, func(w http.ResponseWriter, r *http.Request) { hits.Add(1) })
	tr := newTransport(time.Second, time.Second)
	defer tr.CloseIdleConnections()
	target, _ := url.Parse(srv.URL)
	addr := hostPort(target)

	ctx := context.WithValue(context.Background(), publicOnlyKey{}, addr)
	if conn, err := tr.DialContext(ctx, "tcp", addr); err == nil {
		conn.Close()
		t.Fatalf("dialing %s for a cross-origin redirect succeeded; want it refused", addr)
	}
	// The same address, dialed for the upstream's own origin, is fine.
	conn, err := tr.DialContext(context.Background(), "tcp", addr)
	if err != nil {
		t.Fatalf("dialing the upstream's own origin: %v", err)
	}
	conn.Close()
	if n := hits.Load(); n != 0 {
		t.Errorf("the server got %d requests", n)
	}
}

// FuzzParseRetryAfter: no header value makes the parser panic or give a
// negative or overlong wait.
func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"", "7", "-1", "99999999999999999999", "Wed, 21 Oct 2015 07:28:00 GMT", "soon"} {
		f.Add(s)
	}
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		if d := parseRetryAfter(v, now); d < 0 || d > 366*24*time.Hour {
			t.Fatalf("parseRetryAfter(%q) = %v", v, d)
		}
	})
}

// TestHugeHeaderIsRefused: a response header over the bound is a failure,
// not memory held.
func TestHugeHeaderIsRefused(t *testing.T) {
	srv := server(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Junk", strings.Repeat("x", 2*maxHeaderBytes))
		fmt.Fprint(w, goodInfo)
	})
	c := newClient(t, Config{})
	resp := c.Get(context.Background(), upstreamAt(t, srv.URL), request(t, "/example.com/m/@v/v1.0.0.info"), Options{})
	if resp.OK() || resp.Outcome.Failure == health.FailNone {
		t.Errorf("a %d-byte header: OK %v, failure %q", 2*maxHeaderBytes, resp.OK(), resp.Outcome.Failure)
	}
}

// TestLargeAnswersGoToFiles: an answer over 256 KiB is written to a file
// and checked there, whether its length is announced or not; a small one
// stays in memory; without a Spool, an answer is held in memory.
func TestLargeAnswersGoToFiles(t *testing.T) {
	var list strings.Builder
	for i := 0; list.Len() < 2<<20; i++ {
		fmt.Fprintf(&list, "v1.0.%d\n", i)
	}
	big := list.String()
	srv := server(t, func(w http.ResponseWriter, r *http.Request) {
		body := big
		switch {
		case strings.HasPrefix(r.URL.Path, "/junk/"):
			body = big + "<html>\n"
		case strings.HasPrefix(r.URL.Path, "/small/"):
			body = "v1.0.0\n"
		}
		if strings.HasPrefix(r.URL.Path, "/chunked/") {
			w.(http.Flusher).Flush() // no Content-Length
		}
		fmt.Fprint(w, body)
	})
	c := newClient(t, Config{TempDir: t.TempDir()})
	dir := t.TempDir()
	spool := func() (File, error) {
		f, err := os.CreateTemp(dir, "spool-*")
		if err != nil {
			return nil, err
		}
		return &tempFile{File: f}, nil
	}
	for _, tt := range []struct {
		base       string
		ok, inFile bool
		spool      bool
		wantLen    int
		failure    health.FailureKind
	}{
		{"/plain", true, true, true, len(big), health.FailNone},
		{"/chunked", true, true, true, len(big), health.FailNone},
		{"/small", true, false, true, len("v1.0.0\n"), health.FailNone},
		{"/junk", false, false, true, 0, health.FailBadBody},
		{"/plain", true, false, false, len(big), health.FailNone},
	} {
		opt := Options{}
		if tt.spool {
			opt.Spool = spool
		}
		resp := c.Get(context.Background(), upstreamAt(t, srv.URL+tt.base), request(t, "/example.com/m/@v/list"), opt)
		if resp.OK() != tt.ok || (resp.File != nil) != tt.inFile || resp.Outcome.Failure != tt.failure {
			t.Errorf("%s (spool %v): OK %v, in a file %v, failure %q (%v)", tt.base, tt.spool, resp.OK(), resp.File != nil, resp.Outcome.Failure, resp.Err)
			continue
		}
		got := len(resp.Body)
		if resp.File != nil {
			b, err := os.ReadFile(resp.File.Path())
			if err != nil || string(b) != big {
				t.Errorf("%s: the file holds %d bytes (%v), want the list", tt.base, len(b), err)
			}
			got = len(b)
			resp.File.Discard()
		}
		if tt.ok && got != tt.wantLen {
			t.Errorf("%s: %d bytes, want %d", tt.base, got, tt.wantLen)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) > 0 {
		t.Errorf("spool files left behind: %v", left)
	}
}
