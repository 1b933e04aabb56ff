package mirrortest

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb/dirhash"
	"golang.org/x/mod/sumdb/note"
	modzip "golang.org/x/mod/zip"
)

const dbName = "sumdb.test"

// fixtures loads testdata/modules relative to this package.
func fixtures(t *testing.T) []*Module {
	t.Helper()
	mods, err := LoadModules(filepath.Join("..", "..", "testdata", "modules"))
	if err != nil {
		t.Fatal(err)
	}
	return mods
}

// setup returns the fixtures, a database knowing them and a mirror serving them.
func setup(t *testing.T) ([]*Module, *SumDB, *Mirror) {
	t.Helper()
	mods := fixtures(t)
	db, err := NewSumDB(dbName, mods)
	if err != nil {
		t.Fatal(err)
	}
	m := NewMirror(db, mods...)
	t.Cleanup(m.Close)
	return mods, db, m
}

type result struct {
	status int
	header http.Header
	body   []byte
	err    error // from the request or from reading the body
}

func do(t *testing.T, method, url string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return doCtx(t, ctx, method, url)
}

func doCtx(t *testing.T, ctx context.Context, method, url string) result {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return result{err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return result{status: resp.StatusCode, header: resp.Header, body: body, err: err}
}

func get(t *testing.T, url string) result { t.Helper(); return do(t, http.MethodGet, url) }

func TestLoadModules(t *testing.T) {
	mods := fixtures(t)
	var got []string
	for _, m := range mods {
		got = append(got, m.String())
	}
	want := []string{
		"example.com/Upper/Case@v1.0.0",
		"example.com/app@v1.0.0",
		"example.com/lib@v1.0.0",
		"example.com/lib@v1.1.0",
		"example.com/lib/v2@v2.0.0",
		"example.com/old@v3.0.0+incompatible",
		"example.com/pre@v1.2.0-rc.1",
		"example.com/util@v1.0.0",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("LoadModules = %q, want %q", got, want)
	}
	for _, m := range mods {
		var info struct{ Version, Time string }
		if err := json.Unmarshal(m.Info, &info); err != nil || info.Version != m.Version || info.Time != InfoTime {
			t.Errorf("%s: Info = %s (%v)", m, m.Info, err)
		}
		if !bytes.HasPrefix(m.Mod, []byte("module "+m.Path+"\n")) {
			t.Errorf("%s: Mod = %q", m, m.Mod)
		}
		zf := filepath.Join(t.TempDir(), "m.zip")
		if err := os.WriteFile(zf, m.Zip, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := modzip.CheckZip(module.Version{Path: m.Path, Version: m.Version}, zf); err != nil {
			t.Errorf("%s: CheckZip: %v", m, err)
		}
		// The in-memory hash must equal dirhash.HashZip on a file.
		want, err := dirhash.HashZip(zf, dirhash.Hash1)
		if err != nil {
			t.Fatal(err)
		}
		zipLine, _, err := SumLines(m)
		if err != nil || zipLine != m.Path+" "+m.Version+" "+want {
			t.Errorf("%s: SumLines zip = %q, %v; want hash %s", m, zipLine, err, want)
		}
	}
	old := Lookup(mods, "example.com/old", "v3.0.0+incompatible")
	if string(old.Mod) != "module example.com/old\n" {
		t.Errorf("old.Mod = %q", old.Mod)
	}
	zr, err := zip.NewReader(bytes.NewReader(old.Zip), int64(len(old.Zip)))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		if strings.HasSuffix(f.Name, "/go.mod") {
			t.Errorf("old zip contains %s", f.Name)
		}
	}
	app := Lookup(mods, "example.com/app", "v1.0.0")
	if !bytes.Contains(app.Mod, []byte("example.com/Upper/Case v1.0.0")) {
		t.Errorf("app.Mod = %q", app.Mod)
	}
	if Lookup(mods, "example.com/nope", "v1.0.0") != nil {
		t.Error("Lookup of unknown module returned non-nil")
	}
}

func TestFindTestdata(t *testing.T) {
	dir, err := FindTestdata()
	if err != nil {
		t.Fatal(err)
	}
	want, err := filepath.Abs(filepath.Join("..", "..", "testdata", "modules"))
	if err != nil {
		t.Fatal(err)
	}
	if dir != want {
		t.Errorf("FindTestdata = %s, want %s", dir, want)
	}
	if n := len(TestdataModules(t)); n != 8 {
		t.Errorf("TestdataModules: %d modules", n)
	}
}

func TestNewModule(t *testing.T) {
	m, err := NewModule("example.com/prog", "v0.1.0", map[string][]byte{
		"go.mod":  []byte("module example.com/prog\n\ngo 1.21\n"),
		"prog.go": []byte("package prog\n"),
	})
	if err != nil {
		t.Fatal(err)
	}
	if string(m.Mod) != "module example.com/prog\n\ngo 1.21\n" {
		t.Errorf("Mod = %q", m.Mod)
	}
	zr, err := zip.NewReader(bytes.NewReader(m.Zip), int64(len(m.Zip)))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	if want := []string{"example.com/prog@v0.1.0/go.mod", "example.com/prog@v0.1.0/prog.go"}; !slices.Equal(names, want) {
		t.Errorf("zip files = %q, want %q", names, want)
	}
	noMod, err := NewModule("example.com/nomod", "v2.0.0+incompatible", map[string][]byte{"a.go": []byte("package a\n")})
	if err != nil {
		t.Fatal(err)
	}
	if string(noMod.Mod) != "module example.com/nomod\n" {
		t.Errorf("Mod without go.mod = %q", noMod.Mod)
	}
	if _, err := NewModule("example.com/bad", "1.0", nil); err == nil {
		t.Error("NewModule accepted a non-semver version")
	}
}

func TestSyntheticModule(t *testing.T) {
	// Several 1 MiB data files. (Building is deflate-bound: about 30 ms per
	// MB normally, ten times that under -race; bigger sizes are for benchmarks.)
	const size = 5 << 19
	big, err := SyntheticModule("example.com/big", "v1.0.0", size)
	if err != nil {
		t.Fatal(err)
	}
	if d := len(big.Zip) - size; d < -size/200 || d > size/200 {
		t.Errorf("zip is %d bytes, want about %d", len(big.Zip), size)
	}
	zf := filepath.Join(t.TempDir(), "big.zip")
	if err := os.WriteFile(zf, big.Zip, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := modzip.CheckZip(module.Version{Path: big.Path, Version: big.Version}, zf); err != nil {
		t.Errorf("CheckZip: %v", err)
	}
	if !bytes.HasPrefix(big.Mod, []byte("module example.com/big\n")) {
		t.Errorf("Mod = %q", big.Mod)
	}

	const small = 200 << 10
	a, err := SyntheticModule("example.com/big", "v1.0.0", small)
	if err != nil {
		t.Fatal(err)
	}
	b, err := SyntheticModule("example.com/big", "v1.0.0", small)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Zip, b.Zip) {
		t.Error("SyntheticModule is not deterministic")
	}
	c, err := SyntheticModule("example.com/big", "v1.0.1", small)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a.Zip[small/2:small/2+64], c.Zip[small/2:small/2+64]) {
		t.Error("different versions have the same content")
	}
	tiny, err := SyntheticModule("example.com/tiny", "v1.0.0", 100)
	if err != nil || len(tiny.Zip) == 0 {
		t.Errorf("tiny synthetic module: %d bytes, %v", len(tiny.Zip), err)
	}
	if _, err := SyntheticModule("example.com/huge", "v1.0.0", modzip.MaxZipFile+1); err == nil {
		t.Error("SyntheticModule accepted a size above modzip.MaxZipFile")
	}
}

