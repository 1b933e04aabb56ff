package proxy_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gofailover/gofailover/cache"
	"github.com/gofailover/gofailover/health"
	"github.com/gofailover/gofailover/proxy"
	"github.com/gofailover/gofailover/proxy/checksum"
	"github.com/gofailover/gofailover/proxy/mirrortest"
	"github.com/gofailover/gofailover/proxy/sharedtier"
	"github.com/gofailover/gofailover/proxy/upstream"
)

// recordingRouter is health.Static that remembers every outcome reported.
type recordingRouter struct {
	health.Static

	mu       sync.Mutex
	outcomes map[string][]health.Outcome // upstream name -> outcomes
}

func newRecordingRouter(t *testing.T, urls ...string) *recordingRouter {
	t.Helper()
	ups, err := health.NewUpstreams(urls, health.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	return &recordingRouter{Static: health.Static(ups), outcomes: make(map[string][]health.Outcome)}
}

func (r *recordingRouter) Report(u *health.Upstream, o health.Outcome) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.outcomes[u.Name] = append(r.outcomes[u.Name], o)
}

// count returns how many outcomes of the upstream at url had failure kind.
func (r *recordingRouter) count(url string, kind health.FailureKind) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, o := range r.outcomes[url] {
		if o.Failure == kind {
			n++
		}
	}
	return n
}

// failures returns the failure kinds reported for the upstream at url.
func (r *recordingRouter) failures(url string) []health.FailureKind {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []health.FailureKind
	for _, o := range r.outcomes[url] {
		if o.Failure != health.FailNone {
			out = append(out, o.Failure)
		}
	}
	return out
}

// logSink is a slog.Handler keeping every record as one line of text.
type logSink struct {
	mu    sync.Mutex
	lines []string
	attrs []slog.Attr
	root  *logSink
}

func newLogSink() *logSink { s := &logSink{}; s.root = s; return s }

func (s *logSink) Enabled(context.Context, slog.Level) bool { return true }

func (s *logSink) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", r.Level, r.Message)
	for _, a := range s.attrs {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
	}
	r.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	s.root.mu.Lock()
	s.root.lines = append(s.root.lines, b.String())
	s.root.mu.Unlock()
	return nil
}

func (s *logSink) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &logSink{attrs: append(append([]slog.Attr(nil), s.attrs...), attrs...), root: s.root}
}

func (s *logSink) WithGroup(string) slog.Handler { return s }

// matching returns the lines at level containing every one of subs.
func (s *logSink) matching(level slog.Level, subs ...string) []string {
	s.root.mu.Lock()
	defer s.root.mu.Unlock()
	var out []string
next:
	for _, l := range s.root.lines {
		if !strings.HasPrefix(l, level.String()+" ") {
			continue
		}
		for _, sub := range subs {
			if !strings.Contains(l, sub) {
				continue next
			}
		}
		out = append(out, l)
	}
	return out
}

// vrig is a gofailover handler verifying against a checksum database.
type vrig struct {
	srv     *httptest.Server
	store   *cache.Store
	router  *recordingRouter
	private *recordingRouter
	logs    *logSink
}

// vrigConfig describes a vrig.
type vrigConfig struct {
	upstreams        []string
	private          string   // proxy.Config.Private
	privateUpstreams []string // nil: no private router
	store            *cache.Store
	shared           *sharedtier.Tier // proxy.Config.Shared, over store
	sharedPrivate    bool
	now              func() time.Time // proxy.Config.Now; nil: time.Now
	redirectSize     int64            // proxy.Config.SharedRedirectSize
	hedgeCeiling     time.Duration    // proxy.Config.HedgeCeiling
}

// newVerifyRig starts a handler verifying against db (off when db is nil).
func newVerifyRig(t *testing.T, db *mirrortest.SumDB, c vrigConfig) *vrig {
	t.Helper()
	store := c.store
	if store == nil {
		var err error
		if store, err = cache.Open(cache.Options{Reserve: 64 << 20, Dir: t.TempDir()}); err != nil {
			t.Fatal(err)
		}
	}
	r := &vrig{store: store, router: newRecordingRouter(t, c.upstreams...), logs: newLogSink()}
	cfg := proxy.Config{
		Store:              store,
		Router:             r.router,
		Private:            c.private,
		Shared:             c.shared,
		SharedPrivate:      c.sharedPrivate,
		Now:                c.now,
		SharedRedirectSize: c.redirectSize,
		HedgeCeiling:       c.hedgeCeiling,
		Client:             upstream.New(upstream.Config{ConnectTimeout: time.Second, FirstByteTimeout: 2 * time.Second, IdleTimeout: 2 * time.Second}),
		Logger:             slog.New(r.logs),
	}
	if c.privateUpstreams != nil {
		r.private = newRecordingRouter(t, c.privateUpstreams...)
		cfg.PrivateRouter = r.private
	}
	if db != nil {
		var err error
		if cfg.SumDB, err = checksum.ParseDatabase(db.VerifierKey, nil); err != nil {
			t.Fatal(err)
		}
	}
	if c.store == nil {
		t.Cleanup(func() { store.Close() }) // after the handler stops
	}
	r.srv, _ = startHandler(t, cfg)
	return r
}

