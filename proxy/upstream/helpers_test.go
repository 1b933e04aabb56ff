package upstream

import (
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/gofailover/gofailover/health"
	"github.com/gofailover/gofailover/proxy/protocol"
)

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

// server starts an httptest server with h, closed when the test ends.
func server(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	srv.Config.ErrorLog = quietLog()
	t.Cleanup(srv.Close)
	return srv
}

// upstreamAt returns an upstream with the given base URL.
func upstreamAt(t *testing.T, raw string) *health.Upstream {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return &health.Upstream{Name: u.Redacted(), URL: u}
}

// cappedUpstream returns an upstream with the given base URL and at most
// one request in flight.
func cappedUpstream(t *testing.T, raw string) *health.Upstream {
	t.Helper()
	ups, err := health.NewUpstreams([]string{raw}, health.Limits{MaxInFlight: 1})
	if err != nil {
		t.Fatal(err)
	}
	return ups[0]
}

// request parses a protocol path.
func request(t *testing.T, path string) *protocol.Request {
	t.Helper()
	r, err := protocol.ParseRequest(path)
	if err != nil {
		t.Fatalf("ParseRequest(%q): %v", path, err)
	}
	return r
}

// newClient returns a client closed when the test ends.
func newClient(t *testing.T, cfg Config) *Client {
	c := New(cfg)
	t.Cleanup(c.http.CloseIdleConnections)
	return c
}
