package mirrortest

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"strings"
	"sync"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb"
	"golang.org/x/mod/sumdb/dirhash"
	"golang.org/x/mod/sumdb/note"
)

// SumDB is a hermetic checksum database knowing the go.sum lines of the
// modules added to it. It is built from golang.org/x/mod/sumdb's TestServer
// and Server, signing its tree with a key generated at construction.
//
// Records enter the database's tree the first time they are looked up, as
// with the public database; once a module version has been looked up, adding
// a different module under the same path@version has no effect on it.
type SumDB struct {
	// Name is the database's name, e.g. "sumdb.test". Choose one that cannot
	// be a real host name.
	Name string
	// VerifierKey is the database's verifier key in the "name+hash+key" form
	// the go command expects in GOSUMDB.
	VerifierKey string

	handler http.Handler
	// signer is the private signing key, kept for Fork.
	signer string

	mu    sync.Mutex
	lines map[string][]byte // "path@version" -> the two go.sum lines
	// tree holds "path@version" of each record in the tree, by record id.
	tree []string
}

// NewSumDB returns a database named name that knows the go.sum lines of
// modules.
func NewSumDB(name string, modules []*Module) (*SumDB, error) {
	skey, vkey, err := note.GenerateKey(rand.Reader, name)
	if err != nil {
		return nil, fmt.Errorf("mirrortest: generating key for checksum database %q: %w", name, err)
	}
	db := &SumDB{Name: name, VerifierKey: vkey, signer: skey, lines: make(map[string][]byte)}
	for _, m := range modules {
		if err := db.add(m); err != nil {
			return nil, err
		}
	}
	db.handler = sumdb.NewServer(&treeOps{TestServer: sumdb.NewTestServer(skey, db.gosum), db: db})
	return db, nil
}

// treeOps is the TestServer, recording which record got which id, so that
// Fork can replay the tree's order.
type treeOps struct {
	*sumdb.TestServer
	db *SumDB
}

// Lookup looks m up, adding its record to the tree the first time.
func (o *treeOps) Lookup(ctx context.Context, m module.Version) (int64, error) {
	id, err := o.TestServer.Lookup(ctx, m)
	if err != nil {
		return id, err
	}
	o.db.mu.Lock()
	defer o.db.mu.Unlock()
	for int64(len(o.db.tree)) <= id {
		o.db.tree = append(o.db.tree, "")
	}
	o.db.tree[id] = m.String()
	return id, nil
}

// Fork returns a second database with the same name and signing key as db,
// whose go.sum lines for the given modules are theirs (typically modules
// built by Tampered) instead of db's: what a compromised mirror would serve
// to make its altered modules verify. Its tree is built at once with the
// records of db's tree, in the same order, with the forked modules' lines
// in place of db's; later lookups add records to each tree separately.
//
// A client that has verified db's tree sees the fork's tree as inconsistent
// with it as soon as a forked record lies within the part of the tree it
// knows: look the forked modules up in db first (PrimeLookups). A fork that
// only appends to the tree a client knows cannot be told from the real
// database by that client.
//
// It panics if a module's zip cannot be read; use modules built by this
// package.
func (db *SumDB) Fork(modules ...*Module) *SumDB {
	db.mu.Lock()
	fork := &SumDB{Name: db.Name, VerifierKey: db.VerifierKey, signer: db.signer, lines: make(map[string][]byte, len(db.lines))}
	for k, v := range db.lines {
		fork.lines[k] = v
	}
	tree := append([]string(nil), db.tree...)
	db.mu.Unlock()
	for _, m := range modules {
		fork.Add(m)
	}
	ops := &treeOps{TestServer: sumdb.NewTestServer(fork.signer, fork.gosum), db: fork}
	for _, mv := range tree {
		path, version, _ := strings.Cut(mv, "@")
		if _, err := ops.Lookup(context.Background(), module.Version{Path: path, Version: version}); err != nil {
			panic(fmt.Sprintf("mirrortest: forking checksum database %q: replaying %s: %v", db.Name, mv, err))
		}
	}
	fork.handler = sumdb.NewServer(ops)
	return fork
}

