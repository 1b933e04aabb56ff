package clientlimit_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gofailover/gofailover/proxy/clientlimit"

	"github.com/gofailover/gofailover/proxy/mirrortest"
)

// rig is an http.Server on 127.0.0.1 behind a Listener.
type rig struct {
	ln   *clientlimit.Listener
	srv  *http.Server
	addr string
	logs *mirrortest.SyncBuffer
	// idle receives each connection that goes idle between requests,
	// after the Listener has seen it.
	idle chan net.Conn
	// active receives each connection whose request is read.
	active chan net.Conn
}

// newRig starts a server with h behind a Listener with cfg (its logger
// writes JSON to rig.logs); adjust changes the server before it starts.
func newRig(t *testing.T, cfg clientlimit.Config, h http.Handler, adjust func(*http.Server)) *rig {
	t.Helper()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{logs: &mirrortest.SyncBuffer{}, idle: make(chan net.Conn, 100), active: make(chan net.Conn, 100), addr: inner.Addr().String()}
	cfg.Logger = slog.New(slog.NewJSONHandler(r.logs, nil))
	r.ln = clientlimit.NewListener(inner, cfg)
	r.srv = &http.Server{
		Handler:     r.ln.Handler(h),
		ConnContext: r.ln.ConnContext,
		ConnState: func(c net.Conn, s http.ConnState) {
			r.ln.ConnState(c, s)
			switch s {
			case http.StateIdle:
				r.idle <- c
			case http.StateActive:
				r.active <- c
			}
		},
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          mirrortest.QuietLog(),
	}
	if adjust != nil {
		adjust(r.srv)
	}
	done := make(chan struct{})
	go func() {
		r.srv.Serve(r.ln)
		close(done)
	}()
	t.Cleanup(func() {
		r.srv.Close()
		<-done
	})
	return r
}

// client is a raw connection to the rig.
type client struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func (r *rig) dial(t *testing.T) *client {
	t.Helper()
	c, err := net.Dial("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &client{t: t, c: c, br: bufio.NewReader(c)}
}

// get sends a GET of path with extra header lines and body, and returns
// the answer with its body read.
func (c *client) get(path, extra, body string) (*http.Response, string, error) {
	c.c.SetDeadline(time.Now().Add(10 * time.Second))
	defer c.c.SetDeadline(time.Time{})
	if _, err := fmt.Fprintf(c.c, "GET %s HTTP/1.1\r\nHost: test\r\n%s\r\n%s", path, extra, body); err != nil {
		return nil, "", err
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return nil, "", err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b), err
}

// mustGet is get that fails the test unless the answer is 200.
func (c *client) mustGet(path string) {
	c.t.Helper()
	resp, _, err := c.get(path, "", "")
	if err != nil {
		c.t.Fatalf("GET %s: %v", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		c.t.Fatalf("GET %s: %s", path, resp.Status)
	}
}

// closedWithin reports whether the server closes the connection within d,
// reading and dropping whatever it sends meanwhile.
func (c *client) closedWithin(d time.Duration) bool {
	c.c.SetReadDeadline(time.Now().Add(d))
	defer c.c.SetReadDeadline(time.Time{})
	_, err := io.Copy(io.Discard, c.br)
	return !errors.Is(err, os.ErrDeadlineExceeded)
}

// waitState waits for c's connection to reach the state whose channel is
// ch (rig.idle or rig.active).
func (c *client) waitState(ch chan net.Conn) {
	c.t.Helper()
	want := c.c.LocalAddr().String()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case sc := <-ch:
			if sc.RemoteAddr().String() == want {
				return
			}
		case <-timeout:
			c.t.Fatal("the server never reported the connection's state")
		}
	}
}

