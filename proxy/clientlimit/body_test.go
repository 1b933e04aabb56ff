package clientlimit_test

import (
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofailover/gofailover/proxy/clientlimit"
)

// countingHandler answers "ok" and counts its calls.
type countingHandler struct{ calls atomic.Int64 }

func (h *countingHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.calls.Add(1)
	io.WriteString(w, "ok")
}

func TestASmallBodyIsThrownAwayAndTheConnectionKept(t *testing.T) {
	h := &countingHandler{}
	r := newRig(t, clientlimit.Config{MaxConns: 10, BodyTimeout: 5 * time.Second}, h, nil)
	c := r.dial(t)
	for _, req := range []struct{ extra, body string }{
		{"Content-Length: 100\r\n", strings.Repeat("x", 100)},
		{"Transfer-Encoding: chunked\r\n", "5\r\nhello\r\n0\r\n\r\n"},
		{"", ""},
	} {
		resp, body, err := c.get("/x", req.extra, req.body)
		if err != nil || resp.StatusCode != http.StatusOK || body != "ok" || resp.Close {
			t.Fatalf("GET with %q: %v %v %q close=%v; want 200 ok on a kept connection", req.extra, err, resp, body, resp != nil && resp.Close)
		}
	}
	if h.calls.Load() != 3 {
		t.Errorf("handler called %d times, want 3", h.calls.Load())
	}
}

func TestALargeBodyIsRefusedAndTheConnectionClosed(t *testing.T) {
	h := &countingHandler{}
	r := newRig(t, clientlimit.Config{MaxConns: 10, BodyTimeout: 5 * time.Second}, h, nil)
	// Declared too large: refused before a byte of it is read.
	declared := r.dial(t)
	resp, _, err := declared.get("/x", "Content-Length: 1048576\r\n", "")
	if err != nil || resp.StatusCode != http.StatusRequestEntityTooLarge || !resp.Close {
		t.Fatalf("GET with a 1 MiB body declared: %v %v, want 413 closing the connection", err, resp)
	}
	if !declared.closedWithin(2 * time.Second) {
		t.Error("connection with a declared 1 MiB body still open")
	}
	// Chunked past the limit.
	chunked := r.dial(t)
	chunk := strings.Repeat("y", 16<<10)
	body := strings.Repeat("4000\r\n"+chunk+"\r\n", clientlimit.MaxDiscard/len(chunk)+2) + "0\r\n\r\n"
	go io.WriteString(chunked.c, "GET /x HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n"+body)
	resp, err = http.ReadResponse(chunked.br, nil)
	if err != nil || resp.StatusCode != http.StatusRequestEntityTooLarge || !resp.Close {
		t.Fatalf("GET with a chunked body past the limit: %v %v, want 413 closing the connection", err, resp)
	}
	if !chunked.closedWithin(2 * time.Second) {
		t.Error("connection with a long chunked body still open")
	}
	if h.calls.Load() != 0 {
		t.Errorf("handler called %d times for refused bodies", h.calls.Load())
	}
	if st := r.ln.Stats(); st.Closed.BodyTooLarge != 2 {
		t.Errorf("bodies too large counted %d, want 2", st.Closed.BodyTooLarge)
	}
}

func TestASlowBodyIsClosedWithinTheReadTimeout(t *testing.T) {
	h := &countingHandler{}
	const timeout = 300 * time.Millisecond
	r := newRig(t, clientlimit.Config{MaxConns: 10, BodyTimeout: timeout}, h, nil)
	c := r.dial(t)
	start := time.Now()
	io.WriteString(c.c, "GET /x HTTP/1.1\r\nHost: test\r\nContent-Length: 1000\r\n\r\nabc")
	stop := make(chan struct{})
	defer close(stop)
	go func() { // a byte every 50 ms: never done within the timeout
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if _, err := c.c.Write([]byte("z")); err != nil {
					return
				}
			}
		}
	}()
	c.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil || resp.StatusCode != http.StatusRequestTimeout || !resp.Close {
		t.Fatalf("slow body: %v %v, want 408 closing the connection", err, resp)
	}
	if !c.closedWithin(2 * time.Second) {
		t.Fatal("slow-body connection still open")
	}
	if d := time.Since(start); d < timeout || d > timeout+2*time.Second {
		t.Errorf("slow-body connection closed after %v, want about %v", d, timeout)
	}
	if h.calls.Load() != 0 {
		t.Errorf("handler called for a body that never arrived")
	}
	if st := r.ln.Stats(); st.Closed.BodyTimeout != 1 {
		t.Errorf("body timeouts counted %d, want 1", st.Closed.BodyTimeout)
	}
}

func TestASlowBodyMakesRoomBeforeAnIdleConnection(t *testing.T) {
	r := newRig(t, clientlimit.Config{MaxConns: 2, BodyTimeout: time.Minute}, &countingHandler{}, nil)
	slow := r.dial(t)
	io.WriteString(slow.c, "GET /x HTTP/1.1\r\nHost: test\r\nContent-Length: 1000\r\n\r\nabc")
	slow.waitState(r.active)
	time.Sleep(100 * time.Millisecond) // the body is now being thrown away
	idle := r.dial(t)
	idle.mustGet("/")
	idle.waitState(r.idle)
	fresh := r.dial(t)
	fresh.mustGet("/")
	if !slow.closedWithin(5 * time.Second) {
		t.Fatal("the slow-body connection, evictable before the idle one, is still open")
	}
	idle.mustGet("/")
	if st := r.ln.Stats(); st.Closed.Evicted != 1 {
		t.Errorf("evicted %d, want 1", st.Closed.Evicted)
	}
}
