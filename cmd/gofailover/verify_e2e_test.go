package main

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/module"

	"github.com/gofailover/gofailover/cache"
	"github.com/gofailover/gofailover/proxy/mirrortest"
)

// moduleFiles maps the request path of every fixture's .mod and .zip
// (escaped as on the wire, which is also the cache key) to its bytes.
func moduleFiles(t *testing.T, mods []*mirrortest.Module) map[string][]byte {
	t.Helper()
	out := make(map[string][]byte)
	for _, m := range mods {
		epath, err := module.EscapePath(m.Path)
		if err != nil {
			t.Fatal(err)
		}
		evers, err := module.EscapeVersion(m.Version)
		if err != nil {
			t.Fatal(err)
		}
		base := "/" + epath + "/@v/" + evers
		out[base+".mod"] = m.Mod
		out[base+".zip"] = m.Zip
	}
	return out
}

// httpGet returns the status and body of a GET of url.
func httpGet(t testing.TB, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading the body: %v", url, err)
	}
	return resp.StatusCode, body
}

// checkServed fails unless gofailover at url serves every fixture's .mod
// and .zip byte for byte as the original.
func checkServed(t *testing.T, url string, mods []*mirrortest.Module) {
	t.Helper()
	for path, want := range moduleFiles(t, mods) {
		status, body := httpGet(t, url+path)
		if status != http.StatusOK || !bytes.Equal(body, want) {
			t.Errorf("gofailover serves %s with status %d, %d bytes, want the original %d bytes", path, status, len(body), len(want))
		}
	}
}

// TestGoCommandVerifiesPastMisbehavingFirstUpstream: the first upstream
// spoils module files in a different way in each case, the second is
// healthy. The go command, which checks everything against the database
// itself, downloads every fixture without a checksum error, and gofailover
// serves the original bytes of each.
func TestGoCommandVerifiesPastMisbehavingFirstUpstream(t *testing.T) {
	tests := []struct {
		name  string
		fault mirrortest.Fault
	}{
		{"zip with one byte of a file changed", mirrortest.FlipContent()},
		{"go.mod with a line added", mirrortest.Tamper().OnSuffix(".mod")},
		{"zip with an extra file", mirrortest.Tamper().OnSuffix(".zip")},
		{"zip cut short with a matching Content-Length", mirrortest.Truncate().OnSuffix(".zip")},
		{"zip cut short by a connection reset", mirrortest.ResetMidBody().OnSuffix(".zip")},
		// Not CorruptZip: the byte it flips in the middle of a zip lands,
		// for some fixtures, in a local file header's copy of a file name,
		// which zip readers, dirhash and the go command ignore (they read
		// the central directory): such a zip is not bad content, and
		// gofailover rightly serves it. proxy's handler tests use it on a
		// zip where it does break the archive.
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mods, db := fixtures(t)
			bad := mirrortest.NewMirror(db, mods...)
			defer bad.Close()
			bad.SetFault(tt.fault)
			good := mirrortest.NewMirror(db, mods...)
			defer good.Close()
			// The misbehaving mirror must stay first until it is asked
			// for what it spoils. Under -race load the two local mirrors'
			// latencies differ by more than routing calls near, so probes
			// (and hedges that beat it) could move traffic off it first:
			// no probes, and a long hedge floor.
			url := startServer(t, t.TempDir(), db, []string{bad.URL(), good.URL()},
				"GOFAILOVER_PROBE_INTERVAL=0", "GOFAILOVER_HEDGE_FLOOR=1s")

			goDownloadAndGet(t, url, db, mods)
			checkServed(t, url, mods)
			// The bad upstream was asked first for the files it spoils.
			suffix := tt.fault.Suffix
			if suffix == "" {
				suffix = ".zip"
			}
			asked := 0
			for _, p := range bad.Requests() {
				if strings.HasSuffix(p, suffix) {
					asked++
				}
			}
			if asked == 0 {
				t.Errorf("the misbehaving upstream was never asked for a %s file: the case tested nothing", suffix)
			}
		})
	}
}