func ok(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") }

func TestTheConnectionIdleTheLongestMakesRoom(t *testing.T) {
	r := newRig(t, clientlimit.Config{MaxConns: 3}, http.HandlerFunc(ok), nil)
	silent := r.dial(t) // never sends a request: evictable from the start
	a := r.dial(t)
	a.mustGet("/a")
	a.waitState(r.idle)
	b := r.dial(t)
	b.mustGet("/b")
	b.waitState(r.idle)
	time.Sleep(200 * time.Millisecond) // every grace is over

	c := r.dial(t) // past the cap: the silent one goes
	c.mustGet("/c")
	c.waitState(r.idle)
	if !silent.closedWithin(5 * time.Second) {
		t.Fatal("the silent connection, evictable the longest, is still open")
	}
	b.mustGet("/b") // b is now the most recently idle
	b.waitState(r.idle)
	time.Sleep(200 * time.Millisecond)
	d := r.dial(t) // a goes: idle since before c and b
	d.mustGet("/d")
	if !a.closedWithin(5 * time.Second) {
		t.Fatal("a, idle the longest, is still open")
	}
	for name, cl := range map[string]*client{"b": b, "c": c, "d": d} {
		if cl.closedWithin(100 * time.Millisecond) {
			t.Errorf("%s was closed; only the connection idle the longest should be", name)
		}
	}
	st := r.ln.Stats()
	if st.Open != 3 || st.Closed.Evicted != 2 || st.Refused != 0 || st.Accepted != 5 {
		t.Errorf("stats %+v, want 3 open, 5 accepted, 2 evicted, none refused", st)
	}
}

// TestANewConnectionHasTimeToSendItsRequest shows that a connection just
// accepted is not closed for room at once: accepting waits until it has
// had 100 ms to send its first request (an idle one, its next).
func TestANewConnectionHasTimeToSendItsRequest(t *testing.T) {
	r := newRig(t, clientlimit.Config{MaxConns: 1}, http.HandlerFunc(ok), nil)
	opened := time.Now()
	silent := r.dial(t)
	r.dial(t).mustGet("/") // waits for the silent one's grace, then takes its place
	if !silent.closedWithin(5 * time.Second) {
		t.Fatal("the silent connection was not closed for the new one")
	}
	if d := time.Since(opened); d < 90*time.Millisecond {
		t.Errorf("the silent connection was closed %v after it was opened, within its grace", d)
	}
	if st := r.ln.Stats(); st.Closed.Evicted != 1 || st.Refused != 0 {
		t.Errorf("stats %+v, want 1 evicted and none refused", st)
	}
}

func TestANewConnectionIsRefusedWhenEveryOneIsBusy(t *testing.T) {
	release := make(chan struct{})
	busy := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		<-release
		io.WriteString(w, "ok")
	})
	r := newRig(t, clientlimit.Config{MaxConns: 2}, busy, nil)
	answered := make(chan error, 2)
	for range 2 {
		c := r.dial(t)
		go func() {
			resp, _, err := c.get("/slow", "", "")
			if err == nil && resp.StatusCode != http.StatusOK {
				err = errors.New(resp.Status)
			}
			answered <- err
		}()
		c.waitState(r.active)
	}
	refused := r.dial(t)
	if !refused.closedWithin(5 * time.Second) {
		t.Fatal("a connection past the cap, with every connection busy, was not closed at once")
	}
	close(release)
	for range 2 {
		if err := <-answered; err != nil {
			t.Errorf("a busy connection's answer: %v", err)
		}
	}
	if st := r.ln.Stats(); st.Refused != 1 || st.Closed.Evicted != 0 {
		t.Errorf("stats %+v, want 1 refused and none evicted", st)
	}
}

// fakeListener hands out what is sent on results: a net.Conn or an error.
type fakeListener struct {
	results chan any
	closed  chan struct{}
	once    sync.Once
}

func newFakeListener() *fakeListener {
	return &fakeListener{results: make(chan any, 100), closed: make(chan struct{})}
}

func (f *fakeListener) Accept() (net.Conn, error) {
	select {
	case <-f.closed:
		return nil, net.ErrClosed
	case r := <-f.results:
		if err, ok := r.(error); ok {
			return nil, err
		}
		return r.(net.Conn), nil
	}
}

func (f *fakeListener) Close() error {
	f.once.Do(func() { close(f.closed) })
	return nil
}

func (f *fakeListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

// acceptError is an accept failing with errno, as the net package
// reports it.
func acceptError(errno syscall.Errno) error {
	return &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", errno)}
}

func TestOutOfDescriptorsClosesAnIdleConnectionAndRetries(t *testing.T) {
	fl := newFakeListener()
	ln := clientlimit.NewListener(fl, clientlimit.Config{MaxConns: 10, Logger: slog.New(slog.DiscardHandler)})
	first, firstPeer := net.Pipe()
	second, _ := net.Pipe()
	fl.results <- first
	fl.results <- acceptError(syscall.EMFILE)
	fl.results <- second
	if _, err := ln.Accept(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := ln.Accept(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("the accept after EMFILE took %v: with an idle connection to close, it should retry at once", d)
	}
	firstPeer.SetReadDeadline(time.Now().Add(time.Second))
	if _, err := firstPeer.Read(make([]byte, 1)); !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrClosedPipe) {
		t.Errorf("the first connection, not yet used, was not closed to free a descriptor: %v", err)
	}
	if st := ln.Stats(); st.AcceptErrors != 1 || st.Closed.Evicted != 1 || st.Open != 1 {
		t.Errorf("stats %+v, want 1 accept error, 1 evicted, 1 open", st)
	}
}

func TestAcceptErrorsBackOffWithoutEndingTheServer(t *testing.T) {
	fl := newFakeListener()
	ln := clientlimit.NewListener(fl, clientlimit.Config{MaxConns: 10, Logger: slog.New(slog.DiscardHandler)})
	for _, errno := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS} {
		fl.results <- acceptError(errno)
	}
	conn, _ := net.Pipe()
	fl.results <- conn
	start := time.Now()
	if _, err := ln.Accept(); err != nil {
		t.Fatalf("Accept after temporary errors: %v", err)
	}
	// 5 ms, 10 ms, 20 ms: backing off, not spinning.
	if d := time.Since(start); d < 35*time.Millisecond {
		t.Errorf("three accept errors retried within %v: no back-off", d)
	}
	if st := ln.Stats(); st.AcceptErrors != 3 {
		t.Errorf("accept errors counted %d, want 3", st.AcceptErrors)
	}

	// A permanent error is returned; so is the end of a back-off by Close.
	fl.results <- errors.New("broken")
	if _, err := ln.Accept(); err == nil || err.Error() != "broken" {
		t.Errorf("Accept with a permanent error: %v, want it returned", err)
	}
	for range 50 {
		fl.results <- acceptError(syscall.EMFILE)
	}
	time.AfterFunc(50*time.Millisecond, func() { ln.Close() })
	if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept backing off when closed: %v, want net.ErrClosed", err)
	}
}

