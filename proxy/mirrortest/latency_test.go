package mirrortest_test

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/gofailover/gofailover/proxy/mirrortest"
)

// TestSlowDelaysEveryAnswer pins what the cold-path benchmarks' WAN mirror
// relies on: Slow(d) delays every answer by at least d, the checksum
// database's (supported, lookup, latest, tile) as well as the module
// files and not-found answers.
func TestSlowDelaysEveryAnswer(t *testing.T) {
	const delay = 40 * time.Millisecond
	mods, err := mirrortest.ModuleSet(1, 0)
	if err != nil {
		t.Fatal(err)
	}
	db, err := mirrortest.NewSumDB("sumdb.test", mods)
	if err != nil {
		t.Fatal(err)
	}
	mirror := mirrortest.NewMirror(db, mods...)
	defer mirror.Close()
	if err := mirrortest.PrimeLookups(mirror.URL(), db, mods); err != nil {
		t.Fatal(err)
	}
	mirror.SetFault(mirrortest.Slow(delay))

	get := func(p string) (string, time.Duration) {
		t.Helper()
		start := time.Now()
		resp, err := http.Get(mirror.URL() + p)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return string(body), time.Since(start)
	}
	latest, _ := get("/sumdb/sumdb.test/latest")
	lines := strings.Split(latest, "\n")
	if len(lines) < 2 {
		t.Fatalf("latest: %q", latest)
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 1 {
		t.Fatalf("latest: %q", latest)
	}
	tile := tlog.TileForIndex(8, tlog.StoredHashIndex(0, size-1))
	m := mods[0]
	for _, p := range []string{
		"/sumdb/sumdb.test/supported",
		"/sumdb/sumdb.test/latest",
		"/sumdb/sumdb.test/lookup/" + m.Path + "@" + m.Version,
		"/sumdb/sumdb.test/" + tile.Path(),
		"/" + m.Path + "/@v/list",
		"/" + m.Path + "/@v/" + m.Version + ".info",
		"/" + m.Path + "/@v/" + m.Version + ".mod",
		"/" + m.Path + "/@v/" + m.Version + ".zip",
		"/example.com/nonesuch/@v/list",
	} {
		if _, took := get(p); took < delay {
			t.Errorf("GET %s took %v, less than the %v of Slow", p, took, delay)
		}
	}
}
