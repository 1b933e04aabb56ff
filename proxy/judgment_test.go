package proxy_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofailover/gofailover/cache"
	"github.com/gofailover/gofailover/health"
	"github.com/gofailover/gofailover/health/alert"
	"github.com/gofailover/gofailover/proxy"
	"github.com/gofailover/gofailover/proxy/checksum"
	"github.com/gofailover/gofailover/proxy/mirrortest"
	"github.com/gofailover/gofailover/proxy/upstream"
)

// The tests of this file put gofailover, with a real health pool and the
// real upstream client, in front of fixture mirrors that misbehave as
// hostile or broken mirrors do, and check that nothing wrong reaches a
// client and that each mirror is judged for what it did.

// poolRig is a handler routing through a health.Pool over the given
// mirrors, in that order, verifying against db (off when nil).
type poolRig struct {
	srv    *httptest.Server
	pool   *health.Pool
	ups    []*health.Upstream
	store  *cache.Store
	client *upstream.Client
}

func newPoolRig(t *testing.T, db *mirrortest.SumDB, private string, urls ...string) *poolRig {
	t.Helper()
	ups, err := health.NewUpstreams(urls, health.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	pool := health.NewPool(ups, health.Config{}, nil)
	client := upstream.New(upstream.Config{ConnectTimeout: time.Second, FirstByteTimeout: 5 * time.Second, TempDir: t.TempDir()})
	cfg := proxy.Config{Router: pool, Client: client, Private: private, Logger: slog.New(slog.DiscardHandler)}
	if db != nil {
		if cfg.SumDB, err = checksum.ParseDatabase(db.VerifierKey, nil); err != nil {
			t.Fatal(err)
		}
	}
	srv, _, store := serveHandler(t, cfg)
	return &poolRig{srv: srv, pool: pool, ups: ups, store: store, client: client}
}

// get fetches path from the rig and returns the status and body.
func (r *poolRig) get(t *testing.T, path string) (int, string) {
	t.Helper()
	c := &http.Client{Timeout: time.Minute}
	resp, err := c.Get(r.srv.URL + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading: %v", path, err)
	}
	return resp.StatusCode, string(b)
}

// status returns the pool's status of upstream i.
func (r *poolRig) status(i int) health.Status { return r.pool.Snapshot()[i] }

// failures returns the failure count of every upstream by name.
func (r *poolRig) failures() map[string]uint64 {
	out := map[string]uint64{}
	for _, s := range r.pool.Snapshot() {
		out[s.Upstream.Name] = s.Failures + s.ProbeFailures
	}
	return out
}

// TestRefusedModuleOpensNoBreaker: the checksum database refuses a module
// (400, as the public one does for some hosts) and the mirrors do not have
// it (404). A steady trickle of requests for it, each starting a lookup
// relayed by every mirror, leaves every mirror healthy, with no failure and
// no alert. A preferred mirror that then slows down still loses its
// traffic within a few probe rounds.
func TestRefusedModuleOpensNoBreaker(t *testing.T) {
	mods, db, first, second := verifyFixture(t)
	_ = mods
	refuse := mirrortest.Status(http.StatusBadRequest).OnPrefix("/sumdb/sumdb.test/lookup/example.com/refused")
	first.SetFault(refuse)
	second.SetFault(refuse)
	r := newPoolRig(t, db, "", first.URL(), second.URL())

	for i := range 60 {
		code, body := r.get(t, fmt.Sprintf("/example.com/refused/@v/v1.0.%d.info", i))
		if code != http.StatusNotFound {
			t.Fatalf("request %d: %d %s, want 404", i, code, body)
		}
	}
	// A .mod of a refused module cannot be verified: not found, never 5xx.
	if code, body := r.get(t, "/example.com/refused/@v/v1.0.0.mod"); code != http.StatusNotFound {
		t.Errorf(".mod of the refused module: %d %s, want 404", code, body)
	}
	if n := first.Count("/sumdb/sumdb.test/lookup/example.com/refused@v1.0.3"); n == 0 {
		t.Fatalf("the lookups never reached the first mirror: %v", first.Requests())
	}
	for name, n := range r.failures() {
		if n != 0 {
			t.Errorf("%s: %d failures counted for definitive answers", name, n)
		}
	}
	engine := alert.NewEngine(alert.Config{For: -1}, nil, slog.New(slog.DiscardHandler))
	now := time.Now()
	for i := range 3 {
		engine.Evaluate(now.Add(time.Duration(i)*time.Minute), r.pool.Snapshot())
	}
	for _, a := range engine.Alerts(now.Add(3 * time.Minute)) {
		t.Errorf("alert %s %s on %s: want none", a.Rule, a.State, a.Upstream)
	}
	for i, s := range r.pool.Snapshot() {
		if s.State != health.StateHealthy {
			t.Errorf("upstream %d is %s, want healthy", i, s.State)
		}
	}

	// The preferred mirror turns slow: probes move the traffic away.
	if got := r.pool.Candidates()[0]; got != r.ups[0] {
		t.Fatalf("leader before the slowdown is %s, want the preferred %s", got.Name, r.ups[0].Name)
	}
	first.SetFaults(refuse, mirrortest.Slow(300*time.Millisecond))
	prober := health.NewProber(r.pool, health.ProbeConfig{SumDB: "sumdb.test", Module: "example.com/lib", Version: "v1.0.0"}, r.client, nil)
	for round := 1; round <= 3; round++ {
		prober.ProbeOnce(context.Background())
		if r.pool.Candidates()[0] == r.ups[1] {
			t.Logf("traffic moved to the second mirror after %d probe rounds", round)
			return
		}
	}
	t.Errorf("after 3 probe rounds the slow preferred mirror still leads: %+v", r.pool.Snapshot())
}

// TestJunkBodiesNeverReachClients: a mirror answering 200 with an HTML page
// for some modules' lists and @latest is a failure of that mirror; the
// first request after start-up, before any probe, gets the other mirror's
// real answer, and nothing malformed is cached.
func TestJunkBodiesNeverReachClients(t *testing.T) {
	_, db, first, second := verifyFixture(t)
	first.SetFaults(
		mirrortest.HTML().OnPrefix("/example.com/lib/").OnSuffix("/@v/list"),
		mirrortest.HTML().OnPrefix("/example.com/lib/").OnSuffix("/@latest"),
		mirrortest.HTML().OnPrefix("/example.com/util/").OnSuffix(".mod"),
		mirrortest.HTML().OnPrefix("/example.com/util/").OnSuffix(".zip"),
	)
	r := newPoolRig(t, db, "", first.URL(), second.URL())
	for _, path := range []string{"/example.com/lib/@v/list", "/example.com/lib/@latest",
		"/example.com/util/@v/v1.0.0.mod", "/example.com/util/@v/v1.0.0.zip"} {
		code, body := r.get(t, path)
		if code != http.StatusOK || strings.Contains(body, "<html") || strings.Contains(body, "sign in") {
			t.Errorf("%s: %d %.80q, want the good mirror's answer", path, code, body)
		}
		if e, err := r.store.Lookup(path); err != nil || e.Upstream != second.URL() {
			t.Errorf("%s: stored %+v, %v; want it from %s", path, e, err, second.URL())
		}
	}
	if code, body := r.get(t, "/example.com/lib/@v/list"); code != http.StatusOK || !strings.Contains(body, "v1.1.0") {
		t.Errorf("list again: %d %q", code, body)
	}
	st := r.status(0)
	if st.Failures == 0 || st.LastFailure != health.FailBadBody {
		t.Errorf("first mirror: %d failures, last %q; want its junk counted as bad_body", st.Failures, st.LastFailure)
	}
}

// TestTricklingMirrorMovesOn: a mirror that sends its header at once, then
// the body at 20 B/s, is abandoned for the next one: a .info and a zip
// are answered with the healthy mirror's bytes.
func TestTricklingMirrorMovesOn(t *testing.T) {
	mods, db, first, second := verifyFixture(t)
	first.SetFault(mirrortest.Trickle(20))
	r := newPoolRig(t, db, "", first.URL(), second.URL())
	lib := mirrortest.Lookup(mods, "example.com/lib", "v1.1.0")
	for _, path := range []string{"/example.com/lib/@v/v1.1.0.info", "/example.com/lib/@v/v1.1.0.zip"} {
		start := time.Now()
		code, body := r.get(t, path)
		if code != http.StatusOK {
			t.Fatalf("%s: %d %s", path, code, body)
		}
		if strings.HasSuffix(path, ".zip") && body != string(lib.Zip) {
			t.Errorf("%s: %d bytes, want the zip's %d", path, len(body), len(lib.Zip))
		}
		t.Logf("%s answered in %v", path, time.Since(start))
	}
	if st := r.status(0); st.LastFailure != health.FailSlowBody {
		t.Errorf("trickling mirror: last failure %q (%v), want slow_body", st.LastFailure, st.LastError)
	}
}

// TestRedirectsAreContained: a mirror's redirect to another service on the
// proxy's own machine is never followed (that service gets no request),
// and the next mirror answers; a same-origin redirect is followed.
func TestRedirectsAreContained(t *testing.T) {
	mods, db, first, second := verifyFixture(t)
	var victimHits atomic.Int32
	victim := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		victimHits.Add(1)
		fmt.Fprint(w, `{"Version":"v1.1.0"}`)
	}))
	t.Cleanup(victim.Close)
	first.SetFault(mirrortest.Redirect(victim.URL))
	r := newPoolRig(t, db, "", first.URL(), second.URL())
	for _, path := range []string{"/example.com/lib/@v/list", "/example.com/lib/@v/v1.1.0.info", "/example.com/lib/@latest"} {
		if code, body := r.get(t, path); code != http.StatusOK {
			t.Errorf("%s: %d %s", path, code, body)
		}
		if e, err := r.store.Lookup(path); err != nil || e.Upstream != second.URL() {
			t.Errorf("%s: stored %+v, %v; want it from %s", path, e, err, second.URL())
		}
	}
	if n := victimHits.Load(); n != 0 {
		t.Errorf("the loopback service got %d requests, want 0", n)
	}
	if st := r.status(0); st.LastFailure != health.FailRedirect || !strings.Contains(fmt.Sprint(st.LastError), "refused") {
		t.Errorf("redirecting mirror: last failure %q (%v), want a refused redirect", st.LastFailure, st.LastError)
	}

	// A redirect within the mirror's own origin works, for a zip too.
	only := mirrortest.NewMirror(db, mods...)
	t.Cleanup(only.Close)
	only.SetFault(mirrortest.RedirectSameOrigin())
	r2 := newPoolRig(t, db, "", only.URL())
	lib := mirrortest.Lookup(mods, "example.com/lib", "v1.1.0")
	if code, body := r2.get(t, "/example.com/lib/@v/v1.1.0.zip"); code != http.StatusOK || body != string(lib.Zip) {
		t.Errorf("same-origin redirect: %d, %d bytes", code, len(body))
	}
	if only.Count("/_moved/example.com/lib/@v/v1.1.0.zip") != 1 {
		t.Errorf("the same-origin redirect was not followed: %v", only.Requests())
	}
}

