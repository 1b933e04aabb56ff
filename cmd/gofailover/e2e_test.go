package main

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofailover/gofailover/proxy/mirrortest"
	"github.com/gofailover/gofailover/proxy/statuspage"
)

// startServer runs gofailover in this process in front of upstreams, with
// its cache in cacheDir, and returns its base URL. The server stops when
// the test ends.
func startServer(t testing.TB, cacheDir string, db *mirrortest.SumDB, upstreams []string, env ...string) string {
	t.Helper()
	return launchServer(t, cacheDir, db, upstreams, env...).url()
}

// launchServer is startServer returning the server itself.
func launchServer(t testing.TB, cacheDir string, db *mirrortest.SumDB, upstreams []string, env ...string) *server {
	t.Helper()
	srv, _ := launchStoppable(t, cacheDir, db, upstreams, env...)
	return srv
}

// launchStoppable is launchServer returning as well a function that stops
// the server gracefully (as SIGTERM does) before the test ends.
func launchStoppable(t testing.TB, cacheDir string, db *mirrortest.SumDB, upstreams []string, env ...string) (*server, func()) {
	t.Helper()
	sumdb := "off"
	if db != nil {
		sumdb = db.VerifierKey
	}
	// Tests may probe faster than the setting allows (minProbeInterval):
	// validated as the least, then set.
	var fastProbes time.Duration
	env = slices.Clone(env)
	for i, kv := range env {
		if v, ok := strings.CutPrefix(kv, "GOFAILOVER_PROBE_INTERVAL="); ok {
			if d, err := time.ParseDuration(v); err == nil && d > 0 && d < minProbeInterval {
				fastProbes, env[i] = d, "GOFAILOVER_PROBE_INTERVAL="+minProbeInterval.String()
			}
		}
	}
	cfg, err := loadConfig(newFlagSet(), nil, append([]string{
		"GOFAILOVER_LISTEN=127.0.0.1:0",
		"GOFAILOVER_UPSTREAMS=" + strings.Join(upstreams, ","),
		"GOFAILOVER_CACHE_DIR=" + cacheDir,
		"GOFAILOVER_CONNECT_TIMEOUT=1s",
		"GOFAILOVER_FIRST_BYTE_TIMEOUT=2s",
		"GOFAILOVER_SUMDB=" + sumdb,
		// The least reserve: tests must not depend on how full the
		// machine's disk is.
		"GOFAILOVER_CACHE_RESERVE=64MiB",
	}, env...))
	if err == nil {
		// The go command's settings must not leak in from the developer's
		// environment: a fake with none.
		err = cfg.validate(fakeGoEnv("", ""))
	}
	if err != nil {
		t.Fatal(err)
	}
	if fastProbes > 0 {
		cfg.ProbeInterval, cfg.LatencyHalfLife = fastProbes, fastProbes/5
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := newServer(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("server: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return srv, stop
}

// url returns the server's base URL.
func (s *server) url() string { return "http://" + s.listener.Addr().String() }

// testWriter sends log lines to the test log.
type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// allFixtures is every fixture module version as module@version.
func allFixtures(mods []*mirrortest.Module) []string {
	var out []string
	for _, m := range mods {
		out = append(out, m.Path+"@"+m.Version)
	}
	return out
}

// goDownloadAndGet runs `go mod download` of every fixture and `go get` of
// the app module in a scratch module, with a fresh module cache, and checks
// that the go command verified each against the checksum database.
func goDownloadAndGet(t *testing.T, proxyURL string, db *mirrortest.SumDB, mods []*mirrortest.Module) {
	t.Helper()
	env := mirrortest.GoEnv(t, proxyURL, db)
	work := t.TempDir()
	out, err := mirrortest.RunGo(t, env, work, append([]string{"mod", "download", "-json"}, allFixtures(mods)...)...)
	if err != nil {
		t.Fatalf("go mod download: %v\n%s", err, out)
	}
	if strings.Contains(out, `"Error"`) {
		t.Fatalf("go mod download reported an error:\n%s", out)
	}
	dir := mirrortest.ScratchModule(t, "example.com/scratch", nil)
	if out, err := mirrortest.RunGo(t, env, dir, "get", "example.com/app@v1.0.0"); err != nil {
		t.Fatalf("go get: %v\n%s", err, out)
	}
	sum, err := os.ReadFile(filepath.Join(dir, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"example.com/app", "example.com/lib", "example.com/Upper/Case"} {
		m := latest(mods, path)
		zipLine, modLine := db.GoSumLines(m)
		if path == "example.com/app" && !strings.Contains(string(sum), zipLine) {
			t.Errorf("go.sum lacks %q:\n%s", zipLine, sum)
		}
		if !strings.Contains(string(sum), modLine) {
			t.Errorf("go.sum lacks %q:\n%s", modLine, sum)
		}
	}
}

// latest returns the highest fixture version of path.
func latest(mods []*mirrortest.Module, path string) *mirrortest.Module {
	var best *mirrortest.Module
	for _, m := range mods {
		if m.Path == path && (best == nil || m.Version > best.Version) {
			best = m
		}
	}
	return best
}

func fixtures(t *testing.T) ([]*mirrortest.Module, *mirrortest.SumDB) {
	t.Helper()
	mods := mirrortest.TestdataModules(t)
	db, err := mirrortest.NewSumDB("sumdb.test", mods)
	if err != nil {
		t.Fatal(err)
	}
	return mods, db
}

// TestGoCommandThroughGofailover drives the real go command through
// gofailover, then again with every upstream stopped and an empty module
// cache: everything downloaded before comes out of gofailover's cache, and
// the go command still verifies it through the /sumdb/ pass-through.
func TestGoCommandThroughGofailover(t *testing.T) {
	mods, db := fixtures(t)
	mirror := mirrortest.NewMirror(db, mods...)
	defer mirror.Close()
	url := startServer(t, t.TempDir(), db, []string{mirror.URL()})

	goDownloadAndGet(t, url, db, mods)
	if len(mirror.Requests()) == 0 {
		t.Fatal("the mirror saw no request")
	}

	mirror.Close()
	t.Run("every upstream down", func(t *testing.T) {
		goDownloadAndGet(t, url, db, mods)
	})
}

// TestGoCommandSurvivesRestartOffline shows the cache persisting across a
// restart: a second gofailover on the same cache directory serves the go
// command with no upstream reachable at all.
func TestGoCommandSurvivesRestartOffline(t *testing.T) {
	mods, db := fixtures(t)
	mirror := mirrortest.NewMirror(db, mods...)
	cacheDir := t.TempDir()
	t.Run("online", func(t *testing.T) {
		goDownloadAndGet(t, startServer(t, cacheDir, db, []string{mirror.URL()}), db, mods)
	})
	mirror.Close()
	t.Run("offline after restart", func(t *testing.T) {
		goDownloadAndGet(t, startServer(t, cacheDir, db, []string{mirrortest.ClosedURL(t)}), db, mods)
	})
}

func TestGoCommandFirstUpstreamDead(t *testing.T) {
	mods, db := fixtures(t)
	mirror := mirrortest.NewMirror(db, mods...)
	defer mirror.Close()
	goDownloadAndGet(t, startServer(t, t.TempDir(), db, []string{mirrortest.ClosedURL(t), mirror.URL()}), db, mods)
}

// TestMetricsServed: /metrics of a running gofailover counts the go
// command's requests and shows each upstream's state.
func TestMetricsServed(t *testing.T) {
	mods, db := fixtures(t)
	m := mirrortest.NewMirror(db, mods...)
	defer m.Close()
	url := startServer(t, t.TempDir(), db, []string{m.URL()})
	goDownloadAndGet(t, url, db, mods)
	_, body := httpGet(t, url+"/metrics")
	for _, want := range []string{
		`gofailover_requests_total{cache="miss",kind="zip",status_class="2xx"}`,
		`gofailover_upstream_state{pool="public",state="healthy",upstream="` + m.URL() + `"} 1`,
		`gofailover_sumdb_lookups_total{result="found"}`,
		"gofailover_cache_entries ",
		"go_goroutines ",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestStatusServed: / and /status.json of a running gofailover describe
// its upstreams (one dead, one serving), its cache and its clients.
func TestStatusServed(t *testing.T) {
	mods, db := fixtures(t)
	m := mirrortest.NewMirror(db, mods...)
	defer m.Close()
	dead := mirrortest.ClosedURL(t)
	url := startServer(t, t.TempDir(), db, []string{dead, m.URL()}, "GOFAILOVER_PROBE_INTERVAL=50ms")
	goDownloadAndGet(t, url, db, mods)

	code, body := httpGet(t, url+"/status.json")
	if code != http.StatusOK {
		t.Fatalf("/status.json: %d %s", code, body)
	}
	rep, err := statuspage.DecodeReport(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("decoding /status.json: %v\n%s", err, body)
	}
	if len(rep.Upstreams) != 2 || rep.Upstreams[0].Name != dead || rep.Upstreams[1].Name != m.URL() {
		t.Fatalf("upstreams %+v, want %s then %s", rep.Upstreams, dead, m.URL())
	}
	if s := rep.Upstreams[0].State; s != "open" && s != "degraded" && s != "half-open" {
		t.Errorf("the dead upstream is %q", s)
	}
	if rep.Upstreams[0].LastError == "" || rep.Upstreams[0].ProbeFailures == 0 || rep.Upstreams[1].State != "healthy" || rep.Upstreams[1].Requests == 0 {
		t.Errorf("upstream rows: %+v", rep.Upstreams)
	}
	if !rep.Verification.Enabled || rep.Verification.Database != db.Name {
		t.Errorf("verification %+v, want on with %s", rep.Verification, db.Name)
	}
	if rep.Cache.Entries == 0 || rep.Cache.Misses == 0 || rep.Clients == nil || rep.Clients.Requests == 0 {
		t.Errorf("cache %+v, clients %+v", rep.Cache, rep.Clients)
	}
	if len(rep.Ranges) != 2 || len(rep.Ranges[0].Series) != 2 {
		t.Errorf("plot ranges: %+v", rep.Ranges)
	}

	code, page := httpGet(t, url+"/")
	if code != http.StatusOK || !bytes.Contains(page, []byte("<svg")) || !bytes.Contains(page, []byte(m.URL())) || !bytes.Contains(page, []byte("probes: ")) {
		t.Errorf("/: %d, %d bytes, want the page with plots naming %s", code, len(page), m.URL())
	}
}

// TestStatusShowsPrivateUpstreams: the upstreams for private modules have
// rows of their own on the status page, marked private, and with
// GOFAILOVER_PRIVATE_PROBE_MODULE they are probed for that module (never
// for the public probe module, nor the checksum database).
func TestStatusShowsPrivateUpstreams(t *testing.T) {
	mods, db := fixtures(t)
	public := mirrortest.NewMirror(db, mods...)
	private := mirrortest.NewMirror(nil)
	defer public.Close()
	defer private.Close()
	url := startServer(t, t.TempDir(), db, []string{public.URL()},
		"GOFAILOVER_PRIVATE=corp.example/*", "GOFAILOVER_PRIVATE_UPSTREAMS="+private.URL(),
		"GOFAILOVER_PRIVATE_PROBE_MODULE=corp.example/lib@v1.0.0", "GOFAILOVER_PROBE_INTERVAL=50ms")
	var rep statuspage.Report
	for deadline := time.Now().Add(10 * time.Second); ; {
		_, body := httpGet(t, url+"/status.json")
		var err error
		if rep, err = statuspage.DecodeReport(bytes.NewReader(body)); err != nil {
			t.Fatal(err)
		}
		if len(rep.Upstreams) == 2 && rep.Upstreams[1].Probes >= 4 || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if rep.Upstreams[1].Probes < 4 {
		t.Errorf("the private upstream was probed %d times in 10 s of 50 ms probe intervals", rep.Upstreams[1].Probes)
	}
	for _, p := range private.Requests() {
		if !strings.HasPrefix(p, "/corp.example/lib/@v/") {
			t.Errorf("the private upstream was asked for %s", p)
		}
	}
	if len(rep.Upstreams) != 2 || rep.Upstreams[0].Private || !rep.Upstreams[1].Private ||
		rep.Upstreams[1].Name != private.URL() || !rep.Upstreams[1].Preferred {
		t.Fatalf("upstream rows %+v, want the public one, then the private one marked private", rep.Upstreams)
	}
	if _, page := httpGet(t, url+"/"); !bytes.Contains(page, []byte(">private</span>")) {
		t.Error("the page does not mark the private upstream")
	}
}

// TestBoundedCacheEvictsAndRefetches: with a cache bound far below what
// the go command downloads, gofailover evicts as it goes, stays near the
// bound, and serves everything again, refetching what it evicted.
func TestBoundedCacheEvictsAndRefetches(t *testing.T) {
	mods, db := fixtures(t)
	m := mirrortest.NewMirror(db, mods...)
	defer m.Close()
	const bound = 4 << 10
	srv := launchServer(t, t.TempDir(), db, []string{m.URL()}, "GOFAILOVER_CACHE_MAX_SIZE=4KiB")
	goDownloadAndGet(t, srv.url(), db, mods)
	deadline := time.Now().Add(10 * time.Second)
	for srv.store.Stats().Bytes > bound {
		if time.Now().After(deadline) {
			t.Fatalf("10 s after the downloads the cache holds %+v, bound %d", srv.store.Stats(), bound)
		}
		time.Sleep(10 * time.Millisecond)
	}
	m.ResetRequests()
	goDownloadAndGet(t, srv.url(), db, mods) // a fresh module cache: everything again
	if len(m.Requests()) == 0 {
		t.Error("nothing was refetched: was anything evicted?")
	}
	checkServed(t, srv.url(), mods)
}
