package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkConcurrentLargeAnswersMemory measures the memory of a gofailover
// process (the built binary, a child process) while it fetches, checks,
// stores and serves concurrent distinct large answers it has not cached:
// 200 lists of just under 16 MiB each (the go command's limit) at once,
// from a loopback mirror that sends each in about 2 s (8 MiB/s), so that as many are in flight as gofailover allows (32 by
// default). It reports the child's peak resident set (VmHWM) over the
// burst, its resident set (VmRSS) before, just after and 10 s after the
// burst, the burst's length, and how many requests failed. The clients read
// at about 8 MiB/s too, so that answers are being sent while others are
// fetched.
//
//	go test -run '^$' -bench ConcurrentLargeAnswersMemory -benchtime 1x ./cmd/gofailover
func BenchmarkConcurrentLargeAnswersMemory(b *testing.B) {
	const clients = 200
	list := largeList(16<<20 - 64<<10)
	var inFlight, peak atomic.Int32
	mirror := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(list)))
		const chunk = 1 << 20
		for off := 0; off < len(list); off += chunk {
			if _, err := w.Write(list[off:min(off+chunk, len(list))]); err != nil {
				return
			}
			w.(http.Flusher).Flush()
			time.Sleep(120 * time.Millisecond)
		}
	}))
	b.Cleanup(mirror.Close)
	for b.Loop() {
		// The burst saturates a small machine (3.2 GB to check, store and
		// send), so a request may wait its turn for an upstream slot
		// longer than the default first-byte timeout: memory is what is
		// measured here.
		p := startProcess(b, "GOFAILOVER_UPSTREAMS="+mirror.URL, "GOFAILOVER_CACHE_DIR="+b.TempDir(),
			"GOFAILOVER_PROBE_INTERVAL=0", "GOFAILOVER_FIRST_BYTE_TIMEOUT=3m")
		if p.url == "" {
			b.Fatalf("gofailover did not start:\n%s", p.stderr)
		}
		pid := p.cmd.Process.Pid
		before := readStatus(b, pid)
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}, Timeout: 5 * time.Minute}
		var wg sync.WaitGroup
		var failed atomic.Int32
		var firstFailure sync.Once
		start := time.Now()
		for i := range clients {
			wg.Go(func() {
				resp, err := client.Get(fmt.Sprintf("%s/example.com/big%03d/@v/list", p.url, i))
				if err != nil {
					failed.Add(1)
					firstFailure.Do(func() { b.Logf("first failure: %v", err) })
					return
				}
				defer resp.Body.Close()
				n, err := readSlowly(resp.Body)
				if err != nil || resp.StatusCode != http.StatusOK || n != int64(len(list)) {
					failed.Add(1)
					firstFailure.Do(func() { b.Logf("first failure: %s, %d bytes, %v, after %v", resp.Status, n, err, time.Since(start)) })
				}
			})
		}
		wg.Wait()
		elapsed := time.Since(start)
		after := readStatus(b, pid)
		time.Sleep(10 * time.Second) // the runtime returns memory in the background
		quiet := readStatus(b, pid)
		b.ReportMetric(float64(before["VmRSS"])/(1<<20), "MiB-rss-before")
		b.ReportMetric(float64(after["VmHWM"])/(1<<20), "MiB-peak")
		b.ReportMetric(float64(after["VmRSS"])/(1<<20), "MiB-rss-after")
		b.ReportMetric(float64(quiet["VmRSS"])/(1<<20), "MiB-rss-10s-later")
		b.ReportMetric(elapsed.Seconds(), "s-burst")
		b.ReportMetric(float64(failed.Load()), "failed")
		client.CloseIdleConnections()
		b.Logf("peak %.1f MiB; RSS %.1f MiB before, %.1f MiB after, %.1f MiB 10 s later; %d clients in %v, %d failed; the mirror had %d requests in flight at most",
			float64(after["VmHWM"])/(1<<20), float64(before["VmRSS"])/(1<<20), float64(after["VmRSS"])/(1<<20),
			float64(quiet["VmRSS"])/(1<<20), clients, elapsed.Round(time.Millisecond), failed.Load(), peak.Load())
		if n := failed.Load(); n > 0 {
			b.Errorf("%d of %d requests failed", n, clients)
		}
	}
}

// readSlowly reads r to its end at about 8 MiB/s, as a client on a slow
// link does, and returns how many bytes it read.
func readSlowly(r io.Reader) (int64, error) {
	buf := make([]byte, 1<<20)
	var n int64
	for {
		m, err := io.ReadFull(r, buf)
		n += int64(m)
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		time.Sleep(120 * time.Millisecond)
	}
}

// largeList returns a valid @v/list of about n bytes.
func largeList(n int) []byte {
	var b bytes.Buffer
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "v1.%d.%d\n", i/1000, i%1000)
	}
	return b.Bytes()
}

// readStatus returns the memory lines of /proc/<pid>/status, in bytes.
func readStatus(tb testing.TB, pid int) map[string]int64 {
	tb.Helper()
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		tb.Skipf("no /proc status to read memory from: %v", err)
	}
	out := map[string]int64{}
	for line := range bytes.Lines(data) {
		f := bytes.Fields(line)
		if len(f) == 3 && string(f[2]) == "kB" {
			v, _ := strconv.ParseInt(string(f[1]), 10, 64)
			out[string(bytes.TrimSuffix(f[0], []byte(":")))] = v << 10
		}
	}
	return out
}
