package mirrortest

import (
	"archive/zip"
	"bytes"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
	modzip "golang.org/x/mod/zip"
)

// zipFiles returns the names and contents of the files in a zip.
func zipFiles(t *testing.T, data []byte) map[string][]byte {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("zip does not open: %v", err)
	}
	out := make(map[string][]byte)
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		b, err := io.ReadAll(rc) // checks the CRC
		rc.Close()
		if err != nil {
			t.Fatalf("%s: %v", f.Name, err)
		}
		out[f.Name] = b
	}
	return out
}

func TestFlipContentChangesOneByteOfOneFile(t *testing.T) {
	mods, _, m := setup(t)
	m.SetFault(FlipContent())
	for _, mod := range mods {
		base := m.URL() + "/" + mustEscape(t, mod.Path) + "/@v/" + mod.Version
		r := get(t, base+".zip")
		if r.status != http.StatusOK || r.err != nil {
			t.Fatalf("%s: %d %v", mod, r.status, r.err)
		}
		zf := filepath.Join(t.TempDir(), "z.zip")
		if err := os.WriteFile(zf, r.body, 0o644); err != nil {
			t.Fatal(err)
		}
		cf, err := modzip.CheckZip(module.Version{Path: mod.Path, Version: mod.Version}, zf)
		if err == nil {
			err = cf.Err()
		}
		if err != nil {
			t.Errorf("%s: flipped zip is not a well-formed module zip: %v", mod, err)
		}
		got, want := zipFiles(t, r.body), zipFiles(t, mod.Zip)
		if len(got) != len(want) {
			t.Errorf("%s: %d files, want %d", mod, len(got), len(want))
		}
		changed := 0
		for name, w := range want {
			g, ok := got[name]
			switch {
			case !ok:
				t.Errorf("%s: %s missing", mod, name)
			case len(g) != len(w):
				t.Errorf("%s: %s is %d bytes, want %d", mod, name, len(g), len(w))
			default:
				diff := 0
				for i := range g {
					if g[i] != w[i] {
						diff++
					}
				}
				if diff > 0 {
					changed++
				}
				if diff > 1 {
					t.Errorf("%s: %s has %d bytes changed", mod, name, diff)
				}
			}
		}
		if changed != 1 {
			t.Errorf("%s: %d files changed, want 1", mod, changed)
		}
		flipped := *mod
		flipped.Zip = r.body
		wantLine, _, _ := SumLines(mod)
		if gotLine, _, err := SumLines(&flipped); err != nil || gotLine == wantLine {
			t.Errorf("%s: flipped zip hashes as %q (%v), original %q", mod, gotLine, err, wantLine)
		}
		if r := get(t, base+".mod"); !bytes.Equal(r.body, mod.Mod) {
			t.Errorf("%s: FlipContent changed the .mod", mod)
		}
	}
}

func mustEscape(t *testing.T, path string) string {
	t.Helper()
	e, err := module.EscapePath(path)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestOnPrefix(t *testing.T) {
	_, _, m := setup(t)
	m.SetFault(Status(503).OnPrefix("/sumdb/"))
	for _, p := range []string{"/sumdb/" + dbName + "/supported", "/sumdb/" + dbName + "/lookup/example.com/lib@v1.1.0", "/sumdb/" + dbName + "/latest"} {
		if r := get(t, m.URL()+p); r.status != http.StatusServiceUnavailable {
			t.Errorf("%s under a /sumdb/ fault: %d", p, r.status)
		}
	}
	if r := get(t, m.URL()+"/example.com/lib/@v/v1.1.0.mod"); r.status != http.StatusOK {
		t.Errorf(".mod under a /sumdb/ fault: %d", r.status)
	}
	m.SetFault(Status(500).OnPrefix("/sumdb/").OnSuffix("/latest"))
	if r := get(t, m.URL()+"/sumdb/"+dbName+"/latest"); r.status != http.StatusInternalServerError {
		t.Errorf("/latest under prefix and suffix: %d", r.status)
	}
	if r := get(t, m.URL()+"/sumdb/"+dbName+"/supported"); r.status != http.StatusOK {
		t.Errorf("/supported under prefix and another suffix: %d", r.status)
	}
	if s := Status(503).OnPrefix("/sumdb/").Times(1).String(); s != "Status(503) under /sumdb/ x1" {
		t.Errorf("String = %q", s)
	}
}

func TestTampered(t *testing.T) {
	lib := Lookup(fixtures(t), "example.com/lib", "v1.1.0")
	bad, err := Tampered(lib)
	if err != nil {
		t.Fatal(err)
	}
	if bad.Path != lib.Path || bad.Version != lib.Version || !bytes.Equal(bad.Info, lib.Info) {
		t.Errorf("Tampered changed the identity: %s %s", bad, bad.Info)
	}
	z1, m1, _ := SumLines(lib)
	z2, m2, err := SumLines(bad)
	if err != nil || z1 == z2 || m1 == m2 {
		t.Errorf("tampered hashes %q %q (%v) vs original %q %q", z2, m2, err, z1, m1)
	}
	if !bytes.HasPrefix(bad.Mod, lib.Mod) || bytes.Equal(bad.Mod, lib.Mod) {
		t.Errorf("tampered go.mod %q", bad.Mod)
	}
	if _, ok := zipFiles(t, bad.Zip)["example.com/lib@v1.1.0/mirrortest-tampered.txt"]; !ok {
		t.Error("tampered zip lacks the extra file")
	}
}

// memOps is an in-memory sumdb.ClientOps reading one handler.
type memOps struct {
	key    string
	remote http.Handler

	mu       sync.Mutex
	config   map[string][]byte
	cache    map[string][]byte
	security string
}

func (o *memOps) ReadRemote(path string) ([]byte, error) {
	req, _ := http.NewRequest(http.MethodGet, path, nil)
	rec := newRecorder()
	o.remote.ServeHTTP(rec, req)
	if rec.code != http.StatusOK {
		return nil, errors.New(path + ": " + http.StatusText(rec.code))
	}
	return rec.body.Bytes(), nil
}

func (o *memOps) ReadConfig(file string) ([]byte, error) {
	if file == "key" {
		return []byte(o.key), nil
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.config[file], nil
}

func (o *memOps) WriteConfig(file string, old, new []byte) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !bytes.Equal(o.config[file], old) {
		return sumdb.ErrWriteConflict
	}
	o.config[file] = new
	return nil
}

func (o *memOps) ReadCache(file string) ([]byte, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if b, ok := o.cache[file]; ok {
		return b, nil
	}
	return nil, errors.New("not cached")
}

func (o *memOps) WriteCache(file string, data []byte) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.cache[file] = data
}

