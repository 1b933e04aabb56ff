package mirrortest

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
	modzip "golang.org/x/mod/zip"
)

// InfoTime is the fixed time (RFC 3339) reported in every .info answer built
// by this package, so that answers are byte-for-byte reproducible.
const InfoTime = "2024-01-02T03:04:05Z"

// Module is one module version ready to serve.
type Module struct {
	// Path is the module path, e.g. "example.com/lib/v2" (unescaped).
	Path string
	// Version is the canonical semantic version, e.g. "v1.1.0".
	Version string
	// Info is the .info answer: JSON {"Version":..,"Time":..} with InfoTime.
	Info []byte
	// Mod is the go.mod contents as served by a proxy. For a version without
	// a go.mod file (such as a +incompatible one) it is "module <path>\n".
	Mod []byte
	// Zip is the module zip, built with golang.org/x/mod/zip.
	Zip []byte
}

// String returns "path@version".
func (m *Module) String() string { return m.Path + "@" + m.Version }

// Lookup returns the module in mods with the given path and version, or nil.
func Lookup(mods []*Module, path, version string) *Module {
	for _, m := range mods {
		if m.Path == path && m.Version == version {
			return m
		}
	}
	return nil
}

// infoJSON returns the .info answer for version.
func infoJSON(version string) []byte {
	b, err := json.Marshal(struct {
		Version string
		Time    string
	}{version, InfoTime})
	if err != nil {
		// Marshalling two strings cannot fail.
		panic(err)
	}
	return b
}

// checkVersion verifies that path@version names a servable module version.
func checkVersion(path, version string) error {
	if err := module.Check(path, version); err != nil {
		return fmt.Errorf("mirrortest: invalid module version %s@%s: %w", path, version, err)
	}
	if semver.Canonical(version) != version && !strings.HasSuffix(version, "+incompatible") {
		return fmt.Errorf("mirrortest: version %q of %s is not canonical", version, path)
	}
	return nil
}

// LoadModules walks dir for directories named "<last path element>@<version>"
// and returns one Module per such directory, sorted by path then version.
// The module path is the directory's path relative to dir up to the '@'
// (so dir/example.com/lib@v1.1.0 is example.com/lib v1.1.0). The zip is built
// from the directory tree; Mod is its go.mod file, or "module <path>\n" when
// it has none.
func LoadModules(dir string) ([]*Module, error) {
	var mods []*Module
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() || !strings.Contains(d.Name(), "@") {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		modPath, version, _ := strings.Cut(filepath.ToSlash(rel), "@")
		m, err := loadModuleDir(p, modPath, version)
		if err != nil {
			return err
		}
		mods = append(mods, m)
		return filepath.SkipDir
	})
	if err != nil {
		return nil, fmt.Errorf("mirrortest: loading modules from %s: %w", dir, err)
	}
	sortModules(mods)
	return mods, nil
}

// sortModules orders mods by path, then by semantic version.
func sortModules(mods []*Module) {
	sort.Slice(mods, func(i, j int) bool {
		if mods[i].Path != mods[j].Path {
			return mods[i].Path < mods[j].Path
		}
		return semver.Compare(mods[i].Version, mods[j].Version) < 0
	})
}

// loadModuleDir builds the Module for path@version from the tree in dir.
func loadModuleDir(dir, path, version string) (*Module, error) {
	if err := checkVersion(path, version); err != nil {
		return nil, err
	}
	mod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if errors.Is(err, fs.ErrNotExist) {
		mod = []byte("module " + path + "\n")
	} else if err != nil {
		return nil, fmt.Errorf("mirrortest: reading go.mod of %s@%s: %w", path, version, err)
	}
	var zip bytes.Buffer
	if err := modzip.CreateFromDir(&zip, module.Version{Path: path, Version: version}, dir); err != nil {
		return nil, fmt.Errorf("mirrortest: zipping %s@%s: %w", path, version, err)
	}
	return &Module{Path: path, Version: version, Info: infoJSON(version), Mod: mod, Zip: zip.Bytes()}, nil
}

