package proxy_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/module"

	"github.com/gofailover/gofailover/cache"
	"github.com/gofailover/gofailover/cache/shared"
	"github.com/gofailover/gofailover/cache/shared/sharedtest"
	"github.com/gofailover/gofailover/health"
	"github.com/gofailover/gofailover/proxy"
	"github.com/gofailover/gofailover/proxy/mirrortest"
	"github.com/gofailover/gofailover/proxy/sharedtier"
)

// skipped notes the tests skipped for a missing component (versitygw).
var skipped mirrortest.SkipLedger

func TestMain(m *testing.M) { os.Exit(mirrortest.RunReportingSkips(m, &skipped)) }

// replica is one gofailover handler of a fleet sharing a store: its own
// cache, its own upstreams, the shared bucket.
type replica struct {
	*vrig
	tier  *sharedtier.Tier
	store *cache.Store
	// close drains the tier's uploads, as a graceful shutdown does.
	close func()
}

// sharedBucket is the bucket the replicas of a test share.
const sharedBucket = "fleet"

// newReplica starts a replica verifying against db, over the store srv
// serves, with the given upstreams.
func newReplica(t *testing.T, srv *sharedtest.Server, db *mirrortest.SumDB, c vrigConfig) *replica {
	t.Helper()
	return newReplicaOver(t, srv, db, c, nil)
}

// newReplicaOver is newReplica with the replica's client of the store
// wrapped by wrap, when not nil.
func newReplicaOver(t *testing.T, srv *sharedtest.Server, db *mirrortest.SumDB, c vrigConfig, wrap func(sharedtier.Store) sharedtier.Store) *replica {
	t.Helper()
	store, err := cache.Open(cache.Options{Reserve: 64 << 20, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() }) // last
	cfg := srv.Config(sharedBucket, "cache")
	cfg.Timeout = 500 * time.Millisecond
	cfg.IdleTimeout = time.Second
	s, err := shared.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var client sharedtier.Store = s
	if wrap != nil {
		client = wrap(s)
	}
	tier := sharedtier.New(sharedtier.Config{
		Store: client, Name: cfg.Location.String(), Local: store,
		Health:        health.Config{FailureThreshold: 2, OpenBackoff: 200 * time.Millisecond, MaxOpenBackoff: 200 * time.Millisecond, HalfOpenSuccesses: 1},
		ProbeInterval: 100 * time.Millisecond,
	})
	tier.Start(context.Background())
	closed := false
	closeTier := func() {
		if !closed {
			closed = true
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if left := tier.Close(ctx); left != 0 {
				t.Errorf("%d uploads left undone at shutdown", left)
			}
		}
	}
	t.Cleanup(closeTier) // after the handler stops, before the store closes
	c.store, c.shared = store, tier
	return &replica{vrig: newVerifyRig(t, db, c), tier: tier, store: store, close: closeTier}
}

// fleetPaths are the answers a go command asks for when it downloads
// example.com/lib@v1.1.0, including the database's lookup and its
// signed tree head.
func fleetPaths(lib *mirrortest.Module) []string {
	mod, zip := modPaths(lib)
	return []string{
		"/example.com/lib/@v/list",
		"/example.com/lib/@latest",
		"/example.com/lib/@v/v1.1.0.info",
		mod, zip,
		"/sumdb/sumdb.test/lookup/example.com/lib@v1.1.0",
		"/sumdb/sumdb.test/latest",
	}
}