// TestGoCommandForkedDatabaseOnFirstUpstream: after gofailover has verified
// a module against the real database, it is restarted on the same cache
// with a first upstream that serves tampered modules and a fork of the
// database, signed with the same key, vouching for them. The fork is
// detected, and the go command gets the real modules from the second
// upstream.
func TestGoCommandForkedDatabaseOnFirstUpstream(t *testing.T) {
	mods, db := fixtures(t)
	good := mirrortest.NewMirror(db, mods...)
	defer good.Close()
	// Every fixture is in the real tree, so the fork diverges from the
	// tree gofailover holds.
	if err := mirrortest.PrimeLookups(good.URL(), db, mods); err != nil {
		t.Fatal(err)
	}
	util := mirrortest.Lookup(mods, "example.com/util", "v1.0.0")
	evil, err := mirrortest.NewForkingMirror(db, mods, util)
	if err != nil {
		t.Fatal(err)
	}
	defer evil.Close()
	cacheDir := t.TempDir()

	t.Run("the real database first", func(t *testing.T) {
		url := startServer(t, cacheDir, db, []string{good.URL()})
		env := mirrortest.GoEnv(t, url, db)
		if out, err := mirrortest.RunGo(t, env, t.TempDir(), "mod", "download", "-json", util.String()); err != nil || strings.Contains(out, `"Error"`) {
			t.Fatalf("go mod download %s: %v\n%s", util, err, out)
		}
	})
	t.Run("the forking upstream first after a restart", func(t *testing.T) {
		url := startServer(t, cacheDir, db, []string{evil.URL(), good.URL()})
		goDownloadAndGet(t, url, db, mods)
		checkServed(t, url, mods)
		var lookups, files int
		for _, p := range evil.Requests() {
			switch {
			case strings.Contains(p, "/sumdb/") && strings.Contains(p, "/lookup/"):
				lookups++
			case strings.HasSuffix(p, ".zip") || strings.HasSuffix(p, ".mod"):
				files++
			}
		}
		// Once its fork is caught the upstream is quarantined and moves to
		// the end of the order, so its module files are seldom asked for;
		// its lookups must have been.
		if lookups == 0 {
			t.Errorf("the forking upstream was asked for %d lookups and %d module files: the fork was never consulted", lookups, files)
		}
	})
}

