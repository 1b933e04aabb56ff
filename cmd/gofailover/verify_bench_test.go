package main

import (
	"testing"
	"time"

	"github.com/gofailover/gofailover/proxy/mirrortest"
)

// BenchmarkGoModDownloadVerification measures what checksum verification
// costs a user: the wall time of `go mod download` of a 24-module set that
// neither the go command (empty module cache) nor gofailover has seen,
// through a gofailover with verification on and one with it off, side by
// side: the two alternate in every iteration. The go command verifies
// every module against the database through gofailover's /sumdb/ in both
// cases. The database's tree is complete before timing starts and a
// warm-up round has cached its tiles. It reports the median of each and
// their ratio (target: at most 1.10).
//
//	go test -run '^$' -bench GoModDownloadVerification -benchtime 10x ./cmd/gofailover
func BenchmarkGoModDownloadVerification(b *testing.B) {
	const paths = 24
	rounds, db, mirror, err := mirrortest.NewRoundsMirror(paths, b.N+1)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(mirror.Close)
	on := startServer(b, b.TempDir(), db, []string{mirror.URL()})
	off := startServer(b, b.TempDir(), nil, []string{mirror.URL()})

	download := func(url string, mods []*mirrortest.Module) time.Duration {
		return timeGoModDownload(b, url, db, mods)
	}
	download(on, rounds[0])
	download(off, rounds[0])

	b.ResetTimer()
	mOn, mOff := mirrortest.SideBySide(b.N,
		func(i int) time.Duration { return download(on, rounds[i+1]) },
		func(i int) time.Duration { return download(off, rounds[i+1]) })
	b.StopTimer()
	b.ReportMetric(float64(mOn.Milliseconds()), "ms/set-verified")
	b.ReportMetric(float64(mOff.Milliseconds()), "ms/set-unverified")
	b.ReportMetric(float64(mOn)/float64(mOff), "ratio")
}

// timeGoModDownload runs `go mod download` of mods through the proxy at
// url with an empty module cache and returns how long it took.
func timeGoModDownload(b *testing.B, url string, db *mirrortest.SumDB, mods []*mirrortest.Module) time.Duration {
	b.Helper()
	env := mirrortest.GoEnv(b, url, db)
	args := []string{"mod", "download"}
	for _, m := range mods {
		args = append(args, m.Path+"@"+m.Version)
	}
	start := time.Now()
	if out, err := mirrortest.RunGo(b, env, b.TempDir(), args...); err != nil {
		b.Fatalf("go mod download through %s: %v\n%s", url, err, out)
	}
	return time.Since(start)
}