func TestSumDB(t *testing.T) {
	mods, db, m := setup(t)
	if v, err := note.NewVerifier(db.VerifierKey); err != nil || v.Name() != dbName {
		t.Fatalf("VerifierKey = %q: %v", db.VerifierKey, err)
	}
	app := Lookup(mods, "example.com/app", "v1.0.0")
	zipLine, modLine := db.GoSumLines(app)
	if !strings.HasPrefix(zipLine, "example.com/app v1.0.0 h1:") || !strings.HasPrefix(modLine, "example.com/app v1.0.0/go.mod h1:") {
		t.Fatalf("GoSumLines = %q, %q", zipLine, modLine)
	}

	// Served directly by the handler, at its root.
	rec := httptest.NewRecorder()
	db.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/latest", nil))
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Body.String(), "go.sum database tree\n0\n") {
		t.Fatalf("Handler /latest: %d %q", rec.Code, rec.Body)
	}

	// Served by the mirror under /sumdb/<name>/.
	r := get(t, m.URL()+"/sumdb/"+dbName+"/lookup/example.com/app@v1.0.0")
	if r.status != http.StatusOK || !bytes.Contains(r.body, []byte(zipLine+"\n"+modLine+"\n")) {
		t.Fatalf("lookup: %d %q", r.status, r.body)
	}
	r = get(t, m.URL()+"/sumdb/"+dbName+"/lookup/example.com/!upper/!case@v1.0.0")
	if zl, _ := db.GoSumLines(Lookup(mods, "example.com/Upper/Case", "v1.0.0")); r.status != http.StatusOK || !bytes.Contains(r.body, []byte(zl)) {
		t.Fatalf("lookup of escaped path: %d %q", r.status, r.body)
	}

	// Unknown modules are a not-found, not a server error.
	r = get(t, m.URL()+"/sumdb/"+dbName+"/lookup/example.com/unknown@v1.0.0")
	if r.status != http.StatusNotFound && r.status != http.StatusGone {
		t.Errorf("lookup of unknown module: %d %q", r.status, r.body)
	}

	// Modules can be added later.
	late, err := NewModule("example.com/late", "v1.0.0", map[string][]byte{"go.mod": []byte("module example.com/late\n")})
	if err != nil {
		t.Fatal(err)
	}
	db.Add(late)
	r = get(t, m.URL()+"/sumdb/"+dbName+"/lookup/example.com/late@v1.0.0")
	if zl, ml := db.GoSumLines(late); r.status != http.StatusOK || !bytes.Contains(r.body, []byte(zl+"\n"+ml+"\n")) {
		t.Errorf("lookup of late module: %d %q", r.status, r.body)
	}
	r = get(t, m.URL()+"/sumdb/"+dbName+"/latest")
	if r.status != http.StatusOK || !bytes.HasPrefix(r.body, []byte("go.sum database tree\n3\n")) {
		t.Errorf("latest: %d %q", r.status, r.body)
	}
	r = get(t, m.URL()+"/sumdb/"+dbName+"/tile/8/0/000.p/3")
	if r.status != http.StatusOK || len(r.body) != 3*32 {
		t.Errorf("tile: %d, %d bytes", r.status, len(r.body))
	}
}

