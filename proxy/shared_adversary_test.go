package proxy_test

// Adversarial tests of the shared store: whoever can write to the bucket
// can make gofailover slower, never make it serve wrong bytes; the store
// failing never fails a client; private modules stay out of the store
// unless shared on purpose; a crash leaves nothing partial.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gofailover/gofailover/cache"
	"github.com/gofailover/gofailover/cache/shared"
	"github.com/gofailover/gofailover/cache/shared/sharedtest"
	"github.com/gofailover/gofailover/health"
	"github.com/gofailover/gofailover/proxy"
	"github.com/gofailover/gofailover/proxy/mirrortest"
	"github.com/gofailover/gofailover/proxy/sharedtier"
)

// advClock is a settable clock for proxy.Config.Now: real time plus an
// offset the test moves forward.
type advClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *advClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *advClock) advance(d time.Duration) {
	c.mu.Lock()
	c.offset += d
	c.mu.Unlock()
}

// rawStore opens the replicas' store directly, as an adversary with
// write access to the bucket would.
func rawStore(t *testing.T, srv *sharedtest.Server) *shared.Store {
	t.Helper()
	s, err := shared.Open(context.Background(), srv.Config(sharedBucket, "cache"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// rewrite replaces the object of path through the S3 API with data and
// metadata that matches it (a fresh stored-at unless given).
func rewrite(t *testing.T, raw *shared.Store, path string, data []byte, storedAt time.Time) {
	t.Helper()
	ctx := context.Background()
	if err := raw.Delete(ctx, path); err != nil {
		t.Fatal(err)
	}
	m := shared.Meta{SHA256: sha256.Sum256(data), StoredAt: storedAt, Verified: "sumdb:sumdb.test", Upstream: "evil"}
	if err := raw.Put(ctx, path, bytes.NewReader(data), int64(len(data)), m, false); err != nil {
		t.Fatal(err)
	}
}

// readRaw returns the bytes stored for path.
func readRaw(t *testing.T, raw *shared.Store, path string) []byte {
	t.Helper()
	obj, err := raw.Get(context.Background(), path)
	if err != nil {
		t.Fatalf("reading %s from the store: %v", path, err)
	}
	defer obj.Body.Close()
	data, err := io.ReadAll(obj.Body)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// checkGone fails unless the store holds nothing for path.
func checkGone(t *testing.T, raw *shared.Store, path string) {
	t.Helper()
	if obj, err := raw.Stat(context.Background(), path); !errors.Is(err, shared.ErrNotFound) {
		t.Errorf("the bad object %s is still in the store (%v, %+v)", path, err, obj)
	}
}

// waitQueue waits until r's uploads are done.
func waitQueue(t *testing.T, r *replica) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for r.tier.Stats().Queue > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("uploads not done: %+v", r.tier.Stats())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// bucketFiles returns the bucket's files (objects) whose path, relative to
// the bucket, contains sub.
func bucketFiles(t *testing.T, srv *sharedtest.Server, sub string) []string {
	t.Helper()
	root := filepath.Join(srv.Dir, sharedBucket)
	var out []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if strings.Contains(filepath.ToSlash(rel), sub) {
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestAdversaryPrivateModulesStayOutOfTheStore: with sharing of private
// modules off, nothing of a private module reaches the bucket, and a
// replica never reads one from it; with it on, they are under their own
// prefix and another replica serves them from there.
func TestAdversaryPrivateModulesStayOutOfTheStore(t *testing.T) {
	srv := sharedtest.Start(t, &skipped)
	mods, db, public := fixture(t)
	secret, err := mirrortest.NewModule("corp.example.com/secret", "v1.0.0", map[string][]byte{
		"go.mod":    []byte("module corp.example.com/secret\n\ngo 1.21\n"),
		"secret.go": []byte("package secret\n\nconst Word = \"swordfish\"\n"),
	})
	if err != nil {
		t.Fatal(err)
	}
	private := mirrortest.NewMirror(nil, secret)
	t.Cleanup(private.Close)
	const pattern = "corp.example.com/*"
	base := "/corp.example.com/secret/@v/"
	paths := []string{base + "list", "/corp.example.com/secret/@latest", base + "v1.0.0.info", base + "v1.0.0.mod", base + "v1.0.0.zip"}
	lib := mirrortest.Lookup(mods, "example.com/lib", "v1.1.0")
	libMod, libZip := modPaths(lib)
	raw := rawStore(t, srv)

	fetchAll := func(t *testing.T, r *replica, wantCache string) map[string]string {
		t.Helper()
		got := map[string]string{}
		for _, p := range paths {
			resp, body := r.get(t, p)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: %s %q", p, resp.Status, body)
			}
			want := wantCache
			if want == "shared" && (strings.HasSuffix(p, "/@v/list") || strings.HasSuffix(p, "/@latest")) {
				// The store's copies of answers that can change stand in
				// only when no upstream answers.
				want = "stale"
			}
			if c := resp.Header.Get(proxy.CacheHeader); want != "" && c != want {
				t.Errorf("GET %s: %s %q, want %q", p, proxy.CacheHeader, c, want)
			}
			got[p] = body
		}
		return got
	}

	t.Run("off", func(t *testing.T) {
		a := newReplica(t, srv, db, vrigConfig{upstreams: []string{public.URL()}, private: pattern, privateUpstreams: []string{private.URL()}})
		fetchAll(t, a, "miss")
		for _, p := range []string{libMod, libZip} { // public ones, which do go up
			if resp, _ := a.get(t, p); resp.StatusCode != http.StatusOK {
				t.Fatalf("GET %s: %s", p, resp.Status)
			}
		}
		a.close()
		if _, err := raw.Stat(context.Background(), libZip); err != nil {
			t.Fatalf("the public zip was not uploaded (the test would prove nothing): %v", err)
		}
		for _, word := range []string{"corp.example.com", "secret"} {
			if got := bucketFiles(t, srv, word); len(got) != 0 {
				t.Errorf("the bucket holds private paths: %q", got)
			}
		}
		// Planted by someone at the place a private module would be: a
		// replica not sharing private modules never reads it.
		for _, p := range paths {
			body := []byte("v9.9.9\n")
			rewrite(t, raw, p, body, time.Now())
			rewrite(t, raw, "/private"+p, body, time.Now())
		}
		b := newReplica(t, srv, db, vrigConfig{upstreams: []string{public.URL()}, private: pattern, privateUpstreams: []string{mirrortest.ClosedURL(t)}})
		for _, p := range paths {
			if resp, body := b.get(t, p); resp.StatusCode == http.StatusOK {
				t.Errorf("GET %s with the private mirror dead and sharing off: %s %q, want an error", p, resp.Status, body)
			}
		}
		if st := b.tier.Stats(); st.Hits+st.Misses != 0 {
			t.Errorf("a replica not sharing private modules asked the store for them: %+v", st)
		}
		for _, p := range paths {
			for _, k := range []string{p, "/private" + p} {
				if err := raw.Delete(context.Background(), k); err != nil {
					t.Fatal(err)
				}
			}
		}
	})

	t.Run("on", func(t *testing.T) {
		a := newReplica(t, srv, db, vrigConfig{upstreams: []string{public.URL()}, private: pattern, privateUpstreams: []string{private.URL()}, sharedPrivate: true})
		want := fetchAll(t, a, "miss")
		a.close()
		for _, p := range paths {
			if _, err := os.Stat(srv.ObjectPath(sharedBucket, "cache/private"+p)); err != nil {
				t.Errorf("%s is not under cache/private: %v", p, err)
			}
		}
		for _, f := range bucketFiles(t, srv, "corp.example.com") {
			if !strings.HasPrefix(f, "cache/private/") {
				t.Errorf("a private module's object outside cache/private: %s", f)
			}
		}
		b := newReplica(t, srv, db, vrigConfig{upstreams: []string{public.URL()}, private: pattern, privateUpstreams: []string{mirrortest.ClosedURL(t)}, sharedPrivate: true})
		got := fetchAll(t, b, "shared")
		for _, p := range paths {
			if got[p] != want[p] {
				t.Errorf("GET %s from the store: %.100q, want %.100q", p, got[p], want[p])
			}
		}
		if got[base+"v1.0.0.zip"] != string(secret.Zip) {
			t.Error("the private zip served from the store differs from the private mirror's")
		}
		checkNoPrivate(t, public.Requests())
	})
}

// TestAdversaryMutableAnswers: a list in the store is not served while a
// mirror answers, fresh or stale: a bucket writer cannot stand in for the
// mirrors; it is served, stale, only when every mirror is dead; a list whose stored-at is missing or in the future is never
// used, and deleted.
func TestAdversaryMutableAnswers(t *testing.T) {
	srv := sharedtest.Start(t, &skipped)
	_, db, mirror := fixture(t)
	clock := &advClock{}
	raw := rawStore(t, srv)
	const list = "/example.com/lib/@v/list"
	const mirrorList = "v1.0.0\nv1.1.0\n"
	const planted = "v1.0.0\n" // a list as it was once: valid, and told apart
	dead := mirrortest.ClosedURL(t)

	t.Run("fresh, a mirror up", func(t *testing.T) {
		rewrite(t, raw, list, []byte(planted), clock.now().Add(-10*time.Second))
		before := mirror.Count(list)
		r := newReplica(t, srv, db, vrigConfig{upstreams: []string{mirror.URL()}, now: clock.now})
		resp, body := r.get(t, list)
		if resp.StatusCode != http.StatusOK || body != mirrorList || resp.Header.Get(proxy.CacheHeader) != "miss" {
			t.Errorf("a fresh list in the store, a mirror up: %s %s %q, want the mirror's", resp.Status, resp.Header.Get(proxy.CacheHeader), body)
		}
		if n := mirror.Count(list) - before; n != 1 {
			t.Errorf("the mirror was asked %d times, want once", n)
		}
	})
	t.Run("stale, a mirror up", func(t *testing.T) {
		rewrite(t, raw, list, []byte(planted), clock.now())
		clock.advance(2 * proxy.DefaultMutableTTL)
		r := newReplica(t, srv, db, vrigConfig{upstreams: []string{mirror.URL()}, now: clock.now})
		resp, body := r.get(t, list)
		if resp.StatusCode != http.StatusOK || body != mirrorList || resp.Header.Get(proxy.CacheHeader) != "miss" {
			t.Errorf("a stale list in the store, a mirror up: %s %s %q, want the mirror's", resp.Status, resp.Header.Get(proxy.CacheHeader), body)
		}
		r.close()
		// The fresher list replaced the stale one.
		if got := string(readRaw(t, raw, list)); got != mirrorList {
			t.Errorf("the store's list after a fresh fetch: %q", got)
		}
	})
	t.Run("stale, every mirror dead", func(t *testing.T) {
		rewrite(t, raw, list, []byte(planted), clock.now())
		clock.advance(2 * proxy.DefaultMutableTTL)
		r := newReplica(t, srv, db, vrigConfig{upstreams: []string{dead}, now: clock.now})
		resp, body := r.get(t, list)
		if resp.StatusCode != http.StatusOK || body != planted || resp.Header.Get(proxy.CacheHeader) != "stale" {
			t.Errorf("a stale list in the store, no mirror: %s %s %q, want it, stale", resp.Status, resp.Header.Get(proxy.CacheHeader), body)
		}
	})
	for _, tt := range []struct {
		name string
		at   func() time.Time
	}{
		{"stored-at in the future", func() time.Time { return clock.now().Add(time.Hour) }},
		{"stored-at missing", func() time.Time { return time.Time{} }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rewrite(t, raw, list, []byte(planted), tt.at())
			r := newReplica(t, srv, db, vrigConfig{upstreams: []string{dead}, now: clock.now})
			if resp, body := r.get(t, list); resp.StatusCode == http.StatusOK {
				t.Errorf("a list with its %s, no mirror: %s %q, want an error", tt.name, resp.Status, body)
			}
			checkGone(t, raw, list)
			// And with a mirror: the mirror's.
			rewrite(t, raw, list, []byte(planted), tt.at())
			r = newReplica(t, srv, db, vrigConfig{upstreams: []string{mirror.URL()}, now: clock.now})
			if resp, body := r.get(t, list); resp.StatusCode != http.StatusOK || body != mirrorList {
				t.Errorf("a list with its %s, a mirror up: %s %q, want the mirror's", tt.name, resp.Status, body)
			}
		})
	}
}

// TestAdversaryTamperedChecksumDatabase: lookups and tiles in the store
// that are garbage, or another module's genuine record, never make a
// replica serve wrong bytes or a wrong lookup, and never stop it serving
// the right ones from a mirror; they are deleted.
func TestAdversaryTamperedChecksumDatabase(t *testing.T) {
	srv := sharedtest.Start(t, &skipped)
	mods, db, mirror := fixture(t)
	lib := mirrortest.Lookup(mods, "example.com/lib", "v1.1.0")
	util := mirrortest.Lookup(mods, "example.com/util", "v1.0.0")
	libMod, libZip := modPaths(lib)
	utilMod, _ := modPaths(util)
	const lookup = "/sumdb/sumdb.test/lookup/example.com/lib@v1.1.0"
	const utilLookup = "/sumdb/sumdb.test/lookup/example.com/util@v1.0.0"
	zipLine, modLine := db.GoSumLines(lib)

	a := newReplica(t, srv, db, vrigConfig{upstreams: []string{mirror.URL()}})
	for _, p := range []string{libMod, libZip, utilMod} {
		if resp, body := a.get(t, p); resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s %q", p, resp.Status, body)
		}
	}
	a.close()
	raw := rawStore(t, srv)
	honest := map[string][]byte{lookup: readRaw(t, raw, lookup)}
	var tiles []string
	for _, f := range bucketFiles(t, srv, "cache/sumdb/sumdb.test/tile/") {
		if fi, err := os.Stat(filepath.Join(srv.Dir, sharedBucket, f)); err == nil && fi.Mode().IsRegular() {
			p := strings.TrimPrefix(f, "cache")
			tiles = append(tiles, p)
			honest[p] = readRaw(t, raw, p)
		}
	}
	if len(tiles) == 0 {
		t.Fatal("no tile was uploaded")
	}
	utilRecord := readRaw(t, raw, utilLookup)
	restore := func(t *testing.T) {
		t.Helper()
		for p, data := range honest {
			rewrite(t, raw, p, data, time.Now())
		}
	}

	for _, tt := range []struct {
		name   string
		bad    []string // the tampered objects, to be deleted
		tamper func(t *testing.T)
	}{
		{"lookup: garbage under its metadata", []string{lookup}, func(t *testing.T) {
			if err := os.WriteFile(srv.ObjectPath(sharedBucket, "cache"+lookup), bytes.Repeat([]byte("garbage!"), 64), 0o644); err != nil {
				t.Fatal(err)
			}
		}},
		{"lookup: garbage with matching metadata", []string{lookup}, func(t *testing.T) {
			rewrite(t, raw, lookup, []byte("12\nexample.com/lib v1.1.0 h1:AAAA=\nexample.com/lib v1.1.0/go.mod h1:BBBB=\n\ngo.sum database tree\n99\nxx=\n"), time.Now())
		}},
		{"lookup: another module's genuine record", []string{lookup}, func(t *testing.T) {
			rewrite(t, raw, lookup, utilRecord, time.Now())
		}},
		{"tiles: garbage with matching metadata", tiles, func(t *testing.T) {
			for _, p := range tiles {
				garbage := bytes.Repeat([]byte{0x5a}, len(honest[p]))
				rewrite(t, raw, p, garbage, time.Now())
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// No mirror: never wrong bytes, never a wrong lookup.
			restore(t)
			tt.tamper(t)
			lonely := newReplica(t, srv, db, vrigConfig{upstreams: []string{mirrortest.ClosedURL(t)}})
			for _, f := range []struct {
				path string
				want []byte
			}{{libMod, lib.Mod}, {libZip, lib.Zip}} {
				if resp, body := lonely.get(t, f.path); resp.StatusCode == http.StatusOK && body != string(f.want) {
					t.Errorf("GET %s, no mirror: 200 with wrong bytes", f.path)
				}
			}
			if resp, body := lonely.get(t, lookup); resp.StatusCode == http.StatusOK && (!strings.Contains(body, zipLine) || !strings.Contains(body, modLine)) {
				t.Errorf("GET %s, no mirror: 200 with another record: %.300q", lookup, body)
			}
			for _, p := range tt.bad {
				// The go command reads tiles too: never the tampered ones.
				if !strings.Contains(p, "/tile/") {
					continue
				}
				if resp, body := lonely.get(t, p); resp.StatusCode == http.StatusOK && body != string(honest[p]) {
					t.Errorf("GET %s, no mirror: 200 with a tampered tile", p)
				}
			}
			lonely.close()
			if strings.Contains(tt.name, "tiles") {
				// Only the tiles a tree head the replica holds covers
				// are read (and found out); the others are never served.
				gone := 0
				for _, p := range tt.bad {
					if _, err := raw.Stat(context.Background(), p); errors.Is(err, shared.ErrNotFound) {
						gone++
					}
				}
				if gone == 0 {
					t.Errorf("none of the tampered tiles %q was deleted", tt.bad)
				}
			} else {
				for _, p := range tt.bad {
					checkGone(t, raw, p)
				}
			}
			if lonely.tier.Stats().Corrupt == 0 {
				t.Errorf("no corrupt object counted: %+v", lonely.tier.Stats())
			}
			if len(lonely.logs.matching(slog.LevelError, "bad object")) == 0 {
				t.Error("no ERROR log names the bad object")
			}

			// A mirror up: the right answers.
			restore(t)
			tt.tamper(t)
			b := newReplica(t, srv, db, vrigConfig{upstreams: []string{mirror.URL()}})
			for _, f := range []struct {
				path string
				want []byte
			}{{libMod, lib.Mod}, {libZip, lib.Zip}} {
				if resp, body := b.get(t, f.path); resp.StatusCode != http.StatusOK || body != string(f.want) {
					t.Errorf("GET %s, a mirror up: %s, %d bytes: %.200q", f.path, resp.Status, len(body), body)
				}
			}
			if resp, body := b.get(t, lookup); resp.StatusCode != http.StatusOK || !strings.Contains(body, zipLine) || !strings.Contains(body, modLine) {
				t.Errorf("GET %s, a mirror up: %s %.300q, want the genuine record", lookup, resp.Status, body)
			}
		})
	}
}

// TestAdversaryJunkObjects: oversized, mis-typed and truncated objects are
// never served, and are deleted.
func TestAdversaryJunkObjects(t *testing.T) {
	srv := sharedtest.Start(t, &skipped)
	mods, db, mirror := fixture(t)
	lib := mirrortest.Lookup(mods, "example.com/lib", "v1.1.0")
	_, libZip := modPaths(lib)
	raw := rawStore(t, srv)
	junk := make([]byte, 10<<20)
	for i := range junk {
		junk[i] = byte(i*7 + i>>9)
	}
	html := []byte("<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body><form>...</form></body></html>\n")
	for _, tt := range []struct {
		name, path string
		data       []byte
		want       []byte
	}{
		{"10 MiB of junk at a .info path", "/example.com/lib/@v/v1.1.0.info", junk, lib.Info},
		{"an HTML page at a list path", "/example.com/lib/@v/list", html, []byte("v1.0.0\nv1.1.0\n")},
		{"an HTML page at an @latest path", "/example.com/lib/@latest", html, lib.Info},
		{"a truncated zip with matching metadata", libZip, lib.Zip[:len(lib.Zip)/2], lib.Zip},
		{"a truncated go.mod with matching metadata", "/example.com/lib/@v/v1.1.0.mod", lib.Mod[:len(lib.Mod)/2], lib.Mod},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rewrite(t, raw, tt.path, tt.data, time.Now())
			r := newReplica(t, srv, db, vrigConfig{upstreams: []string{mirrortest.ClosedURL(t)}})
			if resp, body := r.get(t, tt.path); resp.StatusCode == http.StatusOK {
				t.Errorf("GET %s, no mirror: %s, %d bytes: %.100q, want an error", tt.path, resp.Status, len(body), body)
			}
			checkGone(t, raw, tt.path)
			rewrite(t, raw, tt.path, tt.data, time.Now())
			r = newReplica(t, srv, db, vrigConfig{upstreams: []string{mirror.URL()}})
			if resp, body := r.get(t, tt.path); resp.StatusCode != http.StatusOK || body != string(tt.want) {
				t.Errorf("GET %s, a mirror up: %s, %d bytes, want the mirror's %d", tt.path, resp.Status, len(body), len(tt.want))
			}
		})
	}
}

// noRedirects is a client that returns redirects instead of following them.
var noRedirects = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// TestAdversaryRedirects: a verified zip's cache hit redirects to the
// store, whose presigned URL gives exactly the zip's bytes, with nothing
// that would make a client decode them; once the object changed, no
// redirect.
func TestAdversaryRedirects(t *testing.T) {
	srv := sharedtest.Start(t, &skipped)
	mods, db, mirror := fixture(t)
	lib := mirrortest.Lookup(mods, "example.com/lib", "v1.1.0")
	_, zip := modPaths(lib)
	a := newReplica(t, srv, db, vrigConfig{upstreams: []string{mirror.URL()}, redirectSize: 1})
	if resp, _ := a.get(t, zip); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s", zip, resp.Status)
	}
	waitQueue(t, a)

	get := func(t *testing.T, u string) (*http.Response, []byte) {
		t.Helper()
		resp, err := noRedirects.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, body
	}
	resp, _ := get(t, a.srv.URL+zip)
	if resp.StatusCode != http.StatusFound || resp.Header.Get(proxy.CacheHeader) != "shared" {
		t.Fatalf("a cache hit of a verified zip: %s %s, want 302 to the store", resp.Status, resp.Header.Get(proxy.CacheHeader))
	}
	loc := resp.Header.Get("Location")
	if !strings.HasPrefix(loc, srv.Endpoint+"/") {
		t.Fatalf("redirected to %q, not the store", loc)
	}
	presigned, body := get(t, loc)
	if presigned.StatusCode != http.StatusOK || !bytes.Equal(body, lib.Zip) {
		t.Fatalf("the presigned URL: %s, %d bytes, want the zip's %d", presigned.Status, len(body), len(lib.Zip))
	}
	if ce := presigned.Header.Get("Content-Encoding"); ce != "" {
		t.Errorf("the presigned URL answers Content-Encoding %q: clients that honour it cannot read the zip", ce)
	}

	// The object rewritten through the API, with matching metadata: the
	// replica serves the zip itself.
	raw := rawStore(t, srv)
	if st, err := raw.Stat(context.Background(), zip); err == nil {
		file := srv.ObjectPath(sharedBucket, "cache"+zip)
		flipped := append([]byte(nil), lib.Zip...)
		flipped[0] ^= 1
		if err := os.WriteFile(file, flipped, 0o644); err != nil {
			t.Fatal(err)
		}
		after, err := raw.Stat(context.Background(), zip)
		if err == nil && after.ETag == st.ETag {
			// Outside the S3 API the store cannot tell: only writers
			// through the API are in the threat model.
			t.Logf("versitygw keeps the ETag %s over a raw overwrite of the object's file", st.ETag)
		}
		if err := os.WriteFile(file, lib.Zip, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tampered := append([]byte(nil), lib.Zip...)
	tampered[len(tampered)/2] ^= 0x20
	rewrite(t, raw, zip, tampered, time.Now())
	resp, body = get(t, a.srv.URL+zip)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, lib.Zip) || resp.Header.Get(proxy.CacheHeader) != "hit" {
		t.Errorf("after the object changed: %s %s, %d bytes, want the zip served by the replica", resp.Status, resp.Header.Get(proxy.CacheHeader), len(body))
	}
	// The honest bytes back, by another writer: not known verified here,
	// so still no redirect.
	rewrite(t, raw, zip, lib.Zip, time.Now())
	if resp, _ := get(t, a.srv.URL+zip); resp.StatusCode != http.StatusOK {
		t.Errorf("after another writer's rewrite: %s, want the zip served by the replica", resp.Status)
	}
}

// flapModules returns n small modules (some stored inline, some as blobs),
// their database and a mirror of them.
func flapModules(t *testing.T, n int) ([]*mirrortest.Module, *mirrortest.SumDB, *mirrortest.Mirror) {
	t.Helper()
	var mods []*mirrortest.Module
	for i := range n {
		m, err := mirrortest.SyntheticModule(fmt.Sprintf("example.com/flap%d", i), "v1.0.0", (8+i*40)<<10)
		if err != nil {
			t.Fatal(err)
		}
		mods = append(mods, m)
	}
	db, mirror := serveModules(t, mods)
	return mods, db, mirror
}

// TestAdversaryStoreFlapping: 32 clients fetch 8 modules' files from 4
// replicas while the store is stopped, restarted, and black-holed: every
// answer is 200 with the right bytes, and nothing is left running.
func TestAdversaryStoreFlapping(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Run("flap", func(t *testing.T) {
		srv := sharedtest.Start(t, &skipped)
		mods, db, mirror := flapModules(t, 8)
		clock := &advClock{}
		want := map[string][]byte{}
		var paths []string
		for _, m := range mods {
			base := "/" + m.Path + "/@v/"
			for p, data := range map[string][]byte{
				base + "list": []byte("v1.0.0\n"), "/" + m.Path + "/@latest": m.Info,
				base + "v1.0.0.info": m.Info, base + "v1.0.0.mod": m.Mod, base + "v1.0.0.zip": m.Zip,
			} {
				want[p] = data
				paths = append(paths, p)
			}
		}
		var replicas []*replica
		for range 4 {
			replicas = append(replicas, newReplica(t, srv, db, vrigConfig{upstreams: []string{mirror.URL()}, now: clock.now}))
		}
		client := &http.Client{Timeout: 15 * time.Second}
		var (
			stop     atomic.Bool
			wg       sync.WaitGroup
			requests atomic.Int64
			mu       sync.Mutex
			failures []string
		)
		for i := range 32 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(i), 1))
				for !stop.Load() {
					r := replicas[rng.IntN(len(replicas))]
					p := paths[rng.IntN(len(paths))]
					err := func() error {
						resp, err := client.Get(r.srv.URL + p)
						if err != nil {
							return err
						}
						defer resp.Body.Close()
						body, err := io.ReadAll(resp.Body)
						switch {
						case err != nil:
							return err
						case resp.StatusCode != http.StatusOK:
							return fmt.Errorf("%s: %.200s", resp.Status, body)
						case !bytes.Equal(body, want[p]):
							return fmt.Errorf("wrong bytes (%d, want %d)", len(body), len(want[p]))
						}
						return nil
					}()
					requests.Add(1)
					if err != nil {
						mu.Lock()
						failures = append(failures, fmt.Sprintf("GET %s: %v", p, err))
						mu.Unlock()
					}
					time.Sleep(time.Duration(rng.IntN(5)) * time.Millisecond)
				}
			}()
		}
		step := func(d time.Duration) {
			time.Sleep(d)
			clock.advance(2 * proxy.DefaultMutableTTL) // lists and @latest go stale: asked again
		}
		step(300 * time.Millisecond)
		srv.Stop()
		step(500 * time.Millisecond)
		srv.Restart(t)
		step(300 * time.Millisecond)
		srv.Stop()
		step(500 * time.Millisecond)
		srv.Restart(t)
		step(300 * time.Millisecond)
		srv.Blackhole(t)
		step(1200 * time.Millisecond)
		srv.Restart(t)
		step(500 * time.Millisecond)
		stop.Store(true)
		wg.Wait()
		for _, f := range failures {
			t.Error(f)
		}
		if n := requests.Load(); n < 200 {
			t.Errorf("only %d requests were made", n)
		}
		var corrupt, hits int64
		for _, r := range replicas {
			st := r.tier.Stats()
			corrupt += st.Corrupt
			hits += st.Hits
		}
		if corrupt != 0 {
			t.Errorf("%d objects counted corrupt with no one tampering", corrupt)
		}
		if hits == 0 {
			t.Error("no replica read anything from the store: the test proves nothing")
		}
		t.Logf("%d requests, %d reads from the store", requests.Load(), hits)
		client.CloseIdleConnections()
	})
	http.DefaultClient.CloseIdleConnections()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= before+2 {
			break
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines before, %d after:\n%s", before, n, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// failingReader gives n bytes of data, then fails.
type failingReader struct {
	data []byte
	n    int
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, r.err
	}
	k := copy(p, r.data[:min(len(r.data), r.n)])
	r.data, r.n = r.data[k:], r.n-k
	return k, nil
}