func (r *vrig) get(t *testing.T, path string) (*http.Response, string) {
	t.Helper()
	return do(t, http.MethodGet, r.srv.URL+path)
}

// entry returns the stored record of key, failing the test if there is none.
func (r *vrig) entry(t *testing.T, key string) cache.Entry {
	t.Helper()
	e, err := r.store.Lookup(key)
	if err != nil {
		t.Fatalf("store.Lookup(%s): %v", key, err)
	}
	return e
}

// modPaths returns the .mod and .zip request paths of m.
func modPaths(m *mirrortest.Module) (mod, zip string) {
	base := "/" + m.Path + "/@v/" + m.Version
	return base + ".mod", base + ".zip"
}

// verifyFixture returns the fixture modules, their database and two
// healthy mirrors of them, the second to be the good one.
func verifyFixture(t *testing.T) ([]*mirrortest.Module, *mirrortest.SumDB, *mirrortest.Mirror, *mirrortest.Mirror) {
	t.Helper()
	mods, db, first := fixture(t)
	second := mirrortest.NewMirror(db, mods...)
	t.Cleanup(second.Close)
	return mods, db, first, second
}

// TestVerifyBadContentFromFirstUpstream: whatever a first upstream does
// wrong to a .mod or .zip, the good copy of the second is served and
// stored, verified; the bad copy is logged once, reported as bad content
// when it is well-formed enough to be hashed or checked, and the bad
// upstream is not asked again once the good copy is cached.
func TestVerifyBadContentFromFirstUpstream(t *testing.T) {
	tests := []struct {
		fault mirrortest.Fault
		// bad lists the files ("mod", "zip") the fault spoils.
		bad []string
		// content reports that the spoiled files reach verification (bad
		// content), rather than failing in transport.
		content bool
	}{
		{mirrortest.FlipContent(), []string{"zip"}, true},                // one byte of one file changed: a hash mismatch
		{mirrortest.CorruptZip(), []string{"zip"}, true},                 // a zip that does not open
		{mirrortest.Tamper(), []string{"mod", "zip"}, true},              // an extra go.mod line and an extra file
		{mirrortest.Truncate().OnSuffix(".zip"), []string{"zip"}, false}, // half a zip, Content-Length matching: the body checker refuses it
		{mirrortest.Truncate().OnSuffix(".mod"), []string{"mod"}, true},  // half a go.mod, Content-Length matching
		{mirrortest.ResetMidBody().OnSuffix(".zip"), []string{"zip"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.fault.String(), func(t *testing.T) {
			t.Parallel()
			mods, db, bad, good := verifyFixture(t)
			bad.SetFault(tt.fault)
			r := newVerifyRig(t, db, vrigConfig{upstreams: []string{bad.URL(), good.URL()}})
			lib := mirrortest.Lookup(mods, "example.com/lib", "v1.1.0")
			modPath, zipPath := modPaths(lib)
			for _, f := range []struct {
				kind, path string
				want       []byte
			}{{"mod", modPath, lib.Mod}, {"zip", zipPath, lib.Zip}} {
				for i, wantCache := range []string{"miss", "hit"} {
					resp, body := r.get(t, f.path)
					if resp.StatusCode != http.StatusOK || body != string(f.want) {
						t.Fatalf("GET %s #%d: %s, %d bytes (original: %d): %.200q", f.path, i, resp.Status, len(body), len(f.want), body)
					}
					if got := resp.Header.Get(proxy.CacheHeader); got != wantCache {
						t.Errorf("GET %s #%d: %s %q, want %q", f.path, i, proxy.CacheHeader, got, wantCache)
					}
				}
				// Files the fault leaves alone come from the first upstream.
				from, wantGood := bad, 0
				if slices.Contains(tt.bad, f.kind) {
					from, wantGood = good, 1
				}
				e := r.entry(t, f.path)
				if !e.Verified || e.Upstream != from.URL() {
					t.Errorf("%s stored with Verified %v from %q, want verified from %s", f.path, e.Verified, e.Upstream, from.URL())
				}
				if n := bad.Count(f.path); n != 1 {
					t.Errorf("the bad upstream was asked for %s %d times, want 1 (then the cache)", f.path, n)
				}
				if n := good.Count(f.path); n != wantGood {
					t.Errorf("the good upstream was asked for %s %d times, want %d", f.path, n, wantGood)
				}
			}
			wantBad := 0
			if tt.content {
				wantBad = len(tt.bad)
			}
			if n := r.router.count(bad.URL(), health.FailBadContent); n != wantBad {
				t.Errorf("bad upstream reported with bad content %d times, want %d; failures reported: %v", n, wantBad, r.router.failures(bad.URL()))
			}
			if fs := r.router.failures(good.URL()); len(fs) != 0 {
				t.Errorf("good upstream reported failing: %v", fs)
			}
			if !tt.content && len(r.router.failures(bad.URL())) == 0 {
				t.Error("the transport failure of the bad upstream was not reported")
			}
			for _, kind := range []string{"mod", "zip"} {
				path := map[string]string{"mod": modPath, "zip": zipPath}[kind]
				want := 0
				if tt.content && slices.Contains(tt.bad, kind) {
					want = 1
				}
				if got := r.logs.matching(slog.LevelError, "checksum verification", "key="+path, bad.URL()); len(got) != want {
					t.Errorf("%d error log lines about the bad %s, want %d:\n%s", len(got), kind, want, strings.Join(got, "\n"))
				}
			}
		})
	}
}

// TestVerifyEveryUpstreamBad: when no upstream has a good copy, the answer
// is 502 with a one-line reason, never the bad bytes, and nothing is stored.
func TestVerifyEveryUpstreamBad(t *testing.T) {
	mods, db, first, second := verifyFixture(t)
	first.SetFault(mirrortest.FlipContent())
	second.SetFault(mirrortest.Tamper())
	r := newVerifyRig(t, db, vrigConfig{upstreams: []string{first.URL(), second.URL()}})
	lib := mirrortest.Lookup(mods, "example.com/lib", "v1.1.0")
	modPath, zipPath := modPaths(lib)
	for i := range 2 { // not remembered: asked again, refused again
		resp, body := r.get(t, zipPath)
		if resp.StatusCode != http.StatusBadGateway {
			t.Fatalf("zip #%d: %s, want 502", i, resp.Status)
		}
		if strings.Count(body, "\n") != 1 || !strings.HasSuffix(body, "\n") || strings.HasPrefix(body, "PK") {
			t.Errorf("zip #%d: want a one-line reason, got %.300q", i, body)
		}
		for _, want := range []string{"checksum database", first.URL(), second.URL()} {
			if !strings.Contains(body, want) {
				t.Errorf("zip #%d: reason %q does not mention %q", i, body, want)
			}
		}
	}
	if _, err := r.store.Lookup(zipPath); !errors.Is(err, cache.ErrNotFound) {
		t.Errorf("after every upstream served a bad zip, store.Lookup = %v, want ErrNotFound", err)
	}
	if n := first.Count(zipPath) + second.Count(zipPath); n != 4 {
		t.Errorf("the upstreams were asked for the zip %d times, want 4 (each, each time)", n)
	}

	// The .mod: good from the first, so to spoil it both must tamper.
	first.SetFault(mirrortest.Tamper())
	resp, body := r.get(t, modPath)
	if resp.StatusCode != http.StatusBadGateway || strings.Count(body, "\n") != 1 || !strings.Contains(body, "checksum database") ||
		strings.Contains(body, "tampered") {
		t.Errorf(".mod from two tampering upstreams: %s %q, want 502 and a one-line reason", resp.Status, body)
	}
	if _, err := r.store.Lookup(modPath); !errors.Is(err, cache.ErrNotFound) {
		t.Errorf("store.Lookup(.mod) = %v, want ErrNotFound", err)
	}
	for _, m := range []*mirrortest.Mirror{first, second} {
		if n := r.router.count(m.URL(), health.FailBadContent); n != 3 {
			t.Errorf("%s reported with bad content %d times, want 3", m.URL(), n)
		}
	}

	// Once a mirror is fixed, the answer comes, verified.
	second.SetFault(mirrortest.Healthy())
	for _, f := range []struct {
		path string
		want []byte
	}{{modPath, lib.Mod}, {zipPath, lib.Zip}} {
		if resp, body := r.get(t, f.path); resp.StatusCode != http.StatusOK || body != string(f.want) {
			t.Errorf("GET %s after the fix: %s, %d bytes", f.path, resp.Status, len(body))
		}
		if e := r.entry(t, f.path); !e.Verified {
			t.Errorf("%s stored unverified", f.path)
		}
	}
}

// TestVerifyModuleNotInDatabase: a module the upstreams serve but the
// database does not know is refused, and not stored.
func TestVerifyModuleNotInDatabase(t *testing.T) {
	_, db, mirror := fixture(t)
	stranger, err := mirrortest.NewModule("example.com/stranger", "v1.0.0", map[string][]byte{"go.mod": []byte("module example.com/stranger\n")})
	if err != nil {
		t.Fatal(err)
	}
	mirror.Add(stranger)
	r := newVerifyRig(t, db, vrigConfig{upstreams: []string{mirror.URL()}})
	modPath, zipPath := modPaths(stranger)
	for _, p := range []string{modPath, zipPath} {
		resp, body := r.get(t, p)
		if resp.StatusCode != http.StatusNotFound || strings.Count(body, "\n") != 1 || !strings.Contains(body, "not in the checksum database") {
			t.Errorf("GET %s: %s %q, want 404 saying it is not in the checksum database", p, resp.Status, body)
		}
		if e, err := r.store.Lookup(p); err == nil && e.Status == http.StatusOK {
			t.Errorf("%s stored with status 200", p)
		}
	}
	// The answers of .info are not verified: served as usual.
	if resp, _ := r.get(t, "/example.com/stranger/@v/v1.0.0.info"); resp.StatusCode != http.StatusOK {
		t.Errorf(".info of a module not in the database: %s", resp.Status)
	}
}

// TestVerifyEntriesStoredBeforeVerification: .mod and .zip entries stored
// unverified (by a gofailover without verification) are verified on first
// read: correct ones are marked verified and served from the cache, wrong
// ones are dropped and fetched again.
func TestVerifyEntriesStoredBeforeVerification(t *testing.T) {
	mods := mirrortest.TestdataModules(t)
	// Zips over cache.DefaultInlineMax are stored as blob files, the
	// others inline: both ways are covered.
	big, err := mirrortest.SyntheticModule("example.com/big", "v1.0.0", 200<<10)
	if err != nil {
		t.Fatal(err)
	}
	big2, err := mirrortest.SyntheticModule("example.com/big2", "v1.0.0", 200<<10)
	if err != nil {
		t.Fatal(err)
	}
	mods = append(mods, big, big2)
	db, err := mirrortest.NewSumDB("sumdb.test", mods)
	if err != nil {
		t.Fatal(err)
	}
	mirror := mirrortest.NewMirror(db, mods...)
	t.Cleanup(mirror.Close)
	store, err := cache.Open(cache.Options{Reserve: 64 << 20, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })

	lib := mirrortest.Lookup(mods, "example.com/lib", "v1.1.0")
	util := mirrortest.Lookup(mods, "example.com/util", "v1.0.0")
	badLib, err := mirrortest.Tampered(lib)
	if err != nil {
		t.Fatal(err)
	}
	badBig, err := mirrortest.Tampered(big)
	if err != nil {
		t.Fatal(err)
	}
	type stored struct {
		path       string
		data, want []byte
	}
	libMod, libZip := modPaths(lib)
	utilMod, utilZip := modPaths(util)
	_, bigZip := modPaths(big)
	_, big2Zip := modPaths(big2)
	wrong := []stored{
		{libMod, badLib.Mod, lib.Mod},
		{libZip, badLib.Zip, lib.Zip},
		{bigZip, badBig.Zip, big.Zip},
	}
	right := []stored{
		{utilMod, util.Mod, util.Mod},
		{utilZip, util.Zip, util.Zip},
		{big2Zip, big2.Zip, big2.Zip},
	}
	unverified := cache.Meta{Status: http.StatusOK, Immutable: true, StoredAt: time.Now().Add(-time.Hour), Upstream: "before-verification", Verified: false}
	for _, s := range append(append([]stored(nil), wrong...), right...) {
		if err := store.PutBytes(s.path, unverified, s.data); err != nil {
			t.Fatal(err)
		}
	}
	r := newVerifyRig(t, db, vrigConfig{upstreams: []string{mirror.URL()}, store: store})

	for _, s := range wrong {
		resp, body := r.get(t, s.path)
		if resp.StatusCode != http.StatusOK || body != string(s.want) {
			t.Errorf("GET %s stored wrong: %s, %d bytes (original %d, stored %d)", s.path, resp.Status, len(body), len(s.want), len(s.data))
			continue
		}
		if got := resp.Header.Get(proxy.CacheHeader); got != "miss" {
			t.Errorf("GET %s stored wrong: %s %q, want miss (fetched again)", s.path, proxy.CacheHeader, got)
		}
		if n := mirror.Count(s.path); n != 1 {
			t.Errorf("GET %s stored wrong: the mirror was asked %d times, want 1", s.path, n)
		}
		if e := r.entry(t, s.path); !e.Verified || e.Upstream != mirror.URL() {
			t.Errorf("%s after refetch: Verified %v, upstream %q", s.path, e.Verified, e.Upstream)
		}
		if len(r.logs.matching(slog.LevelError, "key="+s.path)) == 0 {
			t.Errorf("dropping the wrong %s was not logged as an error", s.path)
		}
	}
	for _, s := range right {
		resp, body := r.get(t, s.path)
		if resp.StatusCode != http.StatusOK || body != string(s.want) || resp.Header.Get(proxy.CacheHeader) != "hit" {
			t.Errorf("GET %s stored right: %s %s, %d bytes, want a hit with the original", s.path, resp.Status, resp.Header.Get(proxy.CacheHeader), len(body))
		}
		if n := mirror.Count(s.path); n != 0 {
			t.Errorf("GET %s stored right: the mirror was asked %d times, want 0", s.path, n)
		}
		if e := r.entry(t, s.path); !e.Verified || e.Upstream != "before-verification" {
			t.Errorf("%s after the first read: Verified %v, upstream %q; want marked verified in place", s.path, e.Verified, e.Upstream)
		}
		if got := r.logs.matching(slog.LevelError, "key="+s.path); len(got) != 0 {
			t.Errorf("the correct %s was logged as failing verification:\n%s", s.path, strings.Join(got, "\n"))
		}
	}
	// Everything is now verified: served from the cache without a check.
	for _, s := range append(append([]stored(nil), wrong...), right...) {
		if resp, body := r.get(t, s.path); resp.Header.Get(proxy.CacheHeader) != "hit" || body != string(s.want) {
			t.Errorf("second GET %s: %s %q", s.path, resp.Status, resp.Header.Get(proxy.CacheHeader))
		}
	}
}

// TestVerifyStoredUnverifiedAndDatabaseDown: an unverified entry that
// cannot be checked because the database is unreachable is not served.
func TestVerifyStoredUnverifiedAndDatabaseDown(t *testing.T) {
	mods, db, mirror := fixture(t)
	lib := mirrortest.Lookup(mods, "example.com/lib", "v1.1.0")
	badLib, err := mirrortest.Tampered(lib)
	if err != nil {
		t.Fatal(err)
	}
	store, err := cache.Open(cache.Options{Reserve: 64 << 20, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	_, zipPath := modPaths(lib)
	if err := store.PutBytes(zipPath, cache.Meta{Status: http.StatusOK, Immutable: true}, badLib.Zip); err != nil {
		t.Fatal(err)
	}
	mirror.SetFault(mirrortest.Status(503).OnPrefix("/sumdb/"))
	r := newVerifyRig(t, db, vrigConfig{upstreams: []string{mirror.URL()}, store: store})
	resp, body := r.get(t, zipPath)
	if resp.StatusCode != http.StatusBadGateway || strings.HasPrefix(body, "PK") || !strings.Contains(body, "checksum database") {
		t.Errorf("unverified zip with the database down: %s %.200q, want 502 naming the checksum database", resp.Status, body)
	}
	mirror.SetFault(mirrortest.Healthy())
	if resp, body := r.get(t, zipPath); resp.StatusCode != http.StatusOK || body != string(lib.Zip) {
		t.Errorf("after the outage: %s, %d bytes, want the original", resp.Status, len(body))
	}
}

// TestVerifyDatabaseOutage: while the database cannot be read, .mod and
// .zip answers not verified yet are 502 naming it (and not stored); when it
// is back, verification works again without a restart.
func TestVerifyDatabaseOutage(t *testing.T) {
	mods, db, mirror := fixture(t)
	r := newVerifyRig(t, db, vrigConfig{upstreams: []string{mirror.URL()}})
	util := mirrortest.Lookup(mods, "example.com/util", "v1.0.0")
	lib := mirrortest.Lookup(mods, "example.com/lib", "v1.1.0")
	app := mirrortest.Lookup(mods, "example.com/app", "v1.0.0")
	utilMod, utilZip := modPaths(util)
	for _, p := range []string{utilMod, utilZip} {
		if resp, body := r.get(t, p); resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s %s", p, resp.Status, body)
		}
	}

	mirror.SetFault(mirrortest.Status(503).OnPrefix("/sumdb/"))
	libMod, libZip := modPaths(lib)
	for _, p := range []string{libMod, libZip} {
		resp, body := r.get(t, p)
		if resp.StatusCode != http.StatusBadGateway || strings.Count(body, "\n") != 1 || !strings.Contains(body, "checksum database") {
			t.Errorf("GET %s with the database down: %s %q, want 502 naming the checksum database", p, resp.Status, body)
		}
		if _, err := r.store.Lookup(p); !errors.Is(err, cache.ErrNotFound) {
			t.Errorf("%s stored while it could not be verified: %v", p, err)
		}
	}
	// What was verified before stays available.
	for _, p := range []string{utilMod, utilZip} {
		if resp, _ := r.get(t, p); resp.StatusCode != http.StatusOK || resp.Header.Get(proxy.CacheHeader) != "hit" {
			t.Errorf("GET %s verified before the outage: %s %s", p, resp.Status, resp.Header.Get(proxy.CacheHeader))
		}
	}
	if n := r.router.count(mirror.URL(), health.FailStatus5xx); n == 0 {
		t.Error("the database's 503s were not reported")
	}
	if n := r.router.count(mirror.URL(), health.FailBadContent); n != 0 {
		t.Errorf("an unreachable database was reported as bad content %d times; error logs:\n%s",
			n, strings.Join(r.logs.matching(slog.LevelError), "\n"))
	}

	mirror.SetFault(mirrortest.Healthy())
	appMod, appZip := modPaths(app)
	for _, f := range []struct {
		path string
		want []byte
	}{{libMod, lib.Mod}, {libZip, lib.Zip}, {appMod, app.Mod}, {appZip, app.Zip}} {
		if resp, body := r.get(t, f.path); resp.StatusCode != http.StatusOK || body != string(f.want) {
			t.Errorf("GET %s after the outage: %s %.200q", f.path, resp.Status, body)
		}
		if e := r.entry(t, f.path); !e.Verified {
			t.Errorf("%s stored unverified", f.path)
		}
	}
}

// TestVerifyForkedDatabase: a mirror serving tampered modules and a fork
// of the database signed with the same key (which vouches for them) is
// caught as soon as the handler holds the real tree: its tree head is a
// security event reported against it, the tree the handler trusts does not
// change, and the good mirror's copies and database records are served.
func TestVerifyForkedDatabase(t *testing.T) {
	mods, db, good := fixture(t)
	if err := mirrortest.PrimeLookups(good.URL(), db, mods); err != nil {
		t.Fatal(err)
	}
	util := mirrortest.Lookup(mods, "example.com/util", "v1.0.0")
	evil, err := mirrortest.NewForkingMirror(db, mods, util)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(evil.Close)

	// The evil mirror is down while the handler verifies its first
	// module: through the good mirror, against the real tree.
	evil.SetFault(mirrortest.Status(503))
	r := newVerifyRig(t, db, vrigConfig{upstreams: []string{evil.URL(), good.URL()}})
	utilMod, _ := modPaths(util)
	if resp, body := r.get(t, utilMod); resp.StatusCode != http.StatusOK || body != string(util.Mod) {
		t.Fatalf("GET %s: %s %q", utilMod, resp.Status, body)
	}
	// The verifier's stored tree head (see proxy/checksum: its store value
	// for the database's "latest" configuration file).
	const latestName = "sumdb-config/sumdb.test/latest"
	head, err := r.store.ReadValue(latestName)
	if err != nil || len(head) == 0 {
		t.Fatalf("no verified tree head stored under %q: %q, %v", latestName, head, err)
	}

	evil.SetFault(mirrortest.Healthy())
	lib := mirrortest.Lookup(mods, "example.com/lib", "v1.1.0")
	for _, m := range []*mirrortest.Module{lib, mirrortest.Lookup(mods, "example.com/app", "v1.0.0")} {
		modPath, zipPath := modPaths(m)
		for _, f := range []struct {
			path string
			want []byte
		}{{modPath, m.Mod}, {zipPath, m.Zip}} {
			resp, body := r.get(t, f.path)
			if resp.StatusCode != http.StatusOK || body != string(f.want) {
				t.Errorf("GET %s: %s, %d bytes (original %d)", f.path, resp.Status, len(body), len(f.want))
				continue
			}
			if e := r.entry(t, f.path); !e.Verified || e.Upstream != good.URL() {
				t.Errorf("%s stored from %q (verified %v), want the good mirror", f.path, e.Upstream, e.Verified)
			}
		}
	}
	if n := r.router.count(evil.URL(), health.FailBadContent); n == 0 {
		t.Errorf("the forking mirror was never reported as serving bad content; failures: %v", r.router.failures(evil.URL()))
	}
	if got := r.logs.matching(slog.LevelError, evil.URL()); len(got) == 0 {
		t.Error("the fork was not logged as an error")
	}
	if fs := r.router.failures(good.URL()); len(fs) != 0 {
		t.Errorf("the good mirror was reported failing: %v", fs)
	}
	if after, err := r.store.ReadValue(latestName); err != nil || !bytes.Equal(after, head) {
		t.Errorf("the verified tree head changed after the fork was seen:\nbefore %q\nafter  %q (%v)", head, after, err)
	}

	// The go command's view of the database through the handler is the
	// real one: lookups and tiles, not the fork's.
	zipLine, modLine := db.GoSumLines(lib)
	resp, body := r.get(t, "/sumdb/sumdb.test/lookup/example.com/lib@v1.1.0")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, zipLine) || !strings.Contains(body, modLine) {
		t.Errorf("lookup through the handler: %s %q, want the real database's lines", resp.Status, body)
	}
	const tile = "/sumdb/sumdb.test/tile/8/0/000.p/8"
	_, realTile := do(t, http.MethodGet, good.URL()+tile)
	_, forkTile := do(t, http.MethodGet, evil.URL()+tile)
	if realTile == forkTile {
		t.Fatal("the fork's tile equals the real one: the fork does not diverge")
	}
	if resp, body := r.get(t, tile); resp.StatusCode != http.StatusOK || body != realTile {
		t.Errorf("tile through the handler: %s, equal to the real one %v, to the fork's %v", resp.Status, body == realTile, body == forkTile)
	}
}

// TestVerifyPrivateModules: private modules go only to the private
// upstreams, are never looked up in the checksum database, and without a
// private upstream are 404 with the reason.
func TestVerifyPrivateModules(t *testing.T) {
	mods, db, public := fixture(t)
	secret, err := mirrortest.NewModule("private.example/secret", "v1.0.0", map[string][]byte{
		"go.mod":    []byte("module private.example/secret\n\ngo 1.21\n"),
		"secret.go": []byte("package secret\n\nconst Word = \"swordfish\"\n"),
	})
	if err != nil {
		t.Fatal(err)
	}
	corp, err := mirrortest.NewModule("git.corp.test/tool", "v1.0.0", map[string][]byte{"go.mod": []byte("module git.corp.test/tool\n")})
	if err != nil {
		t.Fatal(err)
	}
	private := mirrortest.NewMirror(nil, secret, corp)
	t.Cleanup(private.Close)
	const patterns = "private.example,*.corp.test"
	secretPaths := []string{"/private.example/secret/@v/list", "/private.example/secret/@latest", "/private.example/secret/@v/v1.0.0.info",
		"/private.example/secret/@v/v1.0.0.mod", "/private.example/secret/@v/v1.0.0.zip", "/git.corp.test/tool/@v/v1.0.0.zip"}
	lookups := []string{"/sumdb/sumdb.test/lookup/private.example/secret@v1.0.0", "/sumdb/sumdb.test/lookup/git.corp.test/tool@v1.0.0"}

	t.Run("with a private upstream", func(t *testing.T) {
		public.ResetRequests()
		r := newVerifyRig(t, db, vrigConfig{upstreams: []string{public.URL()}, private: patterns, privateUpstreams: []string{private.URL()}})
		for _, p := range secretPaths {
			for i, wantCache := range []string{"miss", "hit"} {
				resp, body := r.get(t, p)
				if resp.StatusCode != http.StatusOK || resp.Header.Get(proxy.CacheHeader) != wantCache {
					t.Errorf("GET %s #%d: %s %s %q", p, i, resp.Status, resp.Header.Get(proxy.CacheHeader), body)
				}
			}
		}
		_, zipPath := modPaths(secret)
		if _, body := r.get(t, zipPath); body != string(secret.Zip) {
			t.Error("the private zip differs from the private mirror's")
		}
		if e := r.entry(t, zipPath); e.Upstream != private.URL() {
			t.Errorf("private zip stored from %q", e.Upstream)
		}
		// A public module through the same handler: verified as usual.
		lib := mirrortest.Lookup(mods, "example.com/lib", "v1.1.0")
		libMod, libZip := modPaths(lib)
		for _, p := range []string{libMod, libZip} {
			if resp, _ := r.get(t, p); resp.StatusCode != http.StatusOK {
				t.Errorf("GET %s: %s", p, resp.Status)
			}
			if e := r.entry(t, p); !e.Verified || e.Upstream != public.URL() {
				t.Errorf("%s: verified %v, from %q", p, e.Verified, e.Upstream)
			}
		}
		for _, p := range lookups {
			resp, body := r.get(t, p)
			if resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "GOFAILOVER_PRIVATE") {
				t.Errorf("GET %s: %s %q, want 404 naming GOFAILOVER_PRIVATE", p, resp.Status, body)
			}
		}
		if n := private.Count("/sumdb/sumdb.test/lookup/private.example/secret@v1.0.0"); n != 0 {
			t.Errorf("a private lookup reached the private mirror %d times", n)
		}
		checkNoPrivate(t, public.Requests())
	})

	t.Run("without a private upstream", func(t *testing.T) {
		public.ResetRequests()
		private.ResetRequests()
		r := newVerifyRig(t, db, vrigConfig{upstreams: []string{public.URL()}, private: patterns})
		for _, p := range append(append([]string(nil), secretPaths...), lookups...) {
			resp, body := r.get(t, p)
			if resp.StatusCode != http.StatusNotFound || strings.Count(body, "\n") != 1 || !strings.Contains(body, "GOFAILOVER_PRIVATE") {
				t.Errorf("GET %s: %s %q, want 404 with a reason naming GOFAILOVER_PRIVATE", p, resp.Status, body)
			}
		}
		if got := public.Requests(); len(got) != 0 {
			t.Errorf("private requests reached the public mirror: %q", got)
		}
		if got := private.Requests(); len(got) != 0 {
			t.Errorf("requests reached the private mirror, which is not configured: %q", got)
		}
	})
}

