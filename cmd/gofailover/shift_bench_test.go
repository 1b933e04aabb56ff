package main

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/gofailover/gofailover/proxy/mirrortest"
)

// Traffic-shift scenario timing. The probe interval is short so that a
// run takes seconds; the targets are in probe intervals.
const (
	shiftProbeInterval = time.Second
	shiftWarm          = 2 * time.Second // both mirrors healthy
	shiftSlowFor       = 4 * time.Second // the preferred mirror 300 ms slower
	shiftHealFor       = 6 * time.Second // healed again
	shiftPace          = 20 * time.Millisecond
	shiftSlowdown      = 300 * time.Millisecond
)

// BenchmarkTrafficShift measures how routing follows a preferred mirror's
// health. A client sends a steady stream of requests that gofailover has
// not cached (a new module's .info every 20 ms) through a gofailover in
// front of two healthy mirrors, probing every second. After 2 s the
// preferred mirror turns 300 ms slower; after 4 more seconds it heals, and
// the run goes on for 6 s. Each iteration is a new gofailover.
//
//	go test -run '^$' -bench TrafficShift -benchtime 5x ./cmd/gofailover
//
// It reports the medians over iterations of:
//
//   - moved-requests and moved-s: requests and seconds after the slowdown
//     until traffic has moved (one past the last request that reached the
//     preferred mirror before ten in a row did not; from there on at most
//     10% reach it, or the run fails); target within 2 probe intervals or
//     20 requests, whichever comes first;
//   - back-s and back-intervals: seconds (and probe intervals) after healing
//     until the preferred mirror again carries most traffic (the first
//     request to reach it from which on more than half do); target within
//     3 probe intervals;
//   - hedge-overhead: hedged upstream requests over the whole run, as a
//     share of the others; target at most 10%.
func BenchmarkTrafficShift(b *testing.B) {
	perRun := int((shiftWarm+shiftSlowFor+shiftHealFor)/shiftPace) + 1
	mods := make([]*mirrortest.Module, 0, b.N*perRun+1)
	for i := range cap(mods) {
		m, err := mirrortest.SyntheticModule(fmt.Sprintf("example.com/shift/m%05d", i), "v1.0.0", 256)
		if err != nil {
			b.Fatal(err)
		}
		mods = append(mods, m)
	}
	probe, mods := mods[0], mods[1:]
	preferred := mirrortest.NewMirror(nil, append(mods, probe)...)
	other := mirrortest.NewMirror(nil, append(mods, probe)...)
	b.Cleanup(preferred.Close)
	b.Cleanup(other.Close)
	client := &http.Client{}

	var movedReqs, movedSecs, backSecs, overhead []float64
	b.ResetTimer()
	for i := range b.N {
		preferred.SetFault(mirrortest.Healthy())
		preferred.ResetRequests()
		srv := launchServer(b, b.TempDir(), nil, []string{preferred.URL(), other.URL()},
			"GOFAILOVER_PROBE_INTERVAL="+shiftProbeInterval.String(),
			"GOFAILOVER_PROBE_MODULE="+probe.String())
		next := mods[i*perRun : (i+1)*perRun]
		// send requests the next module's .info until d has passed and
		// returns, for each, when it started (from the phase's start) and
		// whether it reached the preferred mirror.
		send := func(d time.Duration) []shiftSample {
			var out []shiftSample
			start := time.Now()
			for time.Since(start) < d {
				m := next[0]
				next = next[1:]
				at := time.Since(start)
				path := "/" + m.Path + "/@v/" + m.Version + ".info"
				resp, err := client.Get(srv.url() + path)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("GET %s: %s", path, resp.Status)
				}
				out = append(out, shiftSample{at: at, preferred: preferred.Count(path) > 0})
				time.Sleep(shiftPace)
			}
			return out
		}

		send(shiftWarm)
		preferred.SetFault(mirrortest.Slow(shiftSlowdown))
		slow := send(shiftSlowFor)
		k, ok := movedAt(slow)
		if !ok {
			b.Fatalf("traffic never moved off the slowed preferred mirror: %v", slow)
		}
		movedReqs = append(movedReqs, float64(k))
		movedSecs = append(movedSecs, slow[k].at.Seconds())

		preferred.SetFault(mirrortest.Healthy())
		healed := send(shiftHealFor)
		k, ok = backAt(healed)
		if !ok {
			b.Fatalf("traffic never came back to the healed preferred mirror: %v", healed)
		}
		backSecs = append(backSecs, healed[k].at.Seconds())

		st := srv.handler.Stats()
		overhead = append(overhead, float64(st.Hedges)/float64(st.UpstreamAttempts-st.Hedges))
	}
	b.StopTimer()
	b.ReportMetric(medianOf(movedReqs), "moved-requests")
	b.ReportMetric(medianOf(movedSecs), "moved-s")
	b.ReportMetric(medianOf(backSecs), "back-s")
	b.ReportMetric(medianOf(backSecs)/shiftProbeInterval.Seconds(), "back-intervals")
	b.ReportMetric(medianOf(overhead), "hedge-overhead")
	b.Logf("moved after %v requests, %v s; back after %v s; hedge overhead %v", movedReqs, movedSecs, backSecs, overhead)
}

// shiftSample is one request of the traffic-shift scenario.
type shiftSample struct {
	at        time.Duration // since the phase began
	preferred bool          // it reached the preferred mirror
}

// movedAt returns how many requests of the slowed phase went by until
// traffic had moved: one past the last request that reached the preferred
// mirror before ten requests in a row did not. ok says whether 90% had
// moved by then: at most 10% of the requests from there on reach it.
func movedAt(samples []shiftSample) (moved int, ok bool) {
	last, quiet := -1, 0
	for i, s := range samples {
		switch {
		case !s.preferred:
			quiet++
		case quiet >= 10 && last >= 0:
			return last + 1, share(samples[last+1:]) <= 0.1
		default:
			last, quiet = i, 0
		}
	}
	return last + 1, last+1 < len(samples) && share(samples[last+1:]) <= 0.1
}

// backAt returns the first request of the healed phase that reached the
// preferred mirror such that, from it on, more than half do.
func backAt(samples []shiftSample) (int, bool) {
	for k, s := range samples {
		if s.preferred && share(samples[k:]) > 0.5 {
			return k, true
		}
	}
	return 0, false
}

// share is the share of samples that reached the preferred mirror.
func share(samples []shiftSample) float64 {
	hits := 0
	for _, s := range samples {
		if s.preferred {
			hits++
		}
	}
	return float64(hits) / float64(len(samples))
}

// medianOf returns the median of xs.
func medianOf(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
