package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// cacheHeader is gofailover's response header saying where an answer came
// from (proxy.CacheHeader; not imported, to keep the file-server child free
// of gofailover's packages).
const cacheHeader = "X-Gofailover-Cache"

// Bounds on one request, so that a stuck server cannot stall the run.
const (
	dialTimeout    = 5 * time.Second
	headerTimeout  = 30 * time.Second
	requestTimeout = 2 * time.Minute
)

// readBufSize is each client's read buffer. It plays the part of
// io.Copy(io.Discard, body) with a larger buffer than io.Discard's 8 KiB, so
// that reading a zip costs the shared CPUs as little as possible and the
// servers, not the clients, set the pace.
const readBufSize = 256 << 10

// loadSpec is one measured run: some clients requesting one URL.
type loadSpec struct {
	url     string
	fx      *fixture
	clients int
	// duration is how long the clients keep starting requests; zero means
	// each makes exactly one.
	duration time.Duration
	// prime makes each client send one unmeasured request first, so that
	// its connection is open when the clock starts.
	prime bool
	// wantHit checks that every answer carries X-Gofailover-Cache: hit.
	wantHit bool
}

// runResult is what one run measured. Bytes counts body bytes received;
// requests counts only complete, correct answers.
type runResult struct {
	requests int64
	bytes    int64
	errors   int64
	misses   int64 // answers that were not gofailover cache hits
	elapsed  time.Duration
	firstErr string
}

func (r *runResult) fail(format string, args ...any) {
	r.errors++
	if r.firstErr == "" {
		r.firstErr = fmt.Sprintf(format, args...)
	}
}

func (r *runResult) add(o runResult) {
	r.requests += o.requests
	r.bytes += o.bytes
	r.errors += o.errors
	r.misses += o.misses
	if r.firstErr == "" {
		r.firstErr = o.firstErr
	}
}

// reqPerSec and mibPerSec are the run's rates.
func (r runResult) reqPerSec() float64 { return float64(r.requests) / r.elapsed.Seconds() }
func (r runResult) mibPerSec() float64 { return float64(r.bytes) / (1 << 20) / r.elapsed.Seconds() }

// newTransport returns a keep-alive HTTP/1.1 transport with room for every
// client's connection, no compression and no proxy.
func newTransport(clients int) *http.Transport {
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: dialTimeout}).DialContext,
		MaxIdleConns:          2 * clients,
		MaxIdleConnsPerHost:   2 * clients,
		IdleConnTimeout:       time.Minute,
		ResponseHeaderTimeout: headerTimeout,
		DisableCompression:    true,
	}
}

// runLoad runs spec: spec.clients goroutines, each with its own keep-alive
// connection, loop GET and read the whole body until spec.duration has
// passed (a request in flight then is finished and counted). elapsed runs
// from the common start to the end of the last request.
func runLoad(ctx context.Context, spec loadSpec) runResult {
	tr := newTransport(spec.clients)
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: requestTimeout}

	var (
		total    runResult
		mu       sync.Mutex
		ready    sync.WaitGroup
		done     sync.WaitGroup
		start    = make(chan struct{})
		deadline time.Time // written before start is closed
	)
	ready.Add(spec.clients)
	done.Add(spec.clients)
	for range spec.clients {
		go func() {
			defer done.Done()
			buf := make([]byte, readBufSize)
			var r runResult
			if spec.prime {
				var p runResult
				get(ctx, client, spec, buf, &p)
				r.errors, r.misses, r.firstErr = p.errors, p.misses, p.firstErr
			}
			ready.Done()
			<-start
			for ctx.Err() == nil {
				before := r.errors
				get(ctx, client, spec, buf, &r)
				if spec.duration == 0 || !time.Now().Before(deadline) {
					break
				}
				if r.errors > before {
					time.Sleep(10 * time.Millisecond) // do not spin on a dead server
				}
			}
			mu.Lock()
			total.add(r)
			mu.Unlock()
		}()
	}
	ready.Wait()
	t0 := time.Now()
	deadline = t0.Add(spec.duration)
	close(start)
	done.Wait()
	total.elapsed = time.Since(t0)
	return total
}

// get sends one request and reads and checks the answer.
func get(ctx context.Context, client *http.Client, spec loadSpec, buf []byte, r *runResult) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, spec.url, nil)
	if err != nil {
		r.fail("%v", err)
		return
	}
	resp, err := client.Do(req)
	if err != nil {
		r.fail("%v", err)
		return
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 256))
		r.fail("GET %s: %s: %s", spec.url, resp.Status, strings.TrimSpace(string(msg)))
		return
	}
	if spec.wantHit {
		if h := resp.Header.Get(cacheHeader); h != "hit" {
			r.misses++
			if r.firstErr == "" {
				r.firstErr = fmt.Sprintf("GET %s: %s: %q, want \"hit\"", spec.url, cacheHeader, h)
			}
		}
	}
	keep := spec.fx.body != nil
	n, err := drain(resp.Body, buf, keep)
	r.bytes += n
	switch {
	case err != nil:
		r.fail("GET %s: reading the body after %d bytes: %v", spec.url, n, err)
	case n != spec.fx.size:
		r.fail("GET %s: body of %d bytes, want %d", spec.url, n, spec.fx.size)
	case keep && !bytes.Equal(buf[:n], spec.fx.body):
		r.fail("GET %s: body differs from the fixture", spec.url)
	default:
		r.requests++
	}
}

// drain reads r to its end and returns the byte count. With keep, the
// bytes are kept at the start of buf (as far as they fit) for checking.
func drain(r io.Reader, buf []byte, keep bool) (int64, error) {
	var n int64
	off := 0
	for {
		m, err := r.Read(buf[off:])
		n += int64(m)
		if keep {
			off += m
			if off == len(buf) {
				keep, off = false, 0 // too long to keep; the length check will fail
			}
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// sampler reads a process's VmRSS periodically and keeps the largest value.
type sampler struct {
	stop    chan struct{}
	done    chan struct{}
	peak    int64
	samples int
	err     error
}

// startSampler starts sampling pid's VmRSS every interval until finish.
func startSampler(pid int, every time.Duration) *sampler {
	s := &sampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		buf := make([]byte, 16<<10)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			rss, err := readRSS(pid, buf)
			if err != nil {
				s.err = err
				return
			}
			s.peak = max(s.peak, rss)
			s.samples++
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// finish stops the sampler and returns the largest VmRSS it saw.
func (s *sampler) finish() (peak int64, samples int, err error) {
	close(s.stop)
	<-s.done
	return s.peak, s.samples, s.err
}
