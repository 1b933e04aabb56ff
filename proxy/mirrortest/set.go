package mirrortest

import (
	"fmt"
	"net/http"
	"slices"
	"time"

	"golang.org/x/mod/module"
)

// ModuleSet returns modules example.com/depNN (NN from 00 to n-1) at
// version v1.0.<version>, each with a go.mod and eight source files of
// about 6 KiB, so zips of some tens of kilobytes: a set of ordinary
// dependencies for benchmarks. Different versions have different content.
func ModuleSet(n, version int) ([]*Module, error) {
	var mods []*Module
	for i := range n {
		path := fmt.Sprintf("example.com/dep%02d", i)
		files := map[string][]byte{"go.mod": []byte("module " + path + "\n\ngo 1.21\n")}
		for j := range 8 {
			src := fmt.Sprintf("package dep%02d\n\n// F%d is generated (version %d).\nfunc F%d() int { return %d }\n", i, j, version, j, i*j)
			for len(src) < 6<<10 {
				src += fmt.Sprintf("\n// padding %d %d %d: %x\n", i, j, version, len(src)*7919)
			}
			files[fmt.Sprintf("f%d.go", j)] = []byte(src)
		}
		m, err := NewModule(path, fmt.Sprintf("v1.0.%d", version), files)
		if err != nil {
			return nil, err
		}
		mods = append(mods, m)
	}
	return mods, nil
}

// PrimeLookups looks every module up, in order, in the database served by
// the mirror at mirrorURL. The test database adds a record at its first
// lookup, so priming makes its tree complete: it no longer grows while a
// benchmark runs.
func PrimeLookups(mirrorURL string, db *SumDB, mods []*Module) error {
	for _, m := range mods {
		epath, err := module.EscapePath(m.Path)
		if err != nil {
			return fmt.Errorf("mirrortest: priming %s: %w", m, err)
		}
		evers, err := module.EscapeVersion(m.Version)
		if err != nil {
			return fmt.Errorf("mirrortest: priming %s: %w", m, err)
		}
		url := mirrorURL + "/sumdb/" + db.Name + "/lookup/" + epath + "@" + evers
		resp, err := http.Get(url)
		if err != nil {
			return fmt.Errorf("mirrortest: priming %s: %w", url, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("mirrortest: priming %s: %s", url, resp.Status)
		}
	}
	return nil
}

// ModuleRounds returns n module sets of the given number of paths, each a
// new version of the same paths (ModuleSet(paths, 0) to
// ModuleSet(paths, n-1)), and all of them in one slice.
func ModuleRounds(paths, n int) (rounds [][]*Module, all []*Module, err error) {
	rounds = make([][]*Module, n)
	for i := range rounds {
		if rounds[i], err = ModuleSet(paths, i); err != nil {
			return nil, nil, err
		}
		all = append(all, rounds[i]...)
	}
	return rounds, all, nil
}

// SideBySide runs a and b n times each, alternating which goes first, so
// that both see the same machine state, and returns the median duration
// of each. Each call gets its round number, 0 to n-1.
func SideBySide(n int, a, b func(round int) time.Duration) (medianA, medianB time.Duration) {
	var ta, tb []time.Duration
	for i := range n {
		if i%2 == 0 {
			ta = append(ta, a(i))
			tb = append(tb, b(i))
		} else {
			tb = append(tb, b(i))
			ta = append(ta, a(i))
		}
	}
	return Median(ta), Median(tb)
}

// Median returns the median of ds.
func Median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// NewRoundsMirror returns n rounds of a module set of the given number of
// paths (ModuleRounds), a database knowing all of them, and a mirror
// serving them all with its tree complete (PrimeLookups): the fixture of
// the cold-path benchmarks. The caller closes the mirror.
func NewRoundsMirror(paths, n int) (rounds [][]*Module, db *SumDB, mirror *Mirror, err error) {
	rounds, all, err := ModuleRounds(paths, n)
	if err != nil {
		return nil, nil, nil, err
	}
	if db, err = NewSumDB("sumdb.test", all); err != nil {
		return nil, nil, nil, err
	}
	mirror = NewMirror(db, all...)
	if err := PrimeLookups(mirror.URL(), db, all); err != nil {
		mirror.Close()
		return nil, nil, nil, err
	}
	return rounds, db, mirror, nil
}

// NewForkingMirror returns a mirror serving a fork of db signed with the
// same key (SumDB.Fork) in which every module of mods except those in keep
// is Tampered, together with the tampered modules. The fork diverges from
// the real tree only if mods are in it already (PrimeLookups). The caller
// closes the mirror.
func NewForkingMirror(db *SumDB, mods []*Module, keep ...*Module) (*Mirror, error) {
	var tampered []*Module
	for _, m := range mods {
		if slices.Contains(keep, m) {
			tampered = append(tampered, m)
			continue
		}
		bad, err := Tampered(m)
		if err != nil {
			return nil, err
		}
		tampered = append(tampered, bad)
	}
	return NewMirror(db.Fork(tampered...), tampered...), nil
}
