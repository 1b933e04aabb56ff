package proxy_test

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofailover/gofailover/proxy"
	"github.com/gofailover/gofailover/proxy/mirrortest"
)

// TestStatsCountRequests: every answered request is counted once by kind,
// status class and cache result, and concurrent requests for one answer
// are counted as sharing its fetch.
func TestStatsCountRequests(t *testing.T) {
	mods := mirrortest.TestdataModules(t)
	m := mirrortest.NewMirror(nil, mods...)
	t.Cleanup(m.Close)
	m.SetFault(mirrortest.Slow(200 * time.Millisecond).OnSuffix(".zip"))
	srv, h, _ := serveHandler(t, proxy.Config{}, m.URL())

	do := func(method, path string) int {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	const info = "/example.com/lib/@v/v1.1.0.info"
	do("GET", info)                              // info 2xx miss
	do("GET", info)                              // info 2xx hit
	do("GET", "/example.com/nope/@v/v1.0.0.mod") // mod 4xx none (not found upstream)
	do("GET", "/example.com/nope/@v/v1.0.0.mod") // mod 4xx hit (remembered)
	do("GET", "/example.com/lib/@v/bad")         // invalid 4xx none
	do("POST", info)                             // invalid 4xx none
	var wg sync.WaitGroup
	for range 2 { // zip 2xx miss, twice, sharing one fetch
		wg.Go(func() { do("GET", "/example.com/lib/@v/v1.1.0.zip") })
	}
	wg.Wait()
	srv.Close() // waits for the handlers, which count as they return

	var got []string
	for _, c := range h.Stats().Requests {
		got = append(got, c.Kind+" "+c.Class+" "+c.Cache+" "+strings.Repeat("I", int(c.Count)))
	}
	want := []string{
		"info 2xx miss I", "info 2xx hit I",
		"mod 4xx none I", "mod 4xx hit I",
		"zip 2xx miss II",
		"invalid 4xx none II",
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("request counts:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if st := h.Stats(); st.SharedFetches != 2 {
		t.Errorf("SharedFetches = %d, want 2 (both zip requests shared one fetch)", st.SharedFetches)
	}
	if n := m.Count("/example.com/lib/@v/v1.1.0.zip"); n != 1 {
		t.Errorf("the zip was fetched %d times", n)
	}
}