// TestInfoNamingAnotherVersionIsRefused: a .info naming another version
// than the one asked for is a failure of the mirror: the next mirror's
// answer is served when it has the version, and 404 when it does not.
func TestInfoNamingAnotherVersionIsRefused(t *testing.T) {
	_, db, _, second := verifyFixture(t)
	liar := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, ".info") {
			fmt.Fprint(w, `{"Version":"v9.9.9","Time":"2024-01-01T00:00:00Z"}`)
			return
		}
		http.NotFound(w, r)
	}))
	t.Cleanup(liar.Close)
	r := newPoolRig(t, db, "", liar.URL, second.URL())
	code, body := r.get(t, "/example.com/lib/@v/v1.1.0.info")
	var info struct{ Version string }
	if code != http.StatusOK || json.Unmarshal([]byte(body), &info) != nil || info.Version != "v1.1.0" {
		t.Errorf("v1.1.0.info: %d %s, want the healthy mirror's v1.1.0", code, body)
	}
	if code, body := r.get(t, "/example.com/lib/@v/v1.7.0.info"); code != http.StatusNotFound {
		t.Errorf("v1.7.0.info (which no honest mirror has): %d %s, want 404", code, body)
	}
	if _, err := r.store.Lookup("/example.com/lib/@v/v1.7.0.info"); err == nil {
		if obj, _ := r.store.Open("/example.com/lib/@v/v1.7.0.info"); obj != nil {
			defer obj.Close()
			if obj.Status == http.StatusOK {
				t.Error("the lying .info was cached as an answer")
			}
		}
	}
	if st := r.status(0); st.Failures != 2 || st.LastFailure != health.FailBadBody {
		t.Errorf("lying mirror: %d failures, last %q; want 2 bad_body", st.Failures, st.LastFailure)
	}

	// The same with a fixture mirror lying about every .info it has.
	mods, db2, lying, honest := verifyFixture(t)
	_ = mods
	lying.SetFault(mirrortest.WrongVersionInfo("not-a-version"))
	r2 := newPoolRig(t, db2, "", lying.URL(), honest.URL())
	if code, body := r2.get(t, "/example.com/lib/@v/v1.0.0.info"); code != http.StatusOK || !strings.Contains(body, `"v1.0.0"`) {
		t.Errorf("with a mirror naming not-a-version: %d %s", code, body)
	}
}