// breakingStore fails its first Put midway (its body failing as a dying
// process's would), then looks, raw, for what that left.
type breakingStore struct {
	*shared.Store
	mu      sync.Mutex
	puts    int
	leftErr error // the raw Stat after the failed Put
}

func (s *breakingStore) Put(ctx context.Context, path string, body io.Reader, size int64, m shared.Meta, ifAbsent bool) error {
	s.mu.Lock()
	s.puts++
	first := s.puts == 1
	s.mu.Unlock()
	if !first {
		return s.Store.Put(ctx, path, body, size, m, ifAbsent)
	}
	data, err := io.ReadAll(io.LimitReader(body, size/2))
	if err != nil {
		return err
	}
	err = s.Store.Put(ctx, path, &failingReader{data: data, n: len(data), err: errors.New("killed")}, size, m, ifAbsent)
	if err == nil {
		return errors.New("a Put whose body failed succeeded")
	}
	_, statErr := s.Store.Stat(context.Background(), path)
	s.mu.Lock()
	s.leftErr = statErr
	s.mu.Unlock()
	return err
}

// TestAdversaryPartialUploads: a Put whose body fails midway, or whose
// context ends midway, leaves no object; the tier retries and then writes
// the whole answer.
func TestAdversaryPartialUploads(t *testing.T) {
	srv := sharedtest.Start(t, &skipped)
	raw := rawStore(t, srv)
	data := make([]byte, 300<<10)
	for i := range data {
		data[i] = byte(i * 31)
	}
	meta := shared.Meta{SHA256: sha256.Sum256(data), StoredAt: time.Now()}
	ctx := context.Background()

	t.Run("body fails", func(t *testing.T) {
		const p = "/example.com/partial/@v/v1.0.0.zip"
		err := raw.Put(ctx, p, &failingReader{data: data, n: len(data) / 2, err: errors.New("killed")}, int64(len(data)), meta, true)
		if err == nil {
			t.Fatal("a Put whose body failed succeeded")
		}
		checkGone(t, raw, p)
	})
	t.Run("context ends", func(t *testing.T) {
		const p = "/example.com/partial/@v/v1.0.1.zip"
		ctx, cancel := context.WithCancel(ctx)
		pr, pw := io.Pipe()
		go func() {
			_, _ = pw.Write(data[:len(data)/2])
			cancel() // the process dies with half the body sent
			time.Sleep(100 * time.Millisecond)
			pw.CloseWithError(context.Canceled)
		}()
		if err := raw.Put(ctx, p, pr, int64(len(data)), meta, true); err == nil {
			t.Fatal("a Put cancelled midway succeeded")
		}
		time.Sleep(100 * time.Millisecond) // the store finishes with the request
		checkGone(t, raw, p)
	})
	t.Run("through the tier", func(t *testing.T) {
		const p = "/example.com/partial/@v/v1.0.2.zip"
		local, err := cache.Open(cache.Options{Dir: t.TempDir(), Reserve: 64 << 20})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { local.Close() })
		if err := local.PutBytes(p, cache.Meta{Status: http.StatusOK, Immutable: true, StoredAt: time.Now(), Upstream: "m", Verified: true}, data); err != nil {
			t.Fatal(err)
		}
		bs := &breakingStore{Store: raw}
		tier := sharedtier.New(sharedtier.Config{
			Store: bs, Name: "s3://adversary", Local: local,
			Health:        health.Config{FailureThreshold: 5, OpenBackoff: 50 * time.Millisecond, MaxOpenBackoff: 50 * time.Millisecond, HalfOpenSuccesses: 1},
			ProbeInterval: 50 * time.Millisecond,
			Logger:        slog.New(slog.DiscardHandler),
		})
		tier.Start(ctx)
		tier.Enqueue(sharedtier.Upload{Path: p, Key: p, Immutable: true, Unique: true, Verified: "sumdb:sumdb.test"})
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if left := tier.Close(cctx); left != 0 {
			t.Fatalf("%d uploads left undone", left)
		}
		bs.mu.Lock()
		leftErr, puts := bs.leftErr, bs.puts
		bs.mu.Unlock()
		if !errors.Is(leftErr, shared.ErrNotFound) {
			t.Errorf("after the Put failed midway, the store held an object (stat: %v)", leftErr)
		}
		if puts != 2 {
			t.Errorf("%d Puts, want 2 (the failed one and its retry)", puts)
		}
		if got := readRaw(t, raw, p); !bytes.Equal(got, data) {
			t.Errorf("the object after the retry: %d bytes, want %d", len(got), len(data))
		}
	})
}

