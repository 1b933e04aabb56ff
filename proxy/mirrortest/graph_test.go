package mirrortest_test

import (
	"strings"
	"testing"

	"github.com/gofailover/gofailover/proxy/mirrortest"
)

// TestProgramGraphGoListDeps runs `go list -deps ./...` in the main module
// of a program graph straight against a mirror of it: the go command finds
// every package of every g module and fetches the zips of those only;
// `go list -m all` then fetches the .mod of the modules nothing imports.
func TestProgramGraphGoListDeps(t *testing.T) {
	const n = 30
	mods, main, err := mirrortest.ProgramGraph(n)
	if err != nil {
		t.Fatal(err)
	}
	total, largest := 0, 0
	for _, m := range mods {
		total += len(m.Zip)
		largest = max(largest, len(m.Zip))
	}
	t.Logf("%d modules, zips %d bytes in all, the largest %d", len(mods), total, largest)
	if total > 60<<20 || largest > 2<<20 || largest < 512<<10 {
		t.Errorf("zips of %d bytes in all, the largest %d: want some near 1 MB and under 60 MB in all", total, largest)
	}
	db, err := mirrortest.NewSumDB("sumdb.test", mods)
	if err != nil {
		t.Fatal(err)
	}
	mirror := mirrortest.NewMirror(db, mods...)
	defer mirror.Close()

	dir := t.TempDir()
	if err := mirrortest.WriteTree(dir, main); err != nil {
		t.Fatal(err)
	}
	env := mirrortest.GoEnv(t, mirror.URL(), db)
	out, err := mirrortest.RunGo(t, env, dir, "list", "-deps", "./...")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	listed := make(map[string]bool)
	for _, line := range strings.Fields(out) {
		listed[line] = true
	}
	for _, m := range mods {
		g := strings.HasPrefix(m.Path, "example.com/g")
		if listed[m.Path] != g {
			t.Errorf("%s listed: %v, want %v", m.Path, listed[m.Path], g)
		}
		if g && !listed[m.Path+"/internal/gen"] {
			t.Errorf("%s/internal/gen not listed", m.Path)
		}
		zips := mirror.Count("/" + m.Path + "/@v/" + m.Version + ".zip")
		if g != (zips > 0) {
			t.Errorf("%s: %d zip requests", m, zips)
		}
		if g && mirror.Count("/"+m.Path+"/@v/"+m.Version+".mod") == 0 {
			t.Errorf("%s: no .mod request", m)
		}
	}
	if out, err := mirrortest.RunGo(t, env, dir, "list", "-m", "all"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, m := range mods { // the whole graph: the x modules' .mod as well
		mod, zip := mirror.Count("/"+m.Path+"/@v/"+m.Version+".mod"), mirror.Count("/"+m.Path+"/@v/"+m.Version+".zip")
		if g := strings.HasPrefix(m.Path, "example.com/g"); mod != 1 || g != (zip == 1) {
			t.Errorf("%s: after go list -m all, %d .mod and %d .zip requests", m, mod, zip)
		}
	}
	if !listed[mirrortest.ProgramPath] {
		t.Errorf("the main package is not listed:\n%s", out)
	}
	for _, r := range mirror.Requests() {
		if strings.HasPrefix(r, "/sumdb/") && !strings.HasSuffix(r, "/supported") {
			t.Errorf("the go command asked the checksum database %s despite a complete go.sum", r)
		}
	}
}

// TestProgramGraphSmall builds the smallest graphs.
func TestProgramGraphSmall(t *testing.T) {
	if _, _, err := mirrortest.ProgramGraph(0); err == nil {
		t.Error("ProgramGraph(0) succeeded")
	}
	for n := 1; n <= 6; n++ {
		mods, main, err := mirrortest.ProgramGraph(n)
		if err != nil {
			t.Fatalf("ProgramGraph(%d): %v", n, err)
		}
		if len(mods) != n+max(1, n/4) || main["go.mod"] == nil || main["go.sum"] == nil || main["main.go"] == nil {
			t.Errorf("ProgramGraph(%d): %d modules, main files %d", n, len(mods), len(main))
		}
	}
}