// TestPrivatePrefixesReachNoPublicMirror: the paths the go command asks
// for while resolving a private module (its path prefixes) and
// checksum-database paths of another database are answered 404 without
// asking any mirror.
func TestPrivatePrefixesReachNoPublicMirror(t *testing.T) {
	_, db, public, _ := verifyFixture(t)
	r := newPoolRig(t, db, "corp.example.com/team/*,*.internal.example", public.URL())
	for _, path := range []string{
		"/corp.example.com/@v/list",
		"/corp.example.com/team/@v/list",
		"/corp.example.com/team/@latest",
		"/corp.example.com/team/@v/master.info",
		"/corp.example.com/team/repo/@v/list",
		"/corp.example.com/team/repo/sub/@v/v1.0.0.info",
		"/git.internal.example/x/@v/list",
		"/sumdb/sumdb.test/lookup/corp.example.com/team/repo@v1.0.0",
		"/sumdb/other.example/supported",
		"/sumdb/other.example/lookup/example.com/lib@v1.0.0",
	} {
		if code, body := r.get(t, path); code != http.StatusNotFound {
			t.Errorf("%s: %d %s, want 404", path, code, body)
		}
	}
	for _, p := range public.Requests() {
		t.Errorf("the public mirror was asked for %s", p)
	}
	// Public neighbours still work.
	if code, body := r.get(t, "/example.com/lib/@v/list"); code != http.StatusOK {
		t.Errorf("a public list: %d %s", code, body)
	}
}