func (o *memOps) Log(string) {}

func (o *memOps) SecurityError(msg string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.security = msg
}

// recorder is a minimal http.ResponseWriter.
type recorder struct {
	code   int
	header http.Header
	body   bytes.Buffer
}

func newRecorder() *recorder                    { return &recorder{code: http.StatusOK, header: make(http.Header)} }
func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(p []byte) (int, error) { return r.body.Write(p) }
func (r *recorder) WriteHeader(code int)        { r.code = code }

// signedTree returns the tree a database's /latest announces, checked
// against key.
func signedTree(t *testing.T, h http.Handler, key string) tlog.Tree {
	t.Helper()
	rec := newRecorder()
	req, _ := http.NewRequest(http.MethodGet, "/latest", nil)
	h.ServeHTTP(rec, req)
	v, err := note.NewVerifier(key)
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open(rec.body.Bytes(), note.VerifierList(v))
	if err != nil {
		t.Fatalf("/latest does not verify with the key: %v", err)
	}
	tree, err := tlog.ParseTree([]byte(n.Text))
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

func TestForkIsSignedWithTheSameKeyAndDetected(t *testing.T) {
	mods, db, m := setup(t)
	if err := PrimeLookups(m.URL(), db, mods); err != nil {
		t.Fatal(err)
	}
	lib := Lookup(mods, "example.com/lib", "v1.1.0")
	util := Lookup(mods, "example.com/util", "v1.0.0")
	bad, err := Tampered(lib)
	if err != nil {
		t.Fatal(err)
	}
	fork := db.Fork(bad)
	if fork.Name != db.Name || fork.VerifierKey != db.VerifierKey {
		t.Fatalf("fork is %s %s, want the same name and key", fork.Name, fork.VerifierKey)
	}

	// The same size, signed with the same key, a different tree.
	real, forked := signedTree(t, db.Handler(), db.VerifierKey), signedTree(t, fork.Handler(), db.VerifierKey)
	if real.N != int64(len(mods)) || forked.N != real.N || forked.Hash == real.Hash {
		t.Errorf("real tree %d %v, fork %d %v: want the same size and different hashes", real.N, real.Hash, forked.N, forked.Hash)
	}
	if z, mo := fork.GoSumLines(lib); z == "" || mo == "" {
		t.Error("fork lacks lib")
	} else if wz, wm, _ := SumLines(bad); z != wz || mo != wm {
		t.Errorf("fork's lines for lib are %q %q, want the tampered module's %q %q", z, mo, wz, wm)
	}
	if z, _ := fork.GoSumLines(util); z != func() string { z, _ := db.GoSumLines(util); return z }() {
		t.Errorf("fork changed util's line: %q", z)
	}
	// The original database is unchanged.
	if z, _ := db.GoSumLines(lib); strings.Contains(z, func() string { z, _, _ := SumLines(bad); return z }()) {
		t.Error("Fork changed the original database")
	}

	// A client that knows the real tree finds the fork inconsistent.
	ops := &memOps{key: db.VerifierKey, remote: db.Handler(), config: map[string][]byte{}, cache: map[string][]byte{}}
	if _, err := sumdb.NewClient(ops).Lookup(util.Path, util.Version); err != nil {
		t.Fatalf("lookup in the real database: %v", err)
	}
	ops.remote = fork.Handler() // the verified tree head and tiles are kept
	lines, err := sumdb.NewClient(ops).Lookup(lib.Path, lib.Version)
	if err == nil || ops.security == "" {
		t.Errorf("lookup in the fork after the real database: %q, %v, security error %q; want a security error", lines, err, ops.security)
	}

	// A client that never saw the real tree accepts the fork: it is signed
	// with the database's key.
	fresh := &memOps{key: db.VerifierKey, remote: fork.Handler(), config: map[string][]byte{}, cache: map[string][]byte{}}
	lines, err = sumdb.NewClient(fresh).Lookup(lib.Path, lib.Version)
	if z, _, _ := SumLines(bad); err != nil || len(lines) == 0 || lines[0] != z {
		t.Errorf("fresh client's lookup in the fork: %q, %v; want the tampered line %q", lines, err, z)
	}
}
