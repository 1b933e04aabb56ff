package clientlimit_test

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gofailover/gofailover/proxy/clientlimit"
	"github.com/gofailover/gofailover/proxy/mirrortest"
)

// benchServer serves h on 127.0.0.1, behind a Listener with its hooks and
// body guard when guarded, and returns its URL.
func benchServer(b *testing.B, h http.Handler, guarded bool) string {
	b.Helper()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	var ln net.Listener = inner
	if guarded {
		cl := clientlimit.NewListener(inner, clientlimit.Config{
			MaxConns: 1000, WriteTimeout: 30 * time.Second, BodyTimeout: 10 * time.Second,
			Logger: slog.New(slog.DiscardHandler),
		})
		srv.Handler, srv.ConnState, srv.ConnContext = cl.Handler(h), cl.ConnState, cl.ConnContext
		ln = cl
	}
	done := make(chan struct{})
	go func() {
		srv.Serve(ln)
		close(done)
	}()
	b.Cleanup(func() {
		srv.Close()
		<-done
	})
	return "http://" + inner.Addr().String()
}

// BenchmarkGuardOverhead measures what the client limits cost an answer
// from the cache: the same handler behind a plain listener and behind a
// Listener (its ConnState and ConnContext hooks, body guard, and a write
// deadline per 256 KiB, files still sent with sendfile), served over
// loopback to four keep-alive clients, alternating rounds side by side. It
// reports the median time per request of each and their ratio, for a
// small answer written from memory (like a .info) and a 1 MiB file sent
// with http.ServeContent (like a cached zip).
//
//	go test -run '^$' -bench GuardOverhead -benchtime 2000x ./proxy/clientlimit
func BenchmarkGuardOverhead(b *testing.B) {
	path := filepath.Join(b.TempDir(), "zip")
	if err := os.WriteFile(path, make([]byte, 1<<20), 0o644); err != nil {
		b.Fatal(err)
	}
	info := []byte(`{"Version":"v1.1.0","Time":"2024-01-02T03:04:05Z"}`)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/info" {
			w.Header().Set("Content-Type", "application/json")
			w.Write(info)
			return
		}
		f, err := os.Open(path)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		defer f.Close()
		http.ServeContent(w, r, "", time.Time{}, f)
	})
	plain, guarded := benchServer(b, h, false), benchServer(b, h, true)
	const clients, rounds = 4, 21
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients, DisableCompression: true}}
	round := func(url string) time.Duration {
		start := time.Now()
		var wg sync.WaitGroup
		for c := range clients {
			wg.Go(func() {
				for i := c; i < b.N; i += clients {
					resp, err := client.Get(url)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})
		}
		wg.Wait()
		return time.Since(start) / time.Duration(b.N)
	}
	b.ResetTimer()
	for _, p := range []string{"/info", "/zip1MiB"} {
		mg, mp := mirrortest.SideBySide(rounds,
			func(int) time.Duration { return round(guarded + p) },
			func(int) time.Duration { return round(plain + p) })
		name := p[1:]
		b.ReportMetric(float64(mg.Nanoseconds()), fmt.Sprintf("ns/%s-guarded", name))
		b.ReportMetric(float64(mp.Nanoseconds()), fmt.Sprintf("ns/%s-plain", name))
		b.ReportMetric(float64(mg)/float64(mp), name+"-guarded/plain")
	}
}