// TestSecondReplicaServesFromSharedStore: replica A fetches answers from a
// mirror, verifies them and uploads them; replica B, with an empty cache
// and its only mirror dead, serves every one of them from the shared
// store, verified, and asks no mirror.
func TestSecondReplicaServesFromSharedStore(t *testing.T) {
	srv := sharedtest.Start(t, &skipped)
	mods, db, mirror := fixture(t)
	lib := mirrortest.Lookup(mods, "example.com/lib", "v1.1.0")
	a := newReplica(t, srv, db, vrigConfig{upstreams: []string{mirror.URL()}})
	want := map[string]string{}
	for _, p := range fleetPaths(lib) {
		resp, body := a.get(t, p)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("replica A: GET %s: %s: %s", p, resp.Status, body)
		}
		want[p] = body
	}
	// "Not found" answers are shared too (the go command's probes of
	// module path prefixes need them when no mirror answers).
	const nope = "/example.com/@v/v1.0.0.info"
	if resp, body := a.get(t, nope); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("replica A: GET %s: %s: %s", nope, resp.Status, body)
	}
	a.close()
	if st := a.tier.Stats(); st.Uploaded == 0 || st.Failed != 0 || st.Dropped != 0 {
		t.Fatalf("replica A's uploads: %+v", st)
	}

	dead := mirrortest.ClosedURL(t)
	b := newReplica(t, srv, db, vrigConfig{upstreams: []string{dead}})
	for _, p := range fleetPaths(lib) {
		resp, body := b.get(t, p)
		if resp.StatusCode != http.StatusOK || body != want[p] {
			t.Fatalf("replica B: GET %s: %s, %d bytes (want %d): %.200q", p, resp.Status, len(body), len(want[p]), body)
		}
		// A lookup is a hit when the .info's fetch looked it up first
		// (through the shared store). Answers that can change come from
		// the store only as the stand-in for mirrors that do not answer.
		want := []string{"shared", "hit"}
		if strings.HasSuffix(p, "/list") || strings.HasSuffix(p, "/@latest") || strings.HasSuffix(p, "/latest") {
			want = []string{"stale"}
		}
		if got := resp.Header.Get(proxy.CacheHeader); !slices.Contains(want, got) {
			t.Errorf("replica B: GET %s: %s %q, want %q", p, proxy.CacheHeader, got, want)
		}
	}
	if resp, body := b.get(t, nope); resp.StatusCode != http.StatusNotFound || !strings.Contains(body, "not found") {
		t.Errorf("replica B: GET %s with its mirror dead: %s %q, want the shared 404", nope, resp.Status, body)
	}
	mod, zip := modPaths(lib)
	for _, p := range []string{mod, zip} {
		if e := b.entry(t, p); !e.Verified || e.Upstream != "shared store" {
			t.Errorf("replica B stored %s verified %v from %q, want verified from the shared store", p, e.Verified, e.Upstream)
		}
	}
	// Its mirror was asked only for the answers that can change, and for
	// the path that does not exist.
	b.router.mu.Lock()
	for _, o := range b.router.outcomes[dead] {
		if !strings.HasSuffix(o.Path, "/list") && !strings.HasSuffix(o.Path, "/@latest") && !strings.HasSuffix(o.Path, "/latest") &&
			o.Path != nope && o.Path != "/sumdb/sumdb.test/lookup/example.com@v1.0.0" { // the 404's prefetched lookup
			t.Errorf("replica B asked its mirror for %s", o.Path)
		}
	}
	b.router.mu.Unlock()
	if st := b.tier.Stats(); st.Hits == 0 || st.Corrupt != 0 {
		t.Errorf("replica B's store reads: %+v", st)
	}
}

