package protocol

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func mustParse(t testing.TB, path string) *Request {
	t.Helper()
	r, err := ParseRequest(path)
	if err != nil {
		t.Fatalf("ParseRequest(%q): %v", path, err)
	}
	return r
}

const captivePortal = "<!DOCTYPE html>\n<html><body>Please sign in</body></html>\n"

func TestCheckBody(t *testing.T) {
	tests := []struct {
		path, body string
		ok         bool
	}{
		{"/example.com/m/@v/list", "", true},
		{"/example.com/m/@v/list", "v1.0.0\nv1.1.0\n", true},
		{"/example.com/m/@v/list", "v1.0.0 2020-01-01T00:00:00Z\n\n", true},
		{"/example.com/m/@v/list", captivePortal, false},
		{"/example.com/m/@v/list", "v1.0.0\nlatest\n", false},
		{"/example.com/m/@v/v1.0.0.info", `{"Version":"v1.0.0","Time":"2020-01-01T00:00:00Z"}`, true},
		{"/example.com/m/@v/v1.0.0.info", `{"Version":"v9.9.9"}`, false},
		{"/example.com/m/@v/v1.0.0.info", `{"Version":"not-a-version"}`, false},
		{"/example.com/m/@v/v1.0.0.info", `{}`, false},
		{"/example.com/m/@v/v1.0.0.info", `{"Version":"v1.0.0"} {"Version":"v1.0.0"}`, false},
		{"/example.com/m/@v/v1.0.0.info", captivePortal, false},
		{"/example.com/m/@v/master.info", `{"Version":"v0.0.0-20200101000000-abcdefabcdef"}`, true},
		{"/example.com/m/@v/master.info", `{"Version":"master"}`, false},
		{"/example.com/m/@v/master.info", `{"Version":"v2.0.0"}`, false}, // not a version of a v0/v1 path
		{"/example.com/m/@v/v2.0.0.info", `{"Version":"v2.0.0"}`, true},  // what was asked for
		{"/example.com/m/v2/@latest", `{"Version":"v2.1.0"}`, true},
		{"/example.com/m/@latest", `{"Version":"v2.0.0+incompatible"}`, true},
		{"/example.com/m/@latest", `{"Version":""}`, false},
		{"/example.com/m/@latest", captivePortal, false},
		{"/example.com/m/@v/v1.0.0.mod", "module example.com/m\n\ngo 1.21\n", true},
		{"/example.com/m/@v/v1.0.0.mod", "module example.com/m\n", true},
		{"/example.com/m/@v/v1.0.0.mod", "", false},
		{"/example.com/m/@v/v1.0.0.mod", captivePortal, false},
		{"/sumdb/sum.example/supported", "", true},
		{"/sumdb/sum.example/lookup/example.com/m@v1.0.0", strings.Repeat("x", MaxSumDBBytes+1), false},
		{"/example.com/m/@v/v1.0.0.zip", "PK", false}, // zips go to CheckZip
	}
	for _, tt := range tests {
		err := CheckBody(mustParse(t, tt.path), []byte(tt.body))
		if (err == nil) != tt.ok {
			t.Errorf("CheckBody(%s, %q) = %v, want ok=%v", tt.path, clip(tt.body), err, tt.ok)
		}
		var be *BodyError
		if err != nil && (!errors.As(err, &be) || strings.ContainsAny(err.Error(), "\n")) {
			t.Errorf("CheckBody(%s) error %q is not a one-line *BodyError", tt.path, err)
		}
	}
}

func writeZip(t *testing.T, files map[string]string) string {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, content := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(content))
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "m.zip")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCheckZip(t *testing.T) {
	req := mustParse(t, "/example.com/m/@v/v1.0.0.zip")
	good := writeZip(t, map[string]string{"example.com/m@v1.0.0/go.mod": "module example.com/m\n", "example.com/m@v1.0.0/m.go": "package m\n"})
	if err := CheckZip(req, good); err != nil {
		t.Errorf("CheckZip(good) = %v", err)
	}
	wrongRoot := writeZip(t, map[string]string{"example.com/other@v1.0.0/m.go": "package m\n"})
	if err := CheckZip(req, wrongRoot); err == nil {
		t.Error("CheckZip accepted a zip for another module")
	}
	html := filepath.Join(t.TempDir(), "portal.zip")
	os.WriteFile(html, []byte(captivePortal), 0o644)
	if err := CheckZip(req, html); err == nil {
		t.Error("CheckZip accepted an HTML page")
	}
	if err := CheckZip(mustParse(t, "/example.com/m/@v/v1.0.0.mod"), good); err == nil {
		t.Error("CheckZip accepted a .mod request")
	}
}