// TestZipsAreCheckedWithoutVerification: with checksum verification off,
// a mirror's junk zip and go.mod are still refused by the body checks, and
// the next mirror's are served.
func TestZipsAreCheckedWithoutVerification(t *testing.T) {
	mods, _, first, second := verifyFixture(t)
	first.SetFaults(mirrortest.HTML().OnSuffix(".zip"), mirrortest.HTML().OnSuffix(".mod"))
	r := newPoolRig(t, nil, "", first.URL(), second.URL())
	lib := mirrortest.Lookup(mods, "example.com/lib", "v1.1.0")
	zipPath := "/example.com/lib/@v/v1.1.0.zip"
	if code, body := r.get(t, zipPath); code != http.StatusOK || body != string(lib.Zip) {
		t.Errorf("zip: %d, %d bytes; want the good mirror's %d", code, len(body), len(lib.Zip))
	}
	if code, body := r.get(t, "/example.com/lib/@v/v1.1.0.mod"); code != http.StatusOK || body != string(lib.Mod) {
		t.Errorf("mod: %d %q; want the good mirror's", code, body)
	}
	if e, err := r.store.Lookup(zipPath); err != nil || e.Upstream != second.URL() || e.Verified {
		t.Errorf("stored zip %+v, %v; want it, unverified, from %s", e, err, second.URL())
	}
	if st := r.status(0); st.LastFailure != health.FailBadBody {
		t.Errorf("first mirror: last failure %q, want bad_body", st.LastFailure)
	}
}