// TestTamperedSharedObjectsAreNeverServed: whoever can write to the bucket
// can make a replica slower, never make it serve wrong bytes. A zip whose
// file was changed under its metadata, and one replaced through the S3 API
// with matching metadata, are both refused, deleted, and replaced by the
// honest copy once a mirror gives it; with no mirror, the client gets an
// error, never the tampered bytes.
func TestTamperedSharedObjectsAreNeverServed(t *testing.T) {
	srv := sharedtest.Start(t, &skipped)
	mods, db, mirror := fixture(t)
	lib := mirrortest.Lookup(mods, "example.com/lib", "v1.1.0")
	_, zip := modPaths(lib)
	a := newReplica(t, srv, db, vrigConfig{upstreams: []string{mirror.URL()}})
	if resp, _ := a.get(t, zip); resp.StatusCode != http.StatusOK {
		t.Fatalf("replica A: %s", resp.Status)
	}
	a.close()
	objFile := srv.ObjectPath(sharedBucket, "cache"+zip)
	honest, err := os.ReadFile(objFile)
	if err != nil || !bytes.Equal(honest, lib.Zip) {
		t.Fatalf("the uploaded object %s: %v (%d bytes, want %d)", objFile, err, len(honest), len(lib.Zip))
	}
	tampered := append([]byte(nil), lib.Zip...)
	tampered[len(tampered)/2] ^= 0x20

	cfg := srv.Config(sharedBucket, "cache")
	raw, err := shared.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	tamperings := []struct {
		name   string
		tamper func(t *testing.T)
	}{
		{"bytes changed under their metadata", func(t *testing.T) {
			if err := os.WriteFile(objFile, tampered, 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{"rewritten through the API with matching metadata", func(t *testing.T) {
			err := raw.Delete(context.Background(), zip)
			if err == nil {
				err = raw.Put(context.Background(), zip, bytes.NewReader(tampered), int64(len(tampered)),
					shared.Meta{SHA256: sha256.Sum256(tampered), StoredAt: time.Now(), Verified: "sumdb:sumdb.test"}, true)
			}
			if err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tamperings {
		t.Run(tt.name, func(t *testing.T) {
			// Without a mirror: an error, not the tampered bytes.
			tt.tamper(t)
			lonely := newReplica(t, srv, db, vrigConfig{upstreams: []string{mirrortest.ClosedURL(t)}})
			resp, body := lonely.get(t, zip)
			if resp.StatusCode == http.StatusOK || bytes.Equal([]byte(body), tampered) {
				t.Fatalf("a replica without mirrors answered %s (%d bytes) for a tampered object", resp.Status, len(body))
			}
			if lonely.tier.Stats().Corrupt != 1 {
				t.Errorf("corrupt objects counted: %+v", lonely.tier.Stats())
			}
			if len(lonely.logs.matching(slog.LevelError, "bad object")) == 0 {
				t.Error("no ERROR log names the bad object")
			}
			if _, err := raw.Stat(context.Background(), zip); !errors.Is(err, shared.ErrNotFound) {
				t.Errorf("the tampered object is still there: %v", err)
			}

			// With a mirror: the honest copy, which replaces the object.
			// (The object is put back first, to be tampered with again.)
			if err := raw.Put(context.Background(), zip, bytes.NewReader(honest), int64(len(honest)),
				shared.Meta{SHA256: sha256.Sum256(honest), StoredAt: time.Now(), Verified: "sumdb:sumdb.test"}, true); err != nil {
				t.Fatal(err)
			}
			tt.tamper(t)
			b := newReplica(t, srv, db, vrigConfig{upstreams: []string{mirror.URL()}})
			resp, body = b.get(t, zip)
			if resp.StatusCode != http.StatusOK || body != string(lib.Zip) {
				t.Fatalf("replica B: %s, %d bytes", resp.Status, len(body))
			}
			if got := resp.Header.Get(proxy.CacheHeader); got != "miss" {
				t.Errorf("replica B: %s %q, want miss (from the mirror)", proxy.CacheHeader, got)
			}
			b.close()
			if got, err := os.ReadFile(objFile); err != nil || !bytes.Equal(got, lib.Zip) {
				t.Errorf("the object was not replaced by the honest copy: %v, %d bytes", err, len(got))
			}
		})
	}
}

// TestSharedStoreDownCostsNoClientAnything: with the store stopped, or
// accepting connections and never answering, every request is answered
// from the mirror; the store shows as down; and once it is back, the
// uploads that waited go through.
func TestSharedStoreDownCostsNoClientAnything(t *testing.T) {
	for _, how := range []string{"stopped", "blackholed"} {
		t.Run(how, func(t *testing.T) {
			srv := sharedtest.Start(t, &skipped)
			mods, db, mirror := fixture(t)
			r := newReplica(t, srv, db, vrigConfig{upstreams: []string{mirror.URL()}})
			if how == "stopped" {
				srv.Stop()
			} else {
				srv.Blackhole(t)
			}
			var paths []string
			for _, m := range mods {
				esc, err := module.EscapePath(m.Path)
				if err != nil {
					t.Fatal(err)
				}
				paths = append(paths, "/"+esc+"/@v/"+m.Version+".mod", "/"+esc+"/@v/"+m.Version+".zip")
			}
			for _, p := range paths {
				if resp, body := r.get(t, p); resp.StatusCode != http.StatusOK {
					t.Fatalf("GET %s with the store %s: %s: %s", p, how, resp.Status, body)
				}
			}
			deadline := time.Now().Add(10 * time.Second)
			for !r.tier.Stats().Health.State.Down() {
				if time.Now().After(deadline) {
					t.Fatalf("the store %s does not show as down: %+v", how, r.tier.Stats().Health)
				}
				time.Sleep(20 * time.Millisecond)
			}
			if st := r.tier.Stats(); st.Uploaded != 0 || st.Queue == 0 {
				t.Fatalf("uploads while the store is %s: %+v", how, st)
			}

			srv.Restart(t)
			deadline = time.Now().Add(15 * time.Second)
			for st := r.tier.Stats(); st.Queue > 0 || st.Health.State.Down(); st = r.tier.Stats() {
				if time.Now().After(deadline) {
					t.Fatalf("the uploads did not resume once the store was back: %+v", st)
				}
				time.Sleep(50 * time.Millisecond)
			}
			raw, err := shared.Open(context.Background(), srv.Config(sharedBucket, "cache"))
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range paths {
				if _, err := raw.Stat(context.Background(), p); err != nil {
					t.Errorf("%s was not uploaded once the store was back: %v", p, err)
				}
			}
		})
	}
}

// slowReads delays every read of the store it wraps (not probes, not
// uploads), as a store far away or overloaded does, and counts them.
type slowReads struct {
	sharedtier.Store
	delay time.Duration
	reads atomic.Int64
}

func (s *slowReads) Get(ctx context.Context, path string) (*shared.Object, error) {
	s.reads.Add(1)
	select {
	case <-time.After(s.delay):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return s.Store.Get(ctx, path)
}

// TestSlowSharedStoreIsNotWaitedFor: a store slower than the mirrors is
// waited for no longer than the mirrors usually take: the answer comes
// from the mirror, the read is recorded as abandoned, and while the
// store's latency stays that high it is not asked again.
func TestSlowSharedStoreIsNotWaitedFor(t *testing.T) {
	srv := sharedtest.Start(t, &skipped)
	mods, db, mirror := fixture(t)
	a := newReplica(t, srv, db, vrigConfig{upstreams: []string{mirror.URL()}})
	var paths []string
	for _, m := range mods[:3] {
		mod, zip := modPaths(m)
		if strings.ContainsAny(m.Path, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") {
			continue
		}
		paths = append(paths, mod, zip)
		if resp, body := a.get(t, zip); resp.StatusCode != http.StatusOK {
			t.Fatalf("replica A: GET %s: %s %s", zip, resp.Status, body)
		}
		if resp, body := a.get(t, mod); resp.StatusCode != http.StatusOK {
			t.Fatalf("replica A: GET %s: %s %s", mod, resp.Status, body)
		}
	}
	a.close()

	slow := &slowReads{delay: 10 * time.Second}
	b := newReplicaOver(t, srv, db, vrigConfig{upstreams: []string{mirror.URL()}, hedgeCeiling: 300 * time.Millisecond},
		func(s sharedtier.Store) sharedtier.Store { slow.Store = s; return slow })
	for _, p := range paths {
		resp, body := b.get(t, p)
		if resp.StatusCode != http.StatusOK || resp.Header.Get(proxy.CacheHeader) != "miss" {
			t.Fatalf("GET %s with a slow store: %s %s %.100q, want the mirror's", p, resp.Status, resp.Header.Get(proxy.CacheHeader), body)
		}
	}
	st := b.tier.Stats()
	if st.Abandoned == 0 || st.Errors != 0 || st.Health.State.Down() {
		t.Errorf("the slow store's stats: %+v", st)
	}
	if n := slow.reads.Load(); n >= int64(len(paths)) {
		t.Errorf("the slow store was asked %d times for %d answers: it should be skipped once known slow", n, len(paths))
	}
}

// TestSharedJunkLeavesNoTempFiles: reading a junk zip from the store (it
// fails the zip checks after it was spooled to a file) leaves no temporary
// file behind.
func TestSharedJunkLeavesNoTempFiles(t *testing.T) {
	srv := sharedtest.Start(t, &skipped)
	mods, db, _ := fixture(t)
	lib := mirrortest.Lookup(mods, "example.com/lib", "v1.1.0")
	_, zip := modPaths(lib)
	raw, err := shared.Open(context.Background(), srv.Config(sharedBucket, "cache"))
	if err != nil {
		t.Fatal(err)
	}
	junk := bytes.Repeat([]byte("not a zip "), 40000)
	if err := raw.Put(context.Background(), zip, bytes.NewReader(junk), int64(len(junk)),
		shared.Meta{SHA256: sha256.Sum256(junk), StoredAt: time.Now()}, false); err != nil {
		t.Fatal(err)
	}
	r := newReplica(t, srv, db, vrigConfig{upstreams: []string{mirrortest.ClosedURL(t)}})
	if resp, _ := r.get(t, zip); resp.StatusCode == http.StatusOK {
		t.Fatalf("a junk zip from the store was served")
	}
	probe, err := r.store.NewBlob() // to find the store's tmp directory
	if err != nil {
		t.Fatal(err)
	}
	probe.Discard()
	tmp, err := os.ReadDir(filepath.Dir(probe.Path()))
	if err != nil {
		t.Fatal(err)
	}
	if len(tmp) != 0 {
		t.Errorf("temporary files left behind: %v", tmp)
	}
}
