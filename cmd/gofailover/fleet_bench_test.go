package main

import (
	"testing"
	"time"

	"github.com/gofailover/gofailover/proxy/mirrortest"
)

// BenchmarkFleetColdReplica measures what the shared store costs, or
// saves, a replica with an empty cache: the wall time of `go mod download`
// of a 24-module set (verified against the checksum database, with an
// empty module cache) through a fresh replica that reads the set from the
// shared store (a real versitygw on this machine, filled by a replica
// before), and through a fresh replica with no store that fetches it from
// a mirror on this machine, side by side: the two alternate in every
// iteration. Both replicas verify every module. It reports the median of
// each, their ratio, and the store's cost per module (the difference of
// the medians over the modules; negative when the store is faster).
//
//	go test -run '^$' -bench FleetColdReplica -benchtime 10x ./cmd/gofailover
func BenchmarkFleetColdReplica(b *testing.B) {
	const paths = 24
	srv := startSharedStore(b)
	rounds, db, mirror, err := mirrortest.NewRoundsMirror(paths, 1)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(mirror.Close)
	set := rounds[0]
	store := "GOFAILOVER_SHARED_STORE=" + srv.URL(fleetBucket, "")
	// A replica fills the store, and stops: its uploads drain.
	fill, stop := launchStoppable(b, b.TempDir(), db, []string{mirror.URL()}, store)
	timeGoModDownload(b, fill.url(), db, set)
	stop()

	fromStore := func(int) time.Duration {
		return timeGoModDownload(b, startServer(b, b.TempDir(), db, []string{mirror.URL()}, store), db, set)
	}
	fromMirror := func(int) time.Duration {
		return timeGoModDownload(b, startServer(b, b.TempDir(), db, []string{mirror.URL()}), db, set)
	}
	fromStore(0) // warm-up: the go command's own caches, the store's
	fromMirror(0)

	b.ResetTimer()
	mStore, mMirror := mirrortest.SideBySide(b.N, fromStore, fromMirror)
	b.StopTimer()
	b.ReportMetric(float64(mStore.Milliseconds()), "ms/set-store")
	b.ReportMetric(float64(mMirror.Milliseconds()), "ms/set-mirror")
	b.ReportMetric(float64(mStore)/float64(mMirror), "ratio")
	b.ReportMetric(float64((mStore-mMirror)/paths)/float64(time.Millisecond), "ms/module-store-cost")
}
