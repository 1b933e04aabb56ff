package mirrortest

import (
	"fmt"
	"net/http"
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

// PrimeLookups looks every module up in the database served by the mirror
// at mirrorURL. The test database adds a record at its first lookup, so
// priming makes its tree complete: it no longer grows while a benchmark
// runs.
func PrimeLookups(mirrorURL string, db *SumDB, mods []*Module) error {
	for _, m := range mods {
		url := mirrorURL + "/sumdb/" + db.Name + "/lookup/" + m.Path + "@" + m.Version
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