// Tampered returns a copy of m altered as a compromised mirror might alter
// it (the same changes as the Tamper fault): its zip has one more file,
// <module>@<version>/mirrortest-tampered.txt, and its go.mod one more
// comment line. Both are well-formed; only their hashes differ from m's.
func Tampered(m *Module) (*Module, error) {
	z, err := tamperZip(m.Zip)
	if err != nil {
		return nil, fmt.Errorf("mirrortest: tampering with %s: %w", m, err)
	}
	mod := append(bytes.Clone(m.Mod), "// tampered by mirrortest\n"...)
	return &Module{Path: m.Path, Version: m.Version, Info: bytes.Clone(m.Info), Mod: mod, Zip: z}, nil
}

// gosum answers the TestServer's lookups. An unknown module version is
// reported as a *fs.PathError wrapping fs.ErrNotExist, which sumdb.Server
// (via os.IsNotExist, which does not follow %w chains) answers with 404.
func (db *SumDB) gosum(path, version string) ([]byte, error) {
	db.mu.Lock()
	defer db.mu.Unlock()
	data, ok := db.lines[path+"@"+version]
	if !ok {
		return nil, &fs.PathError{Op: "lookup", Path: path + "@" + version, Err: fs.ErrNotExist}
	}
	return data, nil
}

// Add makes m known to the database. It panics if m's zip cannot be read;
// use a module built by this package.
func (db *SumDB) Add(m *Module) {
	if err := db.add(m); err != nil {
		panic(err)
	}
}

func (db *SumDB) add(m *Module) error {
	zipLine, modLine, err := SumLines(m)
	if err != nil {
		return err
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	db.lines[m.String()] = []byte(zipLine + "\n" + modLine + "\n")
	return nil
}

// Handler returns the handler serving the database's own paths (/latest,
// /lookup/..., /tile/...) at its root. Unknown module versions get 404.
func (db *SumDB) Handler() http.Handler { return db.handler }

// GoSumLines returns the go.sum lines for m: "<path> <version> h1:..." for
// the zip and "<path> <version>/go.mod h1:..." for the go.mod. If the
// database knows m's path@version, they are the lines it serves; otherwise
// they are computed from m, and are empty if m's zip cannot be read.
func (db *SumDB) GoSumLines(m *Module) (zipLine, modLine string) {
	db.mu.Lock()
	data, ok := db.lines[m.String()]
	db.mu.Unlock()
	if ok {
		zipLine, rest, _ := bytes.Cut(data, []byte("\n"))
		modLine, _, _ := bytes.Cut(rest, []byte("\n"))
		return string(zipLine), string(modLine)
	}
	zipLine, modLine, err := SumLines(m)
	if err != nil {
		return "", ""
	}
	return zipLine, modLine
}

// SumLines computes the go.sum lines of m (see SumDB.GoSumLines): the h1
// hash of its zip as dirhash.HashZip computes it, and dirhash.Hash1 over a
// single file "go.mod" holding m.Mod, as the go command hashes a .mod answer.
func SumLines(m *Module) (zipLine, modLine string, err error) {
	zipHash, err := hashZip(m.Zip)
	if err != nil {
		return "", "", fmt.Errorf("mirrortest: hashing zip of %s: %w", m, err)
	}
	modHash, err := dirhash.Hash1([]string{"go.mod"}, func(string) (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(m.Mod)), nil
	})
	if err != nil {
		return "", "", fmt.Errorf("mirrortest: hashing go.mod of %s: %w", m, err)
	}
	return m.Path + " " + m.Version + " " + zipHash, m.Path + " " + m.Version + "/go.mod " + modHash, nil
}

// hashZip is dirhash.HashZip(file, dirhash.Hash1) over an in-memory zip:
// the same file names and contents, hence the same hash, without a temporary
// file.
func hashZip(data []byte) (string, error) {
	z, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return "", err
	}
	var names []string
	files := make(map[string]*zip.File)
	for _, f := range z.File {
		names = append(names, f.Name)
		files[f.Name] = f
	}
	return dirhash.Hash1(names, func(name string) (io.ReadCloser, error) {
		f := files[name]
		if f == nil {
			return nil, fmt.Errorf("file %q not found in zip", name)
		}
		return f.Open()
	})
}