// checkNoPrivate fails if any request path mentions the private modules.
func checkNoPrivate(t *testing.T, requests []string) {
	t.Helper()
	for _, p := range requests {
		for _, word := range []string{"private.example", "secret", "corp.test"} {
			if strings.Contains(p, word) {
				t.Errorf("the public mirror received %s", p)
			}
		}
	}
}

// TestVerifyStoredUnverifiedZipKeptWhenUpstreamFails: a correct zip stored
// before verification existed is verified from the cache on first read and
// served, even while the upstreams fail to serve zips (the database being
// reachable); it is neither dropped nor refetched.
func TestVerifyStoredUnverifiedZipKeptWhenUpstreamFails(t *testing.T) {
	mods, db, mirror := fixture(t)
	util := mirrortest.Lookup(mods, "example.com/util", "v1.0.0")
	store, err := cache.Open(cache.Options{Reserve: 64 << 20, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	_, zipPath := modPaths(util)
	if err := store.PutBytes(zipPath, cache.Meta{Status: http.StatusOK, Immutable: true, Upstream: "before-verification"}, util.Zip); err != nil {
		t.Fatal(err)
	}
	mirror.SetFault(mirrortest.Status(503).OnSuffix(".zip"))
	r := newVerifyRig(t, db, vrigConfig{upstreams: []string{mirror.URL()}, store: store})
	resp, body := r.get(t, zipPath)
	if resp.StatusCode != http.StatusOK || body != string(util.Zip) || resp.Header.Get(proxy.CacheHeader) != "hit" {
		t.Errorf("correct unverified zip (%d bytes, stored inline): %s %s %.200q, want a hit with it", len(util.Zip), resp.Status, resp.Header.Get(proxy.CacheHeader), body)
	}
	if e, err := store.Lookup(zipPath); err != nil || !e.Verified {
		t.Errorf("after the first read: %+v, %v; want the entry kept and marked verified", e, err)
	}
}
