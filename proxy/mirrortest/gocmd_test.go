package mirrortest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// needGo skips t when there is no go command to run.
func needGo(t *testing.T) {
	t.Helper()
	if _, err := goBinary(); err != nil {
		t.Skip(err)
	}
}

func TestGoEnv(t *testing.T) {
	t.Setenv("GOFLAGS", "-mod=vendor")
	t.Setenv("GOPROXY", "http://should-not-leak.invalid")
	t.Setenv("SOME_SECRET", "x")
	env := GoEnv(t, "http://127.0.0.1:1", nil)
	got := make(map[string]string)
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		if _, dup := got[k]; dup {
			t.Errorf("GoEnv: %s set twice", k)
		}
		got[k] = v
	}
	for k, want := range map[string]string{
		"GOPROXY": "http://127.0.0.1:1", "GOSUMDB": "off", "GOFLAGS": "-modcacherw",
		"GOTOOLCHAIN": "local", "GOENV": "off", "GOWORK": "off", "GOVCS": "*:off",
		"GONOSUMDB": "", "GOPRIVATE": "", "GONOPROXY": "", "GOINSECURE": "",
		"CGO_ENABLED": "0", "GO111MODULE": "on", "GOTELEMETRY": "off",
	} {
		if v, ok := got[k]; !ok || v != want {
			t.Errorf("GoEnv %s = %q (set %v), want %q", k, v, ok, want)
		}
	}
	if _, ok := got["SOME_SECRET"]; ok {
		t.Error("GoEnv inherited SOME_SECRET")
	}
	if !strings.HasPrefix(got["GOMODCACHE"], got["GOPATH"]) || got["HOME"] == "" || got["GOCACHE"] == "" {
		t.Errorf("GoEnv dirs: %v", got)
	}
}

func TestScratchModule(t *testing.T) {
	dir := ScratchModule(t, "example.com/scratch", map[string]string{"example.com/lib": "v1.1.0", "example.com/app": "v1.0.0"})
	data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	want := "module example.com/scratch\n\ngo 1.21\n\nrequire (\n\texample.com/app v1.0.0\n\texample.com/lib v1.1.0\n)\n"
	if string(data) != want {
		t.Errorf("go.mod = %q, want %q", data, want)
	}
}

// downloaded is one JSON object printed by go mod download -json.
type downloaded struct {
	Path, Version, Error, Info, GoMod, Zip, Dir, Sum, GoModSum string
}