func TestMirrorEndpoints(t *testing.T) {
	mods, _, m := setup(t)
	pseudo, err := NewModule("example.com/lib", "v1.1.1-0.20240102030405-abcdefabcdef", map[string][]byte{"lib.go": []byte("package lib\n")})
	if err != nil {
		t.Fatal(err)
	}
	m.Add(pseudo)
	lib11 := Lookup(mods, "example.com/lib", "v1.1.0")
	upper := Lookup(mods, "example.com/Upper/Case", "v1.0.0")
	old := Lookup(mods, "example.com/old", "v3.0.0+incompatible")

	tests := []struct {
		path   string
		status int
		ctype  string
		body   []byte // nil: don't check
	}{
		{"/example.com/lib/@v/list", 200, "text/plain; charset=utf-8", []byte("v1.0.0\nv1.1.0\n")},
		{"/example.com/lib/@latest", 200, "application/json", lib11.Info},
		{"/example.com/lib/@v/v1.1.0.info", 200, "application/json", lib11.Info},
		{"/example.com/lib/@v/v1.1.0.mod", 200, "text/plain; charset=utf-8", lib11.Mod},
		{"/example.com/lib/@v/v1.1.0.zip", 200, "application/zip", lib11.Zip},
		{"/example.com/lib/@v/v1.1.1-0.20240102030405-abcdefabcdef.info", 200, "application/json", pseudo.Info},
		{"/example.com/lib/v2/@v/list", 200, "text/plain; charset=utf-8", []byte("v2.0.0\n")},
		{"/example.com/!upper/!case/@v/list", 200, "text/plain; charset=utf-8", []byte("v1.0.0\n")},
		{"/example.com/!upper/!case/@v/v1.0.0.zip", 200, "application/zip", upper.Zip},
		{"/example.com/!upper/!case/@latest", 200, "application/json", upper.Info},
		{"/example.com/old/@v/v3.0.0+incompatible.mod", 200, "text/plain; charset=utf-8", []byte("module example.com/old\n")},
		{"/example.com/old/@v/v3.0.0+incompatible.zip", 200, "application/zip", old.Zip},
		{"/example.com/old/@latest", 200, "application/json", old.Info},
		{"/example.com/pre/@v/list", 200, "text/plain; charset=utf-8", []byte("v1.2.0-rc.1\n")},
		{"/example.com/pre/@latest", 404, "text/plain; charset=utf-8", nil},
		{"/example.com/Upper/Case/@v/list", 404, "text/plain; charset=utf-8", nil}, // unescaped capitals are invalid
		{"/example.com/lib/@v/v9.9.9.info", 404, "text/plain; charset=utf-8", nil},
		{"/example.com/lib/@v/v1.1.0.txt", 404, "text/plain; charset=utf-8", nil},
		{"/example.com/unknown/@v/list", 404, "text/plain; charset=utf-8", nil},
		{"/", 404, "text/plain; charset=utf-8", nil},
		{"/sumdb/" + dbName + "/supported", 200, "text/plain; charset=utf-8", []byte{}},
		{"/sumdb/other.test/supported", 404, "text/plain; charset=utf-8", nil},
	}
	for _, tt := range tests {
		r := get(t, m.URL()+tt.path)
		if r.err != nil {
			t.Errorf("GET %s: %v", tt.path, r.err)
			continue
		}
		if r.status != tt.status || r.header.Get("Content-Type") != tt.ctype {
			t.Errorf("GET %s: %d %q, want %d %q", tt.path, r.status, r.header.Get("Content-Type"), tt.status, tt.ctype)
		}
		if tt.body != nil && !bytes.Equal(r.body, tt.body) {
			t.Errorf("GET %s: body %.100q, want %.100q", tt.path, r.body, tt.body)
		}
		if tt.status == 404 && !bytes.HasPrefix(r.body, []byte("not found: ")) {
			t.Errorf("GET %s: 404 body %q", tt.path, r.body)
		}
		if cl := r.header.Get("Content-Length"); cl == "" && len(r.body) > 0 {
			t.Errorf("GET %s: no Content-Length", tt.path)
		}
	}

	// HEAD answers the same headers without a body.
	r := do(t, http.MethodHead, m.URL()+"/example.com/lib/@v/v1.1.0.zip")
	if r.status != 200 || len(r.body) != 0 || r.header.Get("Content-Length") != strconv.Itoa(len(lib11.Zip)) {
		t.Errorf("HEAD zip: %d, %d bytes, Content-Length %q", r.status, len(r.body), r.header.Get("Content-Length"))
	}
	if r := do(t, http.MethodPost, m.URL()+"/example.com/lib/@v/list"); r.status != http.StatusMethodNotAllowed {
		t.Errorf("POST: %d", r.status)
	}

	// Percent-encoded requests (as the go command sends "!") are the same path.
	if r := get(t, m.URL()+"/example.com/%21upper/%21case/@v/list"); r.status != 200 || string(r.body) != "v1.0.0\n" {
		t.Errorf("GET with %%21: %d %q", r.status, r.body)
	}
	if n := m.Count("/example.com/!upper/!case/@v/list"); n != 2 {
		t.Errorf("Count(!upper list) = %d, want 2", n)
	}

	// Request log.
	reqs := m.Requests()
	if len(reqs) != len(tests)+3 || reqs[0] != tests[0].path || reqs[7] != "/example.com/!upper/!case/@v/list" {
		t.Errorf("Requests = %q", reqs)
	}
	if n := m.Count("/example.com/lib/@v/v1.1.0.zip"); n != 2 {
		t.Errorf("Count(zip) = %d, want 2", n)
	}
	m.ResetRequests()
	if n := len(m.Requests()); n != 0 {
		t.Errorf("after ResetRequests: %d requests", n)
	}
}