// NewModule builds a module version from files, keyed by slash-separated
// paths relative to the module root. Mod is files["go.mod"] when present,
// otherwise "module <path>\n".
func NewModule(path, version string, files map[string][]byte) (*Module, error) {
	if err := checkVersion(path, version); err != nil {
		return nil, err
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	zfiles := make([]modzip.File, 0, len(names))
	for _, name := range names {
		data := files[name]
		zfiles = append(zfiles, memFile{name: name, size: int64(len(data)), open: func() io.Reader { return bytes.NewReader(data) }})
	}
	mod, ok := files["go.mod"]
	if !ok {
		mod = []byte("module " + path + "\n")
	}
	var zip bytes.Buffer
	if err := modzip.Create(&zip, module.Version{Path: path, Version: version}, zfiles); err != nil {
		return nil, fmt.Errorf("mirrortest: zipping %s@%s: %w", path, version, err)
	}
	return &Module{Path: path, Version: version, Info: infoJSON(version), Mod: bytes.Clone(mod), Zip: zip.Bytes()}, nil
}

// syntheticChunk is the largest data file a synthetic module holds.
const syntheticChunk = 1 << 20

// syntheticPerEntry estimates the zip bytes one data file costs besides its
// content: its name twice (local header and central directory) and the
// fixed parts of both headers and of the data descriptor.
const syntheticPerEntry = 2*len("example.com/synthetic@v1.0.0/data/chunk-0000.bin") + 30 + 46 + 24

// syntheticFixed estimates the bytes of the small source files, their
// headers and the end of the central directory.
const syntheticFixed = 512

// SyntheticModule returns a module whose zip is about zipBytes long (within a
// fraction of a percent for sizes of a megabyte and more). It holds a
// go.mod, one Go file and data files of at most 1 MiB of pseudo-random bytes
// derived from path@version, so the same arguments always give the same zip
// and different ones give different bytes. The data files are stored without
// compression, so even a 100 MB module builds in well under a second (also
// under the race detector); the result is a valid module zip
// (modzip.CheckZip accepts it). zipBytes may not exceed modzip.MaxZipFile.
func SyntheticModule(path, version string, zipBytes int) (*Module, error) {
	if err := checkVersion(path, version); err != nil {
		return nil, err
	}
	if zipBytes < 0 || zipBytes > modzip.MaxZipFile {
		return nil, fmt.Errorf("mirrortest: synthetic zip size %d out of range [0, %d]", zipBytes, modzip.MaxZipFile)
	}
	goMod := []byte("module " + path + "\n\ngo 1.21\n")
	goFile := []byte("// Package synthetic is generated test data.\npackage synthetic\n")

	// One random block per module; each data file is that block rotated by
	// a different offset and stamped with its index, which is cheap and
	// leaves every file distinct.
	seed := sha256.Sum256([]byte("mirrortest synthetic " + path + "@" + version))
	block := make([]byte, syntheticChunk)
	rand.NewChaCha8(seed).Read(block)

	var buf bytes.Buffer
	buf.Grow(zipBytes + 4096)
	zw := zip.NewWriter(&buf)
	prefix := path + "@" + version + "/"
	add := func(name string, method uint16, parts ...[]byte) error {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: prefix + name, Method: method})
		if err != nil {
			return err
		}
		for _, p := range parts {
			if _, err := w.Write(p); err != nil {
				return err
			}
		}
		return nil
	}
	if err := add("go.mod", zip.Deflate, goMod); err != nil {
		return nil, fmt.Errorf("mirrortest: zipping synthetic %s@%s: %w", path, version, err)
	}
	if err := add("synthetic.go", zip.Deflate, goFile); err != nil {
		return nil, fmt.Errorf("mirrortest: zipping synthetic %s@%s: %w", path, version, err)
	}
	remaining := zipBytes - syntheticFixed - 2*len(prefix)
	for i := 0; remaining > syntheticPerEntry; i++ {
		n := min(remaining-syntheticPerEntry, syntheticChunk)
		var stamp [8]byte
		binary.LittleEndian.PutUint64(stamp[:], uint64(i))
		off := (i * 7919) % syntheticChunk
		rotated := make([]byte, 0, syntheticChunk)
		rotated = append(append(rotated, block[off:]...), block[:off]...)[:n]
		copy(rotated, stamp[:])
		if err := add(fmt.Sprintf("data/chunk-%04d.bin", i), zip.Store, rotated); err != nil {
			return nil, fmt.Errorf("mirrortest: zipping synthetic %s@%s: %w", path, version, err)
		}
		remaining -= n + syntheticPerEntry
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("mirrortest: zipping synthetic %s@%s: %w", path, version, err)
	}
	return &Module{Path: path, Version: version, Info: infoJSON(version), Mod: goMod, Zip: buf.Bytes()}, nil
}

// memFile is a modzip.File whose content is produced on demand.
type memFile struct {
	name string
	size int64
	open func() io.Reader
}

func (f memFile) Path() string                 { return f.name }
func (f memFile) Lstat() (os.FileInfo, error)  { return memFileInfo{f}, nil }
func (f memFile) Open() (io.ReadCloser, error) { return io.NopCloser(f.open()), nil }

// memFileInfo is the os.FileInfo of a memFile.
type memFileInfo struct{ f memFile }

func (fi memFileInfo) Name() string       { return path.Base(fi.f.name) }
func (fi memFileInfo) Size() int64        { return fi.f.size }
func (fi memFileInfo) Mode() os.FileMode  { return 0o644 }
func (fi memFileInfo) ModTime() time.Time { return time.Time{} }
func (fi memFileInfo) IsDir() bool        { return false }
func (fi memFileInfo) Sys() any           { return nil }

// FindTestdata locates the repository's testdata/modules directory by walking
// up from the working directory to the directory containing go.mod (and a
// testdata/modules directory beside it).
func FindTestdata() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("mirrortest: finding testdata: %w", err)
	}
	for dir := wd; ; {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			mods := filepath.Join(dir, "testdata", "modules")
			if fi, err := os.Stat(mods); err == nil && fi.IsDir() {
				return mods, nil
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("mirrortest: no go.mod with testdata/modules above %s: %w", wd, fs.ErrNotExist)
		}
		dir = parent
	}
}

// TestdataModules returns the repository's fixture modules (FindTestdata,
// then LoadModules), failing tb if they cannot be loaded.
func TestdataModules(tb testing.TB) []*Module {
	tb.Helper()
	dir, err := FindTestdata()
	if err != nil {
		tb.Fatal(err)
	}
	mods, err := LoadModules(dir)
	if err != nil {
		tb.Fatal(err)
	}
	return mods
}
