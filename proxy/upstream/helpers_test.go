package upstream

import (
	"github.com/gofailover/gofailover/proxy/mirrortest"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/gofailover/gofailover/health"
	"github.com/gofailover/gofailover/proxy/protocol"
)

// server starts an httptest server with h, closed when the test ends.
func server(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	srv.Config.ErrorLog = mirrortest.QuietLog()
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
