package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gofailover/gofailover/proxy/mirrortest"
)

// The client limits of the flooded servers: short, so that the floods
// show every hostile connection closed within them.
const (
	floodReadTimeout  = 2 * time.Second
	floodWriteTimeout = 2 * time.Second
	floodIdleTimeout  = 3 * time.Second
	// floodSlack is how much later than its timeout a hostile connection
	// may be seen closed: the clients share two CPUs with the server.
	floodSlack = 3 * time.Second
	// floodWarning is the overload warning's message.
	floodWarning = "client connections refused or closed"
)

// floodServer starts gofailover under an open-file limit of nofile (0:
// the machine's) with the flood's client limits and env, caches a .info
// and a 24 MiB zip in it from a mirror, then closes the mirror, so that
// every later answer is a hit.
func floodServer(tb testing.TB, nofile int, env ...string) (*process, floodTarget) {
	tb.Helper()
	big, err := mirrortest.SyntheticModule("example.com/big", "v1.0.0", 24<<20)
	if err != nil {
		tb.Fatal(err)
	}
	small, err := mirrortest.NewModule("example.com/small", "v1.0.0", map[string][]byte{"small.go": []byte("package small\n")})
	if err != nil {
		tb.Fatal(err)
	}
	mirror := mirrortest.NewMirror(nil, big, small)
	defer mirror.Close()
	p := startLimitedProcess(tb, nofile, append([]string{
		"GOFAILOVER_UPSTREAMS=" + mirror.URL(),
		"GOFAILOVER_CACHE_DIR=" + tb.TempDir(),
		"GOFAILOVER_PROBE_INTERVAL=0",
		"GOFAILOVER_CLIENT_READ_TIMEOUT=" + floodReadTimeout.String(),
		"GOFAILOVER_CLIENT_WRITE_TIMEOUT=" + floodWriteTimeout.String(),
		"GOFAILOVER_CLIENT_IDLE_TIMEOUT=" + floodIdleTimeout.String(),
	}, env...)...)
	if p.url == "" {
		tb.Fatalf("gofailover did not start:\n%s", p.stderr.String())
	}
	target := floodTarget{
		url:      p.url,
		info:     "/example.com/small/@v/v1.0.0.info",
		infoBody: small.Info,
		zip:      "/example.com/big/@v/v1.0.0.zip",
		zipSize:  len(big.Zip),
	}
	for _, path := range []string{target.info, target.zip, target.info, target.zip} {
		resp, err := http.Get(p.url + path)
		if err != nil {
			tb.Fatal(err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			tb.Fatalf("warming %s: %s, %d bytes", path, resp.Status, n)
		}
	}
	return p, target
}

// floodOf5000 is 5,000 hostile connections: 2,000 silent, 1,000 idle
// keep-alive, 500 slow headers, 1,300 slow bodies and 200 clients that ask
// for the 24 MiB zip and never read; 8 hit clients each ask for the .info
// every 10 ms for 5 s.
func floodOf5000() floodSpec {
	return floodSpec{
		hostile:     [numHostileKinds]int{hostileSilent: 2000, hostileKeepAlive: 1000, hostileSlowHeader: 500, hostileSlowBody: 1300, hostileNonReader: 200},
		reopenAfter: 500 * time.Millisecond,
		hitClients:  8,
		hitPause:    10 * time.Millisecond,
		measure:     5 * time.Second,
		closeWithin: [numHostileKinds]time.Duration{
			hostileSilent:     floodReadTimeout + floodSlack,
			hostileKeepAlive:  floodIdleTimeout + floodSlack,
			hostileSlowHeader: floodReadTimeout + floodSlack,
			hostileSlowBody:   2*floodReadTimeout + floodSlack,
		},
	}
}

// skipWithoutDescriptors skips tb when this process may not open n more
// files.
func skipWithoutDescriptors(tb testing.TB, n int) {
	tb.Helper()
	if lim := openFileLimit(); lim < uint64(n) {
		tb.Skipf("the flood needs %d open files in the test process; the limit is %d (raise it with ulimit -n)", n, lim)
	}
}

// checkFlood fails t unless every cached hit succeeded within a generous
// bound, every hostile connection was closed within its timeout (the
// non-readers' before the end of the flood, partway through the answer),
// and the overload was logged at most once per 10 s. It logs the figures.
func checkFlood(t *testing.T, p *process, spec floodSpec, res *floodResult, took time.Duration) {
	t.Helper()
	p50, p99 := percentile(res.hits, 50), percentile(res.hits, 99)
	t.Logf("%d cached hits under a flood of %d hostile connections: p50 %v, p99 %v, max %v; %d failed; on a new connection each: p50 %v, p99 %v; on a kept one: p50 %v, p99 %v",
		len(res.hits), spec.total(), p50, p99, percentile(res.hits, 100), len(res.failures),
		percentile(res.newConn, 50), percentile(res.newConn, 99), percentile(res.keptConn, 50), percentile(res.keptConn, 99))
	if len(res.failures) > 0 {
		t.Errorf("%d of %d cached hits failed; the first: %s", len(res.failures), len(res.failures)+len(res.hits), strings.Join(res.failures[:min(5, len(res.failures))], "; "))
	}
	if len(res.hits) == 0 {
		t.Fatal("no cached hit was answered")
	}
	if p99 > 2*time.Second {
		t.Errorf("p99 of cached hits %v: above even a generous bound of 2s", p99)
	}
	for kind := range hostileNonReader {
		t.Logf("%s: %d connections closed by the server, longest open %v; %d not closed within %v",
			kind, len(res.Lifetimes[kind]), percentile(res.Lifetimes[kind], 100), res.Late[kind], spec.closeWithin[kind])
		if res.Late[kind] > 0 {
			t.Errorf("%d %s connections not closed within %v", res.Late[kind], kind, spec.closeWithin[kind])
		}
	}
	open, partial := 0, int64(0)
	for _, n := range res.NonReaders {
		if n < 0 {
			open++
		} else {
			partial = max(partial, n)
		}
	}
	t.Logf("non-readers: %d of %d closed partway through the answer (at most %d bytes waiting unread)", len(res.NonReaders)-open, len(res.NonReaders), partial)
	if open > 0 {
		t.Errorf("%d of %d non-readers were not closed by the server by the end of the flood", open, len(res.NonReaders))
	}
	if res.DialErrors > 0 {
		t.Logf("%d hostile connections could not be opened", res.DialErrors)
	}
	warnings := strings.Count(p.stderr.String(), floodWarning)
	t.Logf("overload warnings logged: %d in %v", warnings, took.Round(time.Second))
	if maxWarnings := int(took/(10*time.Second)) + 2; warnings == 0 || warnings > maxWarnings {
		t.Errorf("%d overload warnings in %v, want from 1 to %d (one per 10 s at most)", warnings, took, maxWarnings)
	}
}

// TestProcessCachedHitsAnswerThroughAConnectionFlood opens 5,000 hostile
// connections against gofailover (silent, idle keep-alive, slow headers,
// slow bodies, and clients that never read a 24 MiB zip), reopening each
// the server closes, while cached hits are timed. Every hit succeeds,
// every hostile connection is closed within its timeout, the overload is
// logged once per interval at most and counted in the metrics.
func TestProcessCachedHitsAnswerThroughAConnectionFlood(t *testing.T) {
	spec := floodOf5000()
	skipWithoutDescriptors(t, spec.total()+1000)
	p, target := floodServer(t, 0)
	start := time.Now()
	res := flood(t, target, spec)
	checkFlood(t, p, spec, res, time.Since(start))
	m := scrape(t, p.url, "gofailover_connections_closed_total")
	t.Logf("connections closed by the server: %v", m)
	for reason, least := range map[string]float64{
		"write_timeout":  float64(spec.hostile[hostileNonReader]),
		"header_timeout": 1,
		"body_timeout":   1,
		"idle_timeout":   1,
	} {
		if got := m[fmt.Sprintf(`gofailover_connections_closed_total{reason=%q}`, reason)]; got < least {
			t.Errorf("connections closed for %s: %v, want at least %v", reason, got, least)
		}
	}
}

// TestProcessCachedHitsAnswerThroughAFloodBeyondTheOpenFileLimit is the
// same flood against gofailover under an open-file limit of 2048: the
// hostile connections outnumber the descriptors, so the cap (1472 by
// default) closes the connections idle the longest to let new ones in.
func TestProcessCachedHitsAnswerThroughAFloodBeyondTheOpenFileLimit(t *testing.T) {
	spec := floodOf5000()
	skipWithoutDescriptors(t, spec.total()+1000)
	p, target := floodServer(t, 2048)
	start := time.Now()
	res := flood(t, target, spec)
	checkFlood(t, p, spec, res, time.Since(start))
	m := scrape(t, p.url, "gofailover_connections")
	t.Logf("connection metrics: %v", m)
	if got := m["gofailover_connections_max"]; got != 1472 {
		t.Errorf("gofailover_connections_max %v, want 1472 (three quarters of 2048, less 64)", got)
	}
	if got := m[`gofailover_connections_closed_total{reason="evicted"}`]; got == 0 {
		t.Error("no connection was evicted, though the hostile ones outnumbered the cap")
	}
	if !strings.Contains(p.stderr.String(), "open_files_soft=2048 open_files_hard=2048") {
		t.Errorf("the open-file limits are not logged as 2048:\n%.2000s", p.stderr.String())
	}
}

// TestProcessOutOfDescriptorsDoesNotStopAccepting sets the connection cap
// above an open-file limit of 1024, so that idle connections exhaust the
// descriptors and accept fails with EMFILE: gofailover closes the
// connection idle the longest and goes on, and cached hits keep being
// answered.
func TestProcessOutOfDescriptorsDoesNotStopAccepting(t *testing.T) {
	spec := floodSpec{
		hostile:     [numHostileKinds]int{hostileSilent: 1500, hostileKeepAlive: 500},
		reopenAfter: 500 * time.Millisecond,
		hitClients:  8,
		hitPause:    10 * time.Millisecond,
		measure:     3 * time.Second,
		closeWithin: [numHostileKinds]time.Duration{
			hostileSilent:    floodReadTimeout + floodSlack,
			hostileKeepAlive: floodIdleTimeout + floodSlack,
		},
	}
	skipWithoutDescriptors(t, spec.total()+1000)
	p, target := floodServer(t, 1024, "GOFAILOVER_MAX_CONNECTIONS=5000")
	res := flood(t, target, spec)
	t.Logf("%d cached hits with the descriptors exhausted: p50 %v, p99 %v; %d failed",
		len(res.hits), percentile(res.hits, 50), percentile(res.hits, 99), len(res.failures))
	if len(res.failures) > 0 || len(res.hits) == 0 {
		t.Errorf("%d of %d cached hits failed; the first: %s", len(res.failures), len(res.failures)+len(res.hits), strings.Join(res.failures[:min(5, len(res.failures))], "; "))
	}
	m := scrape(t, p.url, "gofailover_")
	if m["gofailover_accept_errors_total"] == 0 || m[`gofailover_connections_closed_total{reason="evicted"}`] == 0 {
		t.Errorf("accept errors %v, evicted %v: want both above 0 (EMFILE, then an idle connection closed)",
			m["gofailover_accept_errors_total"], m[`gofailover_connections_closed_total{reason="evicted"}`])
	}
	if !strings.Contains(p.stderr.String(), floodWarning) {
		t.Error("running out of descriptors was not logged")
	}
	select {
	case <-p.done:
		t.Fatalf("gofailover exited:\n%s", p.stderr.String())
	default:
	}
}

// BenchmarkHitsUnderFlood times cached hits during the 5,000-connection
// flood, with the machine's open-file limit and with 2048, and reports
// their p50 and p99:
//
//	go test -run '^$' -bench HitsUnderFlood ./cmd/gofailover
func BenchmarkHitsUnderFlood(b *testing.B) {
	spec := floodOf5000()
	skipWithoutDescriptors(b, spec.total()+1000)
	for _, nofile := range []int{0, 2048} {
		name := "nofile=" + fmt.Sprint(nofile)
		if nofile == 0 {
			name = "nofile=machine"
		}
		b.Run(name, func(b *testing.B) {
			_, target := floodServer(b, nofile)
			var hits []time.Duration
			failures := 0
			for range b.N {
				res := flood(b, target, spec)
				hits = append(hits, res.hits...)
				failures += len(res.failures)
			}
			b.ReportMetric(float64(percentile(hits, 50).Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(percentile(hits, 99).Microseconds())/1000, "p99-ms")
			b.ReportMetric(float64(len(hits)), "hits")
			b.ReportMetric(float64(failures), "failed")
		})
	}
}
