package main

import (
	"testing"
	"time"

	"github.com/gofailover/gofailover/proxy/mirrortest"
)

// BenchmarkFailover measures what a sick preferred mirror costs a user: the
// wall time of `go mod download` of a 24-module set that neither the go
// command nor gofailover has seen, through three gofailovers side by side
// (each iteration runs all three, in rotating order): one whose preferred
// upstream is healthy, one whose preferred upstream is dead (a closed
// port), one whose preferred upstream accepts connections and never
// answers. The second upstream is healthy in all three. Each gofailover
// runs for the whole benchmark, as a real one does, so its health state
// carries over between rounds; the first round, in which each learns what
// its preferred upstream is like, is reported apart. It reports the medians
// of the other rounds and their ratios to the healthy case (targets: dead
// at most 1.1, blackhole at most 1.5), and for each gofailover the hedged
// upstream requests of the whole run as a share of the others (target at
// most 0.1).
//
//	go test -run '^$' -bench Failover -benchtime 10x ./cmd/gofailover
func BenchmarkFailover(b *testing.B) {
	const paths = 24
	rounds, db, good, err := mirrortest.NewRoundsMirror(paths, b.N+1)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(good.Close)
	var all []*mirrortest.Module
	for _, r := range rounds {
		all = append(all, r...)
	}
	preferred := mirrortest.NewMirror(db, all...)
	b.Cleanup(preferred.Close)
	blackhole := mirrortest.NewMirror(db, all...)
	b.Cleanup(blackhole.Close)
	blackhole.SetFault(mirrortest.Blackhole())

	srvs := []*server{
		launchServer(b, b.TempDir(), db, []string{preferred.URL(), good.URL()}),
		launchServer(b, b.TempDir(), db, []string{mirrortest.ClosedURL(b), good.URL()}),
		launchServer(b, b.TempDir(), db, []string{blackhole.URL(), good.URL()}),
	}
	healthy, dead, hole := srvs[0].url(), srvs[1].url(), srvs[2].url()

	download := func(url string, mods []*mirrortest.Module) time.Duration {
		return timeGoModDownload(b, url, db, mods)
	}
	// The first round is where each gofailover learns that its preferred
	// upstream is sick; it is reported apart.
	var first [3]time.Duration
	for k, url := range []string{healthy, dead, hole} {
		first[k] = download(url, rounds[0])
	}

	servers := []string{healthy, dead, hole}
	times := make([][]time.Duration, len(servers))
	b.ResetTimer()
	for i := range b.N {
		for k := range servers {
			j := (i + k) % len(servers)
			times[j] = append(times[j], download(servers[j], rounds[i+1]))
		}
	}
	b.StopTimer()
	mHealthy, mDead, mHole := mirrortest.Median(times[0]), mirrortest.Median(times[1]), mirrortest.Median(times[2])
	b.ReportMetric(float64(mHealthy.Milliseconds()), "ms/set-healthy")
	b.ReportMetric(float64(mDead.Milliseconds()), "ms/set-dead-first")
	b.ReportMetric(float64(mHole.Milliseconds()), "ms/set-blackhole-first")
	b.ReportMetric(float64(first[0].Milliseconds()), "ms/first-set-healthy")
	b.ReportMetric(float64(first[1].Milliseconds()), "ms/first-set-dead-first")
	b.ReportMetric(float64(first[2].Milliseconds()), "ms/first-set-blackhole-first")
	b.ReportMetric(float64(mDead)/float64(mHealthy), "dead/healthy")
	b.ReportMetric(float64(mHole)/float64(mHealthy), "blackhole/healthy")
	for k, name := range []string{"healthy", "dead-first", "blackhole-first"} {
		st := srvs[k].handler.Stats()
		b.ReportMetric(float64(st.Hedges)/float64(st.UpstreamAttempts-st.Hedges), "hedge-overhead-"+name)
	}
}