// TestGoCommandEveryUpstreamBad: when no upstream has a good copy, the go
// command fails with gofailover's reason, never sees a bad byte (no
// checksum mismatch of its own), and the cache holds nothing bad.
func TestGoCommandEveryUpstreamBad(t *testing.T) {
	mods, db := fixtures(t)
	a := mirrortest.NewMirror(db, mods...)
	defer a.Close()
	a.SetFault(mirrortest.FlipContent())
	b := mirrortest.NewMirror(db, mods...)
	defer b.Close()
	b.SetFault(mirrortest.Tamper().OnSuffix(".zip"))
	cacheDir := t.TempDir()

	t.Run("download", func(t *testing.T) {
		url := startServer(t, cacheDir, db, []string{a.URL(), b.URL()})
		env := mirrortest.GoEnv(t, url, db)
		out, err := mirrortest.RunGo(t, env, t.TempDir(), append([]string{"mod", "download"}, allFixtures(mods)...)...)
		if err == nil {
			t.Fatalf("go mod download succeeded with every upstream serving bad zips:\n%s", out)
		}
		t.Logf("go mod download:\n%s", out)
		for _, want := range []string{"502 Bad Gateway", "checksum database"} {
			if !strings.Contains(out, want) {
				t.Errorf("the go command's output lacks %q", want)
			}
		}
		for _, never := range []string{"SECURITY ERROR", "checksum mismatch", "verifying"} {
			if strings.Contains(out, never) {
				t.Errorf("the go command says %q: it received bad bytes", never)
			}
		}
	})

	// The server has stopped: open its cache and look at every entry.
	store, err := cache.Open(cache.Options{Reserve: 64 << 20, Dir: cacheDir})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	want := moduleFiles(t, mods)
	var zips, modFiles int
	err = store.Walk("", func(e cache.Entry) error {
		isZip, isMod := strings.HasSuffix(e.Key, ".zip"), strings.HasSuffix(e.Key, ".mod")
		if (!isZip && !isMod) || e.Status != http.StatusOK {
			return nil
		}
		if isZip {
			zips++
		} else {
			modFiles++
		}
		orig, ok := want[e.Key]
		if !ok {
			t.Errorf("cache holds %s, which is no fixture", e.Key)
			return nil
		}
		obj, err := store.Open(e.Key)
		if err != nil {
			return err
		}
		defer obj.Close()
		body, err := io.ReadAll(obj.Body)
		if err != nil {
			return err
		}
		if !bytes.Equal(body, orig) || !obj.Verified {
			t.Errorf("cache holds %s: %d bytes (original %d, equal %v), verified %v", e.Key, len(body), len(orig), bytes.Equal(body, orig), obj.Verified)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if zips != 0 {
		t.Errorf("the cache holds %d zips, though every upstream served bad ones", zips)
	}
	if modFiles == 0 {
		t.Error("the cache holds no .mod file: the walk checked nothing")
	}
}

// goEnvPrivate returns env (from GoEnv) with GOPRIVATE set to patterns and
// GONOPROXY=none, so that the go command fetches private modules through
// GOPROXY (gofailover) but checks none of them in the checksum database.
func goEnvPrivate(env []string, patterns string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		switch {
		case strings.HasPrefix(kv, "GOPRIVATE="):
			kv = "GOPRIVATE=" + patterns
		case strings.HasPrefix(kv, "GONOPROXY="):
			kv = "GONOPROXY=none"
		}
		out = append(out, kv)
	}
	return out
}

// checkNoPrivate fails if any request path mentions the private module.
func checkNoPrivate(t *testing.T, who string, requests []string) {
	t.Helper()
	for _, p := range requests {
		if strings.Contains(p, "private.example") || strings.Contains(p, "secret") {
			t.Errorf("%s received %s", who, p)
		}
	}
}

// TestGoCommandPrivateModules: a private module and public ones in one go
// command; the private one reaches only the private upstream, and neither
// the public upstream nor the checksum database (which the public
// upstream serves) ever sees its name.
func TestGoCommandPrivateModules(t *testing.T) {
	mods, db := fixtures(t)
	public := mirrortest.NewMirror(db, mods...)
	defer public.Close()
	secret, err := mirrortest.NewModule("private.example/secret", "v1.0.0", map[string][]byte{
		"go.mod":    []byte("module private.example/secret\n\ngo 1.21\n"),
		"secret.go": []byte("// Package secret is a private fixture.\npackage secret\n\nconst Word = \"swordfish\"\n"),
	})
	if err != nil {
		t.Fatal(err)
	}
	private := mirrortest.NewMirror(nil, secret)
	defer private.Close()
	secretZipLine, secretModLine, err := mirrortest.SumLines(secret)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("with a private upstream", func(t *testing.T) {
		url := startServer(t, t.TempDir(), db, []string{public.URL()},
			"GOFAILOVER_PRIVATE=private.example", "GOFAILOVER_PRIVATE_UPSTREAMS="+private.URL())
		env := goEnvPrivate(mirrortest.GoEnv(t, url, db), "private.example")
		out, err := mirrortest.RunGo(t, env, t.TempDir(), "mod", "download", "-json", secret.String(), "example.com/lib@v1.1.0")
		if err != nil || strings.Contains(out, `"Error"`) {
			t.Fatalf("go mod download: %v\n%s", err, out)
		}
		dir := mirrortest.ScratchModule(t, "example.com/scratch", nil)
		if out, err := mirrortest.RunGo(t, env, dir, "get", secret.String(), "example.com/app@v1.0.0"); err != nil {
			t.Fatalf("go get: %v\n%s", err, out)
		}
		sum, err := os.ReadFile(filepath.Join(dir, "go.sum"))
		if err != nil {
			t.Fatal(err)
		}
		appZip, appMod := db.GoSumLines(mirrortest.Lookup(mods, "example.com/app", "v1.0.0"))
		for _, line := range []string{secretZipLine, secretModLine, appZip, appMod} {
			if !strings.Contains(string(sum), line+"\n") {
				t.Errorf("go.sum lacks %q:\n%s", line, sum)
			}
		}
		if len(private.Requests()) == 0 {
			t.Error("the private upstream was never asked")
		}
		status, body := httpGet(t, url+"/private.example/secret/@v/v1.0.0.zip")
		if status != http.StatusOK || !bytes.Equal(body, secret.Zip) {
			t.Errorf("gofailover serves the private zip with status %d, %d bytes", status, len(body))
		}

		// A checksum-database lookup of the private module is refused
		// without asking anyone.
		before := len(public.Requests()) + len(private.Requests())
		status, body = httpGet(t, url+"/sumdb/"+db.Name+"/lookup/private.example/secret@v1.0.0")
		if status != http.StatusNotFound || !strings.Contains(string(body), "GOFAILOVER_PRIVATE") {
			t.Errorf("lookup of the private module: %d %q, want 404 naming GOFAILOVER_PRIVATE", status, body)
		}
		if after := len(public.Requests()) + len(private.Requests()); after != before {
			t.Errorf("the private lookup reached an upstream (%d requests before, %d after)", before, after)
		}
		checkNoPrivate(t, "the public upstream (and the checksum database it serves)", public.Requests())
	})

	t.Run("without a private upstream", func(t *testing.T) {
		public.ResetRequests()
		private.ResetRequests()
		url := startServer(t, t.TempDir(), db, []string{public.URL()}, "GOFAILOVER_PRIVATE=private.example")
		for _, p := range []string{"/private.example/secret/@v/v1.0.0.info", "/private.example/secret/@v/v1.0.0.zip", "/private.example/secret/@v/list",
			"/sumdb/" + db.Name + "/lookup/private.example/secret@v1.0.0"} {
			status, body := httpGet(t, url+p)
			if status != http.StatusNotFound || !strings.Contains(string(body), "GOFAILOVER_PRIVATE") || strings.Count(string(body), "\n") != 1 {
				t.Errorf("GET %s: %d %q, want 404 with a one-line reason naming GOFAILOVER_PRIVATE", p, status, body)
			}
		}
		env := goEnvPrivate(mirrortest.GoEnv(t, url, db), "private.example")
		out, err := mirrortest.RunGo(t, env, t.TempDir(), "mod", "download", secret.String())
		if err == nil || !strings.Contains(out, "GOFAILOVER_PRIVATE") {
			t.Errorf("go mod download of the private module without a private upstream: %v, want a failure showing gofailover's reason\n%s", err, out)
		}
		checkNoPrivate(t, "the public upstream", public.Requests())
		if got := private.Requests(); len(got) != 0 {
			t.Errorf("the private upstream, not configured, was asked: %q", got)
		}
	})
}

// TestGoCommandAfterChecksumDatabaseOutage: while the database cannot be
// reached, what was verified before still downloads and anything new fails
// with a reason naming the database; once it is back, downloads work
// again without restarting gofailover.
func TestGoCommandAfterChecksumDatabaseOutage(t *testing.T) {
	mods, db := fixtures(t)
	mirror := mirrortest.NewMirror(db, mods...)
	defer mirror.Close()
	url := startServer(t, t.TempDir(), db, []string{mirror.URL()})
	download := func(t *testing.T, versions ...string) (string, error) {
		t.Helper()
		return mirrortest.RunGo(t, mirrortest.GoEnv(t, url, db), t.TempDir(), append([]string{"mod", "download"}, versions...)...)
	}
	const util, lib = "example.com/util@v1.0.0", "example.com/lib@v1.1.0"
	if out, err := download(t, util); err != nil {
		t.Fatalf("before the outage: %v\n%s", err, out)
	}

	mirror.SetFault(mirrortest.Status(503).OnPrefix("/sumdb/"))
	t.Run("outage", func(t *testing.T) {
		if out, err := download(t, util); err != nil {
			t.Errorf("a module verified before the outage: %v\n%s", err, out)
		}
		out, err := download(t, lib)
		if err == nil {
			t.Fatalf("a new module downloaded while the database was unreachable:\n%s", out)
		}
		t.Logf("go mod download %s:\n%s", lib, out)
		if !strings.Contains(out, "502 Bad Gateway") || !strings.Contains(out, "checksum database") {
			t.Errorf("the go command's output does not show gofailover's 502 naming the checksum database:\n%s", out)
		}
		status, body := httpGet(t, url+"/example.com/app/@v/v1.0.0.zip")
		if status != http.StatusBadGateway || !strings.Contains(string(body), "checksum database") {
			t.Errorf("GET the app zip during the outage: %d %q, want 502 naming the checksum database", status, body)
		}
	})

	mirror.SetFault(mirrortest.Healthy())
	t.Run("after the outage", func(t *testing.T) {
		if out, err := download(t, lib, "example.com/app@v1.0.0"); err != nil {
			t.Fatalf("after the outage, without a restart: %v\n%s", err, out)
		}
		goDownloadAndGet(t, url, db, mods)
		checkServed(t, url, mods)
	})
}