func TestHeaderAndIdleTimeoutsAreCounted(t *testing.T) {
	r := newRig(t, clientlimit.Config{MaxConns: 100}, http.HandlerFunc(ok), func(s *http.Server) {
		s.ReadHeaderTimeout = 200 * time.Millisecond
		s.IdleTimeout = 300 * time.Millisecond
	})
	silent := r.dial(t)
	partial := r.dial(t)
	io.WriteString(partial.c, "GET / HTTP/1.1\r\nHost: te")
	keepAlive := r.dial(t)
	keepAlive.mustGet("/")
	partialAfterIdle := r.dial(t)
	partialAfterIdle.mustGet("/")
	partialAfterIdle.waitState(r.idle)
	io.WriteString(partialAfterIdle.c, "GET / HT")
	for name, c := range map[string]*client{"silent": silent, "partial": partial, "keep-alive": keepAlive, "partial after idle": partialAfterIdle} {
		if !c.closedWithin(5 * time.Second) {
			t.Errorf("%s connection not closed within its timeout", name)
		}
	}
	waitFor(t, func() bool {
		st := r.ln.Stats()
		return st.Closed.HeaderTimeout == 3 && st.Closed.IdleTimeout == 1 && st.Open == 0
	}, func() string {
		return fmt.Sprintf("stats %+v, want 3 header timeouts, 1 idle timeout, none open", r.ln.Stats())
	})
}

// waitFor polls cond for up to 10 s, failing with msg() if it never holds.
func waitFor(t *testing.T, cond func() bool, msg func() string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatal(msg())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestDefaultMaxConns(t *testing.T) {
	for _, tt := range []struct {
		fds  uint64
		want int
	}{
		{0, 16384},
		{64, 16},
		{1024, 704},
		{2048, 1472},
		{20000, 14936},
		{1 << 20, 16384},
		{^uint64(0), 16384},
	} {
		if got := clientlimit.DefaultMaxConns(tt.fds); got != tt.want {
			t.Errorf("DefaultMaxConns(%d) = %d, want %d", tt.fds, got, tt.want)
		}
	}
}

// lines returns the lines of s containing substr.
func lines(s *mirrortest.SyncBuffer, substr string) []string {
	var out []string
	for _, l := range strings.Split(s.String(), "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return out
}

// TestBusyConnectionsDoNotHideAnIdleOne: connections that start a request
// are only marked busy and keep their place on the evictable list; more
// busy ones at its front than a scan looks at must not hide an idle
// connection behind them when room is needed.
func TestBusyConnectionsDoNotHideAnIdleOne(t *testing.T) {
	const busyConns = 66 // more than a scan looks at (64)
	release := make(chan struct{})
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			<-release
		}
		io.WriteString(w, "ok")
	})
	r := newRig(t, clientlimit.Config{MaxConns: busyConns + 1}, handler, nil)
	var busy []*client
	for range busyConns {
		c := r.dial(t)
		c.mustGet("/fast") // idle: on the list, in this order
		c.waitState(r.idle)
		busy = append(busy, c)
	}
	idle := r.dial(t)
	idle.mustGet("/fast")
	idle.waitState(r.idle)
	answered := make(chan error, busyConns)
	for _, c := range busy { // now busy, where they stood: before idle
		go func() {
			_, _, err := c.get("/slow", "", "")
			answered <- err
		}()
		c.waitState(r.active)
	}
	time.Sleep(200 * time.Millisecond) // every grace is over

	newcomer := r.dial(t)
	if !idle.closedWithin(5 * time.Second) {
		t.Fatal("the idle connection behind the busy ones was not closed for room")
	}
	close(release)
	for range busyConns {
		if err := <-answered; err != nil {
			t.Errorf("a busy connection's answer: %v", err)
		}
	}
	newcomer.mustGet("/fast")
}
