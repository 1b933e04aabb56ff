package proxy_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofailover/gofailover/proxy/clientlimit"
)

// TestGoCommandKeepsItsConnections serves the handler as gofailover does
// (clientlimit's listener and hooks, its default timeouts) to a client
// with the go command's transport settings: at most 2 idle connections per
// host. Sequential requests, pairs of parallel ones, pauses longer than
// the listener's eviction grace, error answers and HEADs: the server
// never closes a connection the client would reuse, so the client opens
// only the connections its own limit makes it open.
func TestGoCommandKeepsItsConnections(t *testing.T) {
	h := pooledHandler(t)

	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := clientlimit.NewListener(inner, clientlimit.Config{MaxConns: 64, WriteTimeout: 30 * time.Second, BodyTimeout: 10 * time.Second})
	var opened, closed atomic.Int64
	srv := &http.Server{
		Handler:           ln.Handler(h),
		ReadHeaderTimeout: 10 * time.Second, // gofailover's defaults
		IdleTimeout:       2 * time.Minute,
		ConnContext:       ln.ConnContext,
		ConnState: func(c net.Conn, s http.ConnState) {
			switch s {
			case http.StateNew:
				opened.Add(1)
			case http.StateClosed:
				closed.Add(1)
			}
			ln.ConnState(c, s)
		},
	}
	ctx, cancel := context.WithCancel(context.Background())
	go ln.Run(ctx)
	go srv.Serve(ln)
	t.Cleanup(func() { cancel(); srv.Close() })
	base := "http://" + inner.Addr().String()

	tr := &http.Transport{MaxIdleConnsPerHost: 2, IdleConnTimeout: 90 * time.Second} // the go command's
	t.Cleanup(tr.CloseIdleConnections)
	client := &http.Client{Transport: tr}
	get := func(method, path string, want int) {
		req, _ := http.NewRequest(method, base+path, nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Error(err)
			return
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s %s: %d, want %d", method, path, resp.StatusCode, want)
		}
	}
	paths := []string{"/example.com/lib/@v/v1.1.0.info", "/example.com/lib/@v/v1.1.0.mod", "/example.com/lib/@v/v1.1.0.zip", "/example.com/lib/@v/list"}
	for _, p := range paths {
		get(http.MethodGet, p, http.StatusOK) // misses: fetched from the mirror
	}
	for i := range 60 {
		p := paths[i%len(paths)]
		get(http.MethodGet, p, http.StatusOK)
		get(http.MethodHead, p, http.StatusOK)
		get(http.MethodGet, "/example.com/lib/@v/v9.9.9.info", http.StatusNotFound)
		get(http.MethodGet, "/not-a-module/@v/x", http.StatusBadRequest)
		if i%20 == 19 {
			time.Sleep(300 * time.Millisecond) // past the eviction grace
		}
	}
	if n := opened.Load(); n != 1 {
		t.Errorf("sequential requests opened %d connections, want 1", n)
	}
	for i := range 40 {
		var wg sync.WaitGroup
		for j := range 2 {
			wg.Go(func() { get(http.MethodGet, paths[(i+j)%len(paths)], http.StatusOK) })
		}
		wg.Wait()
		if i%20 == 19 {
			time.Sleep(300 * time.Millisecond)
		}
	}
	if n := opened.Load(); n > 2 {
		t.Errorf("pairs of parallel requests opened %d connections in all, want at most 2", n)
	}
	if n := closed.Load(); n != 0 {
		t.Errorf("the server closed %d connections", n)
	}
}
