package proxy_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gofailover/gofailover/proxy"
	"github.com/gofailover/gofailover/proxy/checksum"
	"github.com/gofailover/gofailover/proxy/mirrortest"
)

// coldSet is a gofailover handler with its own cache in front of a mirror.
type coldSet struct {
	srv *httptest.Server
}

func newColdSet(b *testing.B, mirror *mirrortest.Mirror, db *mirrortest.SumDB) *coldSet {
	b.Helper()
	var cfg proxy.Config
	if db != nil {
		var err error
		if cfg.SumDB, err = checksum.ParseDatabase(db.VerifierKey, nil); err != nil {
			b.Fatal(err)
		}
	}
	srv, _, _ := serveHandler(b, cfg, mirror.URL())
	return &coldSet{srv: srv}
}

// round fetches the .info, .mod and .zip of every module, none of them
// cached yet, as a go command with an empty module cache would, and
// returns how long that took.
func (cs *coldSet) round(b *testing.B, mods []*mirrortest.Module) time.Duration {
	start := time.Now()
	for _, m := range mods {
		base := "/" + m.Path + "/@v/" + m.Version
		for _, p := range []string{base + ".info", base + ".mod", base + ".zip"} {
			resp, err := http.Get(cs.srv.URL + p)
			if err != nil {
				b.Fatal(err)
			}
			_, err = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusOK || resp.Header.Get(proxy.CacheHeader) != "miss" {
				b.Fatalf("GET %s: %s, %s, %v", p, resp.Status, resp.Header.Get(proxy.CacheHeader), err)
			}
		}
	}
	return time.Since(start)
}

// BenchmarkVerificationOverhead measures the cold path of a 24-module set
// (.info, .mod and .zip of each, never fetched before) with checksum
// verification on and off, alternating the two in every iteration so both
// see the same machine state. Every round fetches new versions, whose
// lookups the verifier must read from the database through the mirror;
// the database's tree is complete before timing starts and a warm-up round
// has cached its tiles, as they are after gofailover's first use. It
// reports the median time of a round for each and their ratio (target: at
// most 1.10).
//
//	go test -run '^$' -bench VerificationOverhead -benchtime 20x ./proxy
func BenchmarkVerificationOverhead(b *testing.B) {
	const paths = 24
	rounds, db, mirror, err := mirrortest.NewRoundsMirror(paths, b.N+1)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(mirror.Close)
	on := newColdSet(b, mirror, db)
	off := newColdSet(b, mirror, nil)
	on.round(b, rounds[0]) // verifies the tree head and caches the tiles
	off.round(b, rounds[0])

	b.ResetTimer()
	mOn, mOff := mirrortest.SideBySide(b.N,
		func(i int) time.Duration { return on.round(b, rounds[i+1]) },
		func(i int) time.Duration { return off.round(b, rounds[i+1]) })
	b.StopTimer()
	b.ReportMetric(float64(mOn.Microseconds())/1000, "ms/set-verified")
	b.ReportMetric(float64(mOff.Microseconds())/1000, "ms/set-unverified")
	b.ReportMetric(float64(mOn)/float64(mOff), "ratio")
}