// TestCheckBodyFile: an answer checked in a file gets the verdict it gets
// in memory, for lists of any size (read in pieces), go.mod files and
// version information.
func TestCheckBodyFile(t *testing.T) {
	var big strings.Builder
	for i := 0; big.Len() < 2<<20; i++ {
		fmt.Fprintf(&big, "v1.0.%d\n", i)
	}
	longLine := "v1.0.0 " + strings.Repeat("x", 100<<10) + "\nv1.0.1\n"
	tests := []struct {
		path, body string
		ok         bool
	}{
		{"/example.com/m/@v/list", big.String(), true},
		{"/example.com/m/@v/list", big.String() + captivePortal, false},
		{"/example.com/m/@v/list", longLine, true},
		{"/example.com/m/@v/list", strings.Repeat("v", 100<<10) + "\n", false},
		{"/example.com/m/@v/list", "", true},
		{"/example.com/m/@v/list", "v1.0.0", true},
		{"/example.com/m/@v/list", "v1.0.0\r\n\r\nv1.1.0 \t\n", true},
		{"/example.com/m/@v/v1.0.0.mod", "module example.com/m\n\n" + strings.Repeat("// comment\n", 50<<10), true},
		{"/example.com/m/@v/v1.0.0.mod", captivePortal, false},
		{"/example.com/m/@v/v1.0.0.info", `{"Version":"v1.0.0"}`, true},
		{"/example.com/m/@v/v1.0.0.info", `{"Version":"v1.0.0","Pad":"` + strings.Repeat("x", MaxInfoBytes) + `"}`, false},
	}
	for _, tt := range tests {
		r := mustParse(t, tt.path)
		file := filepath.Join(t.TempDir(), "body")
		if err := os.WriteFile(file, []byte(tt.body), 0o644); err != nil {
			t.Fatal(err)
		}
		err := CheckBodyFile(r, file)
		if (err == nil) != tt.ok {
			t.Errorf("CheckBodyFile(%s, %q) = %v, want ok=%v", tt.path, clip(tt.body), err, tt.ok)
		}
		if memErr := CheckBody(r, []byte(tt.body)); (memErr == nil) != (err == nil) {
			t.Errorf("%s %q: in memory %v, in a file %v", tt.path, clip(tt.body), memErr, err)
		}
	}
}

// FuzzCheckBody checks that no answer makes the checker panic, and that
// what it accepts is what the go command can use.
func FuzzCheckBody(f *testing.F) {
	for _, seed := range []string{"v1.0.0\n", captivePortal, `{"Version":"v1.0.0"}`, "module m\n", "{", `{"Version":"v1.0.0"}{}`} {
		f.Add(seed)
	}
	paths := []string{"/example.com/m/@v/list", "/example.com/m/@v/v1.0.0.info", "/example.com/m/@latest",
		"/example.com/m/@v/master.info", "/example.com/m/@v/v1.0.0.mod", "/sumdb/sum.example/latest"}
	reqs := make([]*Request, len(paths))
	for i, p := range paths {
		reqs[i] = mustParse(f, p)
	}
	f.Fuzz(func(t *testing.T, body string) {
		file := filepath.Join(t.TempDir(), "body")
		if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, r := range reqs {
			err := CheckBody(r, []byte(body))
			if fileErr := CheckBodyFile(r, file); (fileErr == nil) != (err == nil) {
				t.Fatalf("%s %q: in memory %v, in a file %v", r.Path, body, err, fileErr)
			}
			if err != nil {
				continue
			}
			switch r.Kind {
			case KindList:
				if strings.Contains(body, "<html") {
					t.Fatalf("accepted HTML as a list: %q", body)
				}
			case KindInfo:
				if r.Immutable && !strings.Contains(body, r.Version) {
					t.Fatalf("accepted an .info without the version asked for: %q", body)
				}
			}
		}
	})
}
