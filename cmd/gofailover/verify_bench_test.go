package main

import (
	"slices"
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
	rounds := make([][]*mirrortest.Module, b.N+1)
	var all []*mirrortest.Module
	for i := range rounds {
		mods, err := mirrortest.ModuleSet(paths, i)
		if err != nil {
			b.Fatal(err)
		}
		rounds[i] = mods
		all = append(all, mods...)
	}
	db, err := mirrortest.NewSumDB("sumdb.test", all)
	if err != nil {
		b.Fatal(err)
	}
	mirror := mirrortest.NewMirror(db, all...)
	b.Cleanup(mirror.Close)
	if err := mirrortest.PrimeLookups(mirror.URL(), db, all); err != nil {
		b.Fatal(err)
	}
	on := startServer(b, b.TempDir(), db, []string{mirror.URL()})
	off := startServer(b, b.TempDir(), nil, []string{mirror.URL()})

	download := func(url string, mods []*mirrortest.Module) time.Duration {
		env := mirrortest.GoEnv(b, url, db)
		args := []string{"mod", "download"}
		for _, m := range mods {
			args = append(args, m.Path+"@"+m.Version)
		}
		start := time.Now()
		if out, err := mirrortest.RunGo(b, env, b.TempDir(), args...); err != nil {
			b.Fatalf("go mod download: %v\n%s", err, out)
		}
		return time.Since(start)
	}
	download(on, rounds[0])
	download(off, rounds[0])

	var tOn, tOff []time.Duration
	b.ResetTimer()
	for i := range b.N {
		mods := rounds[i+1]
		if i%2 == 0 {
			tOn = append(tOn, download(on, mods))
			tOff = append(tOff, download(off, mods))
		} else {
			tOff = append(tOff, download(off, mods))
			tOn = append(tOn, download(on, mods))
		}
	}
	b.StopTimer()
	mOn, mOff := median(tOn), median(tOff)
	b.ReportMetric(float64(mOn.Milliseconds()), "ms/set-verified")
	b.ReportMetric(float64(mOff.Milliseconds()), "ms/set-unverified")
	b.ReportMetric(float64(mOn)/float64(mOff), "ratio")
}

// median returns the median of ds.
func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}
