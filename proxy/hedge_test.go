package proxy_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gofailover/gofailover/cache"
	"github.com/gofailover/gofailover/proxy"
	"github.com/gofailover/gofailover/proxy/mirrortest"
	"github.com/gofailover/gofailover/proxy/upstream"
)

// hedgeRig is a handler in front of a slow and a fast mirror with the
// given hedge budget and burst.
func hedgeRig(t *testing.T, budget float64, burst int) (*httptest.Server, *cache.Store, *mirrortest.Mirror, *mirrortest.Mirror) {
	t.Helper()
	mods := mirrortest.TestdataModules(t)
	slow := mirrortest.NewMirror(nil, mods...)
	fast := mirrortest.NewMirror(nil, mods...)
	t.Cleanup(slow.Close)
	t.Cleanup(fast.Close)
	slow.SetFault(mirrortest.Slow(3 * time.Second).OnSuffix(".zip"))
	srv, _, store := serveHandler(t, proxy.Config{
		HedgeFloor: 50 * time.Millisecond, HedgeCeiling: 100 * time.Millisecond, HedgeBudget: budget, HedgeBurst: burst,
	}, slow.URL(), fast.URL())
	return srv, store, slow, fast
}

// TestHedgedRequestWins: the preferred mirror does not start answering a
// zip within the hedge delay, so the request also goes to the next one,
// whose answer wins; the slow attempt is abandoned.
func TestHedgedRequestWins(t *testing.T) {
	srv, store, slow, fast := hedgeRig(t, 1.0, -1)
	// One plain request first, so the budget (hedges per plain request)
	// has room for a hedge.
	if resp, err := http.Get(srv.URL + "/example.com/lib/@v/v1.1.0.info"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("warm-up: %v %v", resp, err)
	}
	const zip = "/example.com/lib/@v/v1.1.0.zip"
	resp, err := http.Get(srv.URL + zip)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", zip, resp.Status)
	}
	e, err := store.Lookup(zip)
	if err != nil {
		t.Fatal(err)
	}
	if e.Upstream != fast.URL() {
		t.Errorf("the zip came from %s, want the hedge target %s", e.Upstream, fast.URL())
	}
	if slow.Count(zip) != 1 || fast.Count(zip) != 1 {
		t.Errorf("slow mirror asked %d times, fast %d: want the first attempt and one hedge", slow.Count(zip), fast.Count(zip))
	}
}

// TestHedgingStaysWithinBudget: with no budget for hedges (and no burst)
// the request waits for the preferred mirror.
func TestHedgingStaysWithinBudget(t *testing.T) {
	srv, store, slow, fast := hedgeRig(t, 0.0001, -1)
	const zip = "/example.com/lib/@v/v1.1.0.zip"
	resp, err := http.Get(srv.URL + zip)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	e, err := store.Lookup(zip)
	if err != nil {
		t.Fatal(err)
	}
	if e.Upstream != slow.URL() || fast.Count(zip) != 0 {
		t.Errorf("the zip came from %s and the fast mirror was asked %d times: a hedge went out beyond the budget", e.Upstream, fast.Count(zip))
	}
}

// TestMutableAnswersHedged: a list is hedged too, so a preferred mirror
// that has stopped answering costs the go command's first requests the
// hedge delay, not the first-byte timeout; the handler counts the hedge
// and its win.
func TestMutableAnswersHedged(t *testing.T) {
	mods := mirrortest.TestdataModules(t)
	stuck := mirrortest.NewMirror(nil, mods...)
	fast := mirrortest.NewMirror(nil, mods...)
	t.Cleanup(stuck.Close)
	t.Cleanup(fast.Close)
	stuck.SetFault(mirrortest.Blackhole().OnSuffix("/@v/list"))
	srv, h, _ := serveHandler(t, proxy.Config{
		HedgeFloor: 50 * time.Millisecond, HedgeCeiling: 100 * time.Millisecond, HedgeBudget: 1,
	}, stuck.URL(), fast.URL())
	if resp, err := http.Get(srv.URL + "/example.com/lib/@v/v1.1.0.info"); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("warm-up: %v %v", resp, err)
	}
	const list = "/example.com/lib/@v/list"
	resp, err := http.Get(srv.URL + list)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "v1.1.0") {
		t.Fatalf("GET %s: %s %q", list, resp.Status, body)
	}
	if stuck.Count(list) != 1 || fast.Count(list) != 1 {
		t.Errorf("stuck mirror asked %d times, fast %d: want the first attempt and one hedge", stuck.Count(list), fast.Count(list))
	}
	if st := h.Stats(); st.UpstreamAttempts != 3 || st.Hedges != 1 || st.HedgesWon != 1 {
		t.Errorf("Stats() = %+v, want 3 attempts, 1 hedge, 1 won", st)
	}
}

// TestNotFoundDoesNotWaitForStuckUpstream: the first upstream says a
// module does not exist; the second, asked for a second opinion, never
// answers. The request ends with the 404 once the second has had its
// hedge delay, not at the first-byte timeout (an hour here), and the
// stuck attempt is abandoned.
func TestNotFoundDoesNotWaitForStuckUpstream(t *testing.T) {
	mods := mirrortest.TestdataModules(t)
	empty := mirrortest.NewMirror(nil)
	stuck := mirrortest.NewMirror(nil, mods...)
	t.Cleanup(empty.Close)
	t.Cleanup(stuck.Close)
	stuck.SetFault(mirrortest.Blackhole())
	srv, _, _ := serveHandler(t, proxy.Config{
		Client:     upstream.New(upstream.Config{FirstByteTimeout: time.Hour}),
		HedgeFloor: 50 * time.Millisecond, HedgeCeiling: 100 * time.Millisecond,
	}, empty.URL(), stuck.URL())
	client := &http.Client{Timeout: time.Minute}
	const info = "/example.com/lib/@v/v1.1.0.info"
	resp, err := client.Get(srv.URL + info)
	if err != nil {
		t.Fatalf("GET %s: %v (waiting for the stuck upstream?)", info, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound || !strings.Contains(string(body), empty.URL()) {
		t.Fatalf("GET %s: %s %q, want 404 naming %s", info, resp.Status, body, empty.URL())
	}
	if stuck.Count(info) != 1 {
		t.Errorf("the stuck upstream was asked %d times, want 1", stuck.Count(info))
	}
}

// TestHedgeWaitsForBudget: a request stuck on a slow mirror while the
// hedge budget is spent hedges as soon as other requests refill the
// budget, instead of waiting for the slow mirror.
func TestHedgeWaitsForBudget(t *testing.T) {
	srv, store, slow, fast := hedgeRig(t, 0.5, -1)
	const zip = "/example.com/lib/@v/v1.1.0.zip"
	done := make(chan error, 1)
	go func() {
		resp, err := http.Get(srv.URL + zip)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	// With no plain attempt yet, the budget allows no hedge; wait until
	// the zip request is stuck on the slow mirror, then make two plain
	// requests, which pay for one hedge.
	for slow.Count(zip) == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	for _, p := range []string{"/example.com/lib/@v/v1.0.0.info", "/example.com/util/@v/v1.0.0.info"} {
		resp, err := http.Get(srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	e, err := store.Lookup(zip)
	if err != nil {
		t.Fatal(err)
	}
	if e.Upstream != fast.URL() || fast.Count(zip) != 1 {
		t.Errorf("the zip came from %s (fast mirror asked %d times): want a hedge to %s once the budget allowed it", e.Upstream, fast.Count(zip), fast.URL())
	}
}
