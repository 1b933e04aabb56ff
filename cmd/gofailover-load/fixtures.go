package main

import (
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	modzip "golang.org/x/mod/zip"

	"github.com/gofailover/gofailover/proxy/mirrortest"
)

// maxZipSize is the largest module zip the go command (and gofailover) accepts.
const maxZipSize = modzip.MaxZipFile

// fixture is one URL both servers answer with the same bytes.
type fixture struct {
	name string // short name for the table: ".info", "zip 1 MiB"
	path string // URL path, e.g. /example.com/bench/@v/v1.0.0.info
	size int64
	sum  [32]byte
	// body is kept for small answers only, to compare every response with.
	body []byte
}

// fixtureSet is every fixture of a run.
type fixtureSet struct {
	info, mod *fixture
	zips      []*fixture // measured for throughput
	big       *fixture   // warmed, then downloaded by many clients at once
	modules   []*mirrortest.Module
}

// all returns every fixture, in warming order.
func (fs *fixtureSet) all() []*fixture {
	return append(append([]*fixture{fs.info, fs.mod}, fs.zips...), fs.big)
}

// benchGoMod is a go.mod of a typical size (about 0.5 KiB) for the small module.
const benchGoMod = `module example.com/bench

go 1.22

require (
	example.com/alpha v1.4.2
	example.com/beta/v2 v2.0.1
	example.com/gamma v0.9.0
	example.com/delta v1.12.0
	example.com/epsilon v0.0.0-20240102030405-abcdefabcdef
)

require (
	example.com/zeta v1.0.0 // indirect
	example.com/eta v1.1.0 // indirect
	example.com/theta v0.3.1 // indirect
	example.com/iota v2.0.0+incompatible // indirect
	example.com/kappa v1.7.3 // indirect
)
`

// buildFixtures makes the modules: example.com/bench for .info and .mod, one
// synthetic module per zip size, and the big one.
func buildFixtures(zipSizes []int64, bigSize int64) (*fixtureSet, error) {
	fs := &fixtureSet{}
	small, err := mirrortest.NewModule("example.com/bench", "v1.0.0", map[string][]byte{
		"go.mod":   []byte(benchGoMod),
		"bench.go": []byte("// Package bench is load-test data.\npackage bench\n"),
	})
	if err != nil {
		return nil, err
	}
	fs.modules = append(fs.modules, small)
	fs.info = newFixture(".info", small, ".info", small.Info, true)
	fs.mod = newFixture(".mod", small, ".mod", small.Mod, true)

	// A synthetic zip is within a fraction of a percent of the size asked
	// for; the fixture is named after the size asked for.
	synth := func(name string, size int64) (*fixture, error) {
		m, err := mirrortest.SyntheticModule("example.com/"+name, "v1.0.0", int(size))
		if err != nil {
			return nil, err
		}
		fs.modules = append(fs.modules, m)
		return newFixture("zip "+formatSize(size), m, ".zip", m.Zip, false), nil
	}
	for i, n := range zipSizes {
		f, err := synth(fmt.Sprintf("zip%d-%s", i+1, strings.ToLower(formatSize(n))), n)
		if err != nil {
			return nil, err
		}
		fs.zips = append(fs.zips, f)
	}
	if fs.big, err = synth("big-"+strings.ToLower(formatSize(bigSize)), bigSize); err != nil {
		return nil, err
	}
	return fs, nil
}

func newFixture(name string, m *mirrortest.Module, ext string, data []byte, keep bool) *fixture {
	f := &fixture{
		name: name,
		path: "/" + m.Path + "/@v/" + m.Version + ext,
		size: int64(len(data)),
		sum:  sha256.Sum256(data),
	}
	if keep {
		f.body = data
	}
	return f
}

// writeTree writes every fixture's bytes under dir at its URL path, for the
// file server. The module paths are lower case, so the escaped URL path is
// the path itself. A chunk above zero writes each file in pieces of that
// size, as a file streamed from the network would be written; zero writes
// each in one call.
func (fs *fixtureSet) writeTree(dir string, chunk int64) error {
	for _, m := range fs.modules {
		for ext, data := range map[string][]byte{".info": m.Info, ".mod": m.Mod, ".zip": m.Zip} {
			p := filepath.Join(dir, filepath.FromSlash(m.Path), "@v", m.Version+ext)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				return err
			}
			if err := writeFile(p, data, chunk); err != nil {
				return err
			}
		}
	}
	return nil
}

// writeFile writes data to a new file at p, in pieces of chunk bytes if
// chunk is above zero.
func writeFile(p string, data []byte, chunk int64) error {
	if chunk <= 0 {
		return os.WriteFile(p, data, 0o644)
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	for len(data) > 0 {
		n := int(min(chunk, int64(len(data))))
		if _, err := f.Write(data[:n]); err != nil {
			f.Close()
			return err
		}
		data = data[n:]
	}
	return f.Close()
}

// parseSize parses a byte count such as "40MiB", "1MB", "512KiB" or "1048576".
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{
		{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10},
		{"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"kB", 1e3}, {"B", 1},
	} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || v <= 0 || v*float64(mult) > 1<<40 {
		return 0, fmt.Errorf("bad size %q (want e.g. 40MiB, 1MB or a byte count)", s)
	}
	return int64(v * float64(mult)), nil
}

// formatSize writes a byte count briefly, rounded: "40MiB", "1.5MiB",
// "512KiB", "300B".
func formatSize(n int64) string {
	unit := func(v float64, suffix string) string {
		return strings.TrimSuffix(strconv.FormatFloat(v, 'f', 1, 64), ".0") + suffix
	}
	switch {
	case n >= 1<<20:
		return unit(float64(n)/(1<<20), "MiB")
	case n >= 1<<10:
		return unit(float64(n)/(1<<10), "KiB")
	}
	return strconv.FormatInt(n, 10) + "B"
}