// TestGoCommand runs the real go command against a mirror and its checksum
// database, which it reaches through the mirror's /sumdb/<name>/supported.
func TestGoCommand(t *testing.T) {
	needGo(t)
	mods, db, m := setup(t)
	env := GoEnv(t, m.URL(), db)
	work := t.TempDir()

	targets := []string{"example.com/app@v1.0.0", "example.com/old@v3.0.0+incompatible", "example.com/lib/v2@v2.0.0", "example.com/Upper/Case@v1.0.0"}
	out, err := RunGo(t, env, work, append([]string{"mod", "download", "-json"}, targets...)...)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	t.Logf("go mod download requests:\n\t%s", strings.Join(m.Requests(), "\n\t"))
	dec := json.NewDecoder(strings.NewReader(out))
	var seen []string
	for {
		var d downloaded
		if err := dec.Decode(&d); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decoding go mod download output: %v\n%s", err, out)
		}
		mod := Lookup(mods, d.Path, d.Version)
		if d.Error != "" || mod == nil {
			t.Errorf("%s@%s: %q", d.Path, d.Version, d.Error)
			continue
		}
		seen = append(seen, mod.String())
		zipLine, modLine := db.GoSumLines(mod)
		if d.Path+" "+d.Version+" "+d.Sum != zipLine || d.Path+" "+d.Version+"/go.mod "+d.GoModSum != modLine {
			t.Errorf("%s: go reports %s, %s; database has %q, %q", mod, d.Sum, d.GoModSum, zipLine, modLine)
		}
		if zip, err := os.ReadFile(d.Zip); err != nil || !bytes.Equal(zip, mod.Zip) {
			t.Errorf("%s: cached zip differs (%v)", mod, err)
		}
	}
	slices.Sort(seen)
	want := slices.Clone(targets)
	slices.Sort(want)
	if !slices.Equal(seen, want) {
		t.Errorf("downloaded %q, want %q", seen, want)
	}
	// The checksums were verified against the database, through the mirror.
	if m.Count("/sumdb/"+dbName+"/supported") == 0 {
		t.Error("the go command never asked whether the mirror proxies the database")
	}
	for _, lookup := range []string{"example.com/app@v1.0.0", "example.com/old@v3.0.0+incompatible", "example.com/!upper/!case@v1.0.0"} {
		if m.Count("/sumdb/"+dbName+"/lookup/"+lookup) != 1 {
			t.Errorf("no database lookup of %s", lookup)
		}
	}

	// Telemetry is off: nothing is counted under HOME.
	for _, kv := range env {
		if home, ok := strings.CutPrefix(kv, "HOME="); ok {
			if files, _ := filepath.Glob(filepath.Join(home, ".config", "go", "telemetry", "local", "*")); len(files) > 0 {
				t.Errorf("go telemetry wrote %q", files)
			}
		}
	}

	// go get in a scratch module writes exactly the lines the database serves.
	m.ResetRequests()
	scratch := ScratchModule(t, "example.com/scratch", nil)
	if out, err := RunGo(t, env, scratch, "get", "example.com/app@v1.0.0"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	t.Logf("go get requests:\n\t%s", strings.Join(m.Requests(), "\n\t"))
	sum, err := os.ReadFile(filepath.Join(scratch, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(sum)), "\n")
	for _, mv := range [][2]string{{"example.com/app", "v1.0.0"}, {"example.com/lib", "v1.1.0"}, {"example.com/Upper/Case", "v1.0.0"}, {"example.com/util", "v1.0.0"}} {
		zipLine, modLine := db.GoSumLines(Lookup(mods, mv[0], mv[1]))
		if !slices.Contains(lines, zipLine) || !slices.Contains(lines, modLine) {
			t.Errorf("go.sum lacks %q or %q:\n%s", zipLine, modLine, sum)
		}
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "example.com/") {
			t.Errorf("unexpected go.sum line %q", l)
		}
	}
}

// TestGoCommandDetectsCorruption shows that the go command really checks the
// database: a corrupted zip or an unknown module fails verification.
func TestGoCommandDetectsCorruption(t *testing.T) {
	needGo(t)
	_, db, m := setup(t)
	m.SetFault(CorruptZip())
	out, err := RunGo(t, GoEnv(t, m.URL(), db), t.TempDir(), "mod", "download", "example.com/util@v1.0.0")
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) {
		t.Fatalf("corrupted zip: err = %v, want a failed go command\n%s", err, out)
	}
	t.Logf("corrupted zip:\n%s", out)
	if !strings.Contains(out, "checksum mismatch") && !strings.Contains(out, "zip") {
		t.Errorf("corrupted zip: unexpected output\n%s", out)
	}

	// A well-formed but altered zip: only the database can tell.
	m.SetFault(Tamper().OnSuffix(".zip"))
	out, err = RunGo(t, GoEnv(t, m.URL(), db), t.TempDir(), "mod", "download", "example.com/util@v1.0.0")
	if err == nil || !strings.Contains(out, "SECURITY ERROR") || !strings.Contains(out, "checksum mismatch") {
		t.Errorf("tampered zip: err = %v, want a checksum mismatch\n%s", err, out)
	}
	t.Logf("tampered zip:\n%s", out)

	// A module the mirror serves but the database does not know.
	m.SetFault(Healthy())
	stranger, err := NewModule("example.com/stranger", "v1.0.0", map[string][]byte{"go.mod": []byte("module example.com/stranger\n")})
	if err != nil {
		t.Fatal(err)
	}
	m.Add(stranger)
	out, err = RunGo(t, GoEnv(t, m.URL(), db), t.TempDir(), "mod", "download", "example.com/stranger@v1.0.0")
	if err == nil {
		t.Fatalf("unknown module passed verification\n%s", out)
	}
	t.Logf("unknown module:\n%s", out)
	if !strings.Contains(out, "404") && !strings.Contains(out, "not found") {
		t.Errorf("unknown module: unexpected output\n%s", out)
	}

	// Without a database, verification is off and anything goes.
	out, err = RunGo(t, GoEnv(t, m.URL(), nil), t.TempDir(), "mod", "download", "example.com/stranger@v1.0.0")
	if err != nil {
		t.Errorf("GOSUMDB=off: %v\n%s", err, out)
	}
}