// TestAdversaryTreeHeadAndUncoveredTiles: the database's latest tree head
// is served from the store only when the database signed it; a tile no
// verified tree head covers yet is never read from the store, where it
// could be checked only by size.
func TestAdversaryTreeHeadAndUncoveredTiles(t *testing.T) {
	srv := sharedtest.Start(t, &skipped)
	mods, db, mirror := fixture(t)
	if err := mirrortest.PrimeLookups(mirror.URL(), db, mods); err != nil {
		t.Fatal(err)
	}
	raw := rawStore(t, srv)
	const latest = "/sumdb/sumdb.test/latest"
	_, genuine := do(t, http.MethodGet, mirror.URL()+latest)
	if !strings.Contains(genuine, "go.sum database tree") {
		t.Fatalf("the mirror's tree head: %q", genuine)
	}
	forged := strings.Replace(genuine, "go.sum database tree\n", "go.sum database tree\n1", 1)

	rewrite(t, raw, latest, []byte(forged), time.Now())
	r := newReplica(t, srv, db, vrigConfig{upstreams: []string{mirrortest.ClosedURL(t)}})
	if resp, body := r.get(t, latest); resp.StatusCode == http.StatusOK {
		t.Errorf("a forged tree head in the store, no mirror: %s %q, want an error", resp.Status, body)
	}
	checkGone(t, raw, latest)

	rewrite(t, raw, latest, []byte(genuine), time.Now())
	r = newReplica(t, srv, db, vrigConfig{upstreams: []string{mirrortest.ClosedURL(t)}})
	if resp, body := r.get(t, latest); resp.StatusCode != http.StatusOK || body != genuine || resp.Header.Get(proxy.CacheHeader) != "stale" {
		t.Errorf("a genuine tree head in the store, no mirror: %s %s %q, want it, stale", resp.Status, resp.Header.Get(proxy.CacheHeader), body)
	}

	// A replica that holds no tree head yet cannot verify a tile.
	const tile = "/sumdb/sumdb.test/tile/8/0/000.p/1"
	garbage := bytes.Repeat([]byte{0x5a}, 32)
	rewrite(t, raw, tile, garbage, time.Now())
	r = newReplica(t, srv, db, vrigConfig{upstreams: []string{mirrortest.ClosedURL(t)}})
	if resp, body := r.get(t, tile); resp.StatusCode == http.StatusOK && body == string(garbage) {
		t.Errorf("an unverifiable tile from the store was served")
	}
	r = newReplica(t, srv, db, vrigConfig{upstreams: []string{mirror.URL()}})
	_, want := do(t, http.MethodGet, mirror.URL()+tile)
	if resp, body := r.get(t, tile); resp.StatusCode != http.StatusOK || body != want {
		t.Errorf("a tile, a mirror up: %s, %d bytes, want the mirror's %d", resp.Status, len(body), len(want))
	}
}