// TestTricklingMirrorPinsNothing: 40 concurrent requests for distinct
// answers, with the first mirror trickling and allowed 32 requests in
// flight (the default cap): every request is answered by the healthy
// mirror; none stays pinned to the trickling one.
func TestTricklingMirrorPinsNothing(t *testing.T) {
	mods, err := mirrortest.ModuleSet(40, 0)
	if err != nil {
		t.Fatal(err)
	}
	db, err := mirrortest.NewSumDB("sumdb.test", mods)
	if err != nil {
		t.Fatal(err)
	}
	trickling, healthy := mirrortest.NewMirror(db, mods...), mirrortest.NewMirror(db, mods...)
	t.Cleanup(trickling.Close)
	t.Cleanup(healthy.Close)
	trickling.SetFault(mirrortest.Trickle(20))
	ups, err := health.NewUpstreams([]string{trickling.URL(), healthy.URL()}, health.Limits{MaxInFlight: 32})
	if err != nil {
		t.Fatal(err)
	}
	srv, _, _ := serveHandler(t, proxy.Config{Router: health.NewPool(ups, health.Config{}, nil),
		Client: upstream.New(upstream.Config{}), Logger: slog.New(slog.DiscardHandler)})
	c := &http.Client{Timeout: time.Minute}
	start := time.Now()
	var wg sync.WaitGroup
	for _, m := range mods {
		wg.Go(func() {
			resp, err := c.Get(srv.URL + "/" + m.Path + "/@v/" + m.Version + ".info")
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			if body, _ := io.ReadAll(resp.Body); resp.StatusCode != http.StatusOK || !strings.Contains(string(body), m.Version) {
				t.Errorf("%s: %d %s", m, resp.StatusCode, body)
			}
		})
	}
	wg.Wait()
	t.Logf("40 concurrent .info requests answered in %v", time.Since(start))
}

// TestLargeListIsServedFromAFile: a list over 256 KiB goes through a file,
// is checked there, stored and served whole; one with junk after its first
// megabytes is refused and the next mirror's is served.
func TestLargeListIsServedFromAFile(t *testing.T) {
	var b strings.Builder
	for i := 0; b.Len() < 2<<20; i++ {
		fmt.Fprintf(&b, "v1.0.%d\n", i)
	}
	list := b.String()
	junk := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, list+"<html>sign in</html>\n")
	}))
	t.Cleanup(junk.Close)
	good := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, list)
	}))
	t.Cleanup(good.Close)
	r := newPoolRig(t, nil, "", junk.URL, good.URL)
	for i, want := range []string{"miss", "hit"} {
		resp, err := http.Get(r.srv.URL + "/example.com/big/@v/list")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(body) != list || resp.Header.Get(proxy.CacheHeader) != want {
			t.Errorf("#%d: %s, %d bytes, %s; want the %d-byte list, %s", i, resp.Status, len(body), resp.Header.Get(proxy.CacheHeader), len(list), want)
		}
	}
	if st := r.status(0); st.LastFailure != health.FailBadBody {
		t.Errorf("junk mirror: last failure %q, want bad_body", st.LastFailure)
	}
}