func TestFaults(t *testing.T) {
	mods, _, m := setup(t)
	lib11 := Lookup(mods, "example.com/lib", "v1.1.0")
	zipURL := m.URL() + "/example.com/lib/@v/v1.1.0.zip"
	infoURL := m.URL() + "/example.com/lib/@v/v1.1.0.info"

	t.Run("Status", func(t *testing.T) {
		for _, code := range []int{403, 500, 503} {
			m.SetFault(Status(code))
			for _, u := range []string{zipURL, m.URL() + "/sumdb/" + dbName + "/supported", m.URL() + "/nothing"} {
				if r := get(t, u); r.status != code {
					t.Errorf("Status(%d): %s answered %d", code, u, r.status)
				}
			}
		}
	})
	t.Run("RateLimited", func(t *testing.T) {
		m.SetFault(RateLimited(1500 * time.Millisecond))
		r := get(t, infoURL)
		if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") != "2" {
			t.Errorf("RateLimited: %d, Retry-After %q", r.status, r.header.Get("Retry-After"))
		}
	})
	t.Run("Slow", func(t *testing.T) {
		m.SetFault(Slow(200 * time.Millisecond))
		start := time.Now()
		r := get(t, infoURL)
		if d := time.Since(start); d < 200*time.Millisecond || r.status != 200 || !bytes.Equal(r.body, lib11.Info) {
			t.Errorf("Slow: %d %q after %v", r.status, r.body, d)
		}
		m.SetFault(Slow(time.Hour))
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		if r := doCtx(t, ctx, http.MethodGet, infoURL); !errors.Is(r.err, context.DeadlineExceeded) {
			t.Errorf("Slow(1h) with a 100ms client: %v", r.err)
		}
	})
	t.Run("Blackhole", func(t *testing.T) {
		m.SetFault(Blackhole())
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		start := time.Now()
		r := doCtx(t, ctx, http.MethodGet, infoURL)
		if !errors.Is(r.err, context.DeadlineExceeded) || time.Since(start) < 200*time.Millisecond {
			t.Errorf("Blackhole: %v after %v", r.err, time.Since(start))
		}
	})
	t.Run("ResetMidBody", func(t *testing.T) {
		m.SetFault(ResetMidBody())
		r := get(t, zipURL)
		if r.status != 200 || r.header.Get("Content-Length") != strconv.Itoa(len(lib11.Zip)) {
			t.Errorf("ResetMidBody: status %d, Content-Length %q", r.status, r.header.Get("Content-Length"))
		}
		if r.err == nil || len(r.body) >= len(lib11.Zip) {
			t.Errorf("ResetMidBody: read %d of %d bytes, err %v", len(r.body), len(lib11.Zip), r.err)
		}
		t.Logf("ResetMidBody: read %d of %d bytes, then %v", len(r.body), len(lib11.Zip), r.err)
	})
	t.Run("Truncate", func(t *testing.T) {
		m.SetFault(Truncate())
		r := get(t, zipURL)
		if r.err != nil || r.status != 200 || !bytes.Equal(r.body, lib11.Zip[:len(lib11.Zip)/2]) {
			t.Errorf("Truncate: %d, %d bytes, %v", r.status, len(r.body), r.err)
		}
	})
	t.Run("CorruptZip", func(t *testing.T) {
		m.SetFault(CorruptZip())
		r := get(t, zipURL)
		if r.status != 200 || len(r.body) != len(lib11.Zip) || bytes.Equal(r.body, lib11.Zip) {
			t.Errorf("CorruptZip: %d, %d bytes, equal %v", r.status, len(r.body), bytes.Equal(r.body, lib11.Zip))
		}
		if r := get(t, infoURL); !bytes.Equal(r.body, lib11.Info) {
			t.Errorf("CorruptZip changed .info: %q", r.body)
		}
		if !bytes.Equal(lib11.Zip, Lookup(fixtures(t), lib11.Path, lib11.Version).Zip) {
			t.Error("CorruptZip modified the module itself")
		}
	})
	t.Run("Tamper", func(t *testing.T) {
		m.SetFault(Tamper())
		r := get(t, zipURL)
		if r.status != 200 || bytes.Equal(r.body, lib11.Zip) {
			t.Fatalf("Tamper: %d, zip unchanged: %v", r.status, bytes.Equal(r.body, lib11.Zip))
		}
		zf := filepath.Join(t.TempDir(), "t.zip")
		if err := os.WriteFile(zf, r.body, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := modzip.CheckZip(module.Version{Path: lib11.Path, Version: lib11.Version}, zf); err != nil {
			t.Errorf("tampered zip is not well-formed: %v", err)
		}
		tampered := *lib11
		tampered.Zip = r.body
		want, _, _ := SumLines(lib11)
		if got, _, err := SumLines(&tampered); err != nil || got == want {
			t.Errorf("tampered zip hashes as %q (%v), original %q", got, err, want)
		}
		if r := get(t, m.URL()+"/example.com/lib/@v/v1.1.0.mod"); !bytes.HasPrefix(r.body, lib11.Mod) || len(r.body) == len(lib11.Mod) {
			t.Errorf("Tamper .mod = %q", r.body)
		}
		if r := get(t, infoURL); !bytes.Equal(r.body, lib11.Info) {
			t.Errorf("Tamper changed .info: %q", r.body)
		}
	})
	t.Run("StaleList", func(t *testing.T) {
		m.SetFault(StaleList())
		if r := get(t, m.URL()+"/example.com/lib/@v/list"); string(r.body) != "v1.0.0\n" {
			t.Errorf("StaleList list = %q", r.body)
		}
		lib10 := Lookup(mods, "example.com/lib", "v1.0.0")
		if r := get(t, m.URL()+"/example.com/lib/@latest"); !bytes.Equal(r.body, lib10.Info) {
			t.Errorf("StaleList @latest = %q", r.body)
		}
		if r := get(t, zipURL); !bytes.Equal(r.body, lib11.Zip) {
			t.Error("StaleList changed the zip")
		}
	})
	t.Run("OnSuffixAndTimes", func(t *testing.T) {
		m.SetFault(Status(503).OnSuffix(".zip").Times(2))
		if r := get(t, infoURL); r.status != 200 {
			t.Errorf(".info under a .zip fault: %d", r.status)
		}
		for i, want := range []int{503, 503, 200} {
			if r := get(t, zipURL); r.status != want {
				t.Errorf("zip request %d: %d, want %d", i, r.status, want)
			}
		}
		m.SetFaults(CorruptZip().OnSuffix(".zip"), Status(500))
		if r := get(t, zipURL); r.status != 200 || bytes.Equal(r.body, lib11.Zip) {
			t.Errorf("SetFaults: zip %d", r.status)
		}
		if r := get(t, infoURL); r.status != 500 {
			t.Errorf("SetFaults: info %d", r.status)
		}
		m.SetFault(Healthy())
		if r := get(t, zipURL); r.status != 200 || !bytes.Equal(r.body, lib11.Zip) {
			t.Errorf("Healthy: zip %d", r.status)
		}
	})
	if s := Status(503).OnSuffix(".zip").Times(2).String(); s != "Status(503) on .zip x2" {
		t.Errorf("Fault.String = %q", s)
	}
}

func TestCloseEndsBlackholeAndRefuses(t *testing.T) {
	mods := fixtures(t)
	m := NewMirror(nil, mods...)
	m.SetFault(Blackhole())
	url := m.URL() + "/example.com/lib/@v/list"
	errc := make(chan error, 1)
	go func() {
		// No client deadline: only Close can end this request.
		r := doCtx(t, context.Background(), http.MethodGet, url)
		errc <- r.err
	}()
	deadline := time.Now().Add(5 * time.Second)
	for m.Count("/example.com/lib/@v/list") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("blackholed request never arrived")
		}
		time.Sleep(5 * time.Millisecond)
	}
	closed := make(chan struct{})
	go func() { m.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return: blackholed handler leaked")
	}
	select {
	case err := <-errc:
		if err == nil {
			t.Error("blackholed request succeeded after Close")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("blackholed client still waiting after Close")
	}
	if r := get(t, url); r.err == nil {
		t.Errorf("closed mirror answered %d", r.status)
	}
	m.Close() // idempotent
}
