package protocol

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestParseRequestValid(t *testing.T) {
	tests := []struct {
		path      string
		kind      Kind
		module    string
		version   string
		immutable bool
		sumdb     string
	}{
		{"/example.com/lib/@v/list", KindList, "example.com/lib", "", false, ""},
		{"/example.com/lib/@latest", KindLatest, "example.com/lib", "", false, ""},
		{"/example.com/lib/@v/v1.2.3.info", KindInfo, "example.com/lib", "v1.2.3", true, ""},
		{"/example.com/lib/@v/master.info", KindInfo, "example.com/lib", "master", false, ""},
		{"/example.com/lib/@v/v1.2.info", KindInfo, "example.com/lib", "v1.2", false, ""},
		{"/example.com/lib/@v/v1.2.3.mod", KindMod, "example.com/lib", "v1.2.3", true, ""},
		{"/example.com/lib/@v/v1.2.3.zip", KindZip, "example.com/lib", "v1.2.3", true, ""},
		{"/example.com/!upper/!case/@v/v1.0.0.zip", KindZip, "example.com/Upper/Case", "v1.0.0", true, ""},
		{"/example.com/old/@v/v3.0.0+incompatible.mod", KindMod, "example.com/old", "v3.0.0+incompatible", true, ""},
		{"/example.com/lib/v2/@v/v2.0.0.zip", KindZip, "example.com/lib/v2", "v2.0.0", true, ""},
		{"/example.com/lib/@v/v0.0.0-20200101000000-abcdefabcdef.mod", KindMod, "example.com/lib", "v0.0.0-20200101000000-abcdefabcdef", true, ""},
		{"/example.com/lib/@v/v1.2.0-rc.1.info", KindInfo, "example.com/lib", "v1.2.0-rc.1", true, ""},
		{"/example.com/@v/list", KindList, "example.com", "", false, ""},
		{"/sumdb/sumdb.test/supported", KindSumDB, "", "", false, "sumdb.test"},
		{"/sumdb/sumdb.test/latest", KindSumDB, "", "", false, "sumdb.test"},
		{"/sumdb/sumdb.test/lookup/example.com/!upper/!case@v1.0.0", KindSumDB, "example.com/Upper/Case", "v1.0.0", true, "sumdb.test"},
		{"/sumdb/sumdb.test/tile/8/0/000", KindSumDB, "", "", true, "sumdb.test"},
		{"/sumdb/sumdb.test/tile/8/1/000.p/5", KindSumDB, "", "", true, "sumdb.test"},
		{"/sumdb/sumdb.test/tile/8/data/000", KindSumDB, "", "", true, "sumdb.test"},
	}
	for _, tt := range tests {
		req, err := ParseRequest(tt.path)
		if err != nil {
			t.Errorf("ParseRequest(%q): %v", tt.path, err)
			continue
		}
		if req.Kind != tt.kind || req.Module != tt.module || req.Version != tt.version ||
			req.Immutable != tt.immutable || req.SumDB != tt.sumdb || req.Path != tt.path {
			t.Errorf("ParseRequest(%q) = %+v", tt.path, *req)
		}
	}
}

// TestParseRequestMalformed lists requests the proxy must refuse with a 4xx
// before any upstream or cache work.
func TestParseRequestMalformed(t *testing.T) {
	tests := []struct {
		path   string
		status int
	}{
		{"", http.StatusBadRequest},
		{"example.com/lib/@v/list", http.StatusBadRequest},
		{"/", http.StatusNotFound},
		{"/favicon.ico", http.StatusNotFound},
		{"/example.com/lib", http.StatusNotFound},
		{"/example.com/lib/@v/", http.StatusNotFound},
		{"/example.com/lib/@v/list/extra", http.StatusNotFound},
		{"/example.com/lib/@latest/extra", http.StatusNotFound},
		{"/example.com/lib/@v/v1.0.0.txt", http.StatusNotFound},
		{"/example.com/lib/@v/v1.0.0", http.StatusNotFound},
		{"/example.com/lib/@x/list", http.StatusNotFound},
		{"/example.com/lib/@v/.info", http.StatusBadRequest},
		{"/Example.com/lib/@v/list", http.StatusBadRequest},                 // capital letter not escaped
		{"/example.com/!lib!/@v/list", http.StatusBadRequest},               // dangling escape
		{"/example.com/!!lib/@v/list", http.StatusBadRequest},               // double escape
		{"/example.com/!1ib/@v/list", http.StatusBadRequest},                // escape of a non-letter
		{"/example.com/../lib/@v/list", http.StatusBadRequest},              // dot-dot element
		{"/example.com/./lib/@v/list", http.StatusBadRequest},               // dot element
		{"/example.com//lib/@v/list", http.StatusBadRequest},                // empty element
		{"//@v/list", http.StatusBadRequest},                                // empty module path
		{"/@v/list", http.StatusBadRequest},                                 // empty module path
		{"/examplecom/lib/@v/list", http.StatusBadRequest},                  // no dot in first element
		{"/example.com/lib/@v/v1.0.0/../x.zip", http.StatusBadRequest},      // slash in version
		{"/example.com/lib/@v/v1.0.zip", http.StatusBadRequest},             // non-canonical zip
		{"/example.com/lib/@v/v1.0.mod", http.StatusBadRequest},             // non-canonical mod
		{"/example.com/lib/@v/master.zip", http.StatusBadRequest},           // query for a zip
		{"/example.com/lib/@v/v1.0.0+build.zip", http.StatusBadRequest},     // build metadata
		{"/example.com/lib/@v/V1.0.0.zip", http.StatusBadRequest},           // capital in version
		{"/example.com/lib/@v/v2.0.0.mod", http.StatusBadRequest},           // major version mismatch
		{"/example.com/lib/v2/@v/v1.0.0.zip", http.StatusBadRequest},        // major version mismatch
		{"/example.com/lib/@v/v1.0.0*.info", http.StatusBadRequest},         // invalid char
		{"/example.com/lib/@v/v1.0.0?.info", http.StatusBadRequest},         // invalid char
		{"/example.com/lib\x00/@v/list", http.StatusBadRequest},             // NUL
		{"/exa mple.com/lib/@v/list", http.StatusBadRequest},                // space
		{"/example.com/lib/@v/v1.0.0\xff.info", http.StatusBadRequest},      // not UTF-8
		{"/sumdb/", http.StatusNotFound},                                    // no name
		{"/sumdb/sumdb.test", http.StatusNotFound},                          // no endpoint
		{"/sumdb/../secret/latest", http.StatusNotFound},                    // bad name
		{"/sumdb/SUMDB/latest", http.StatusNotFound},                        // bad name
		{"/sumdb/sumdb.test/other", http.StatusNotFound},                    // unknown endpoint
		{"/sumdb/sumdb.test/lookup/example.com/lib", http.StatusBadRequest}, // no version
		{"/sumdb/sumdb.test/lookup/Example.com@v1.0.0", http.StatusBadRequest},
		{"/sumdb/sumdb.test/lookup/example.com/lib@master", http.StatusBadRequest},
		{"/sumdb/sumdb.test/tile/8/0/x", http.StatusBadRequest},
		{"/sumdb/sumdb.test/tile/../../etc/passwd", http.StatusBadRequest},
		{"/" + strings.Repeat("a", maxRequestPath), http.StatusRequestURITooLong},
	}
	for _, tt := range tests {
		_, err := ParseRequest(tt.path)
		re, ok := err.(*RequestError)
		if !ok {
			t.Errorf("ParseRequest(%q) error = %v, want a *RequestError", tt.path, err)
			continue
		}
		if re.Status != tt.status {
			t.Errorf("ParseRequest(%q) status = %d (%s), want %d", tt.path, re.Status, re.Reason, tt.status)
		}
		if re.Reason == "" || strings.ContainsAny(re.Reason, "\r\n") {
			t.Errorf("ParseRequest(%q) reason %q is not one line", tt.path, re.Reason)
		}
	}
}

func FuzzParseRequest(f *testing.F) {
	for _, seed := range []string{
		"/example.com/lib/@v/list", "/example.com/!upper/@v/v1.0.0.zip", "/example.com/lib/@latest",
		"/example.com/lib/@v/v1.0.0+incompatible.mod", "/sumdb/sumdb.test/lookup/example.com/lib@v1.0.0",
		"/sumdb/sumdb.test/tile/8/0/x001/234.p/5", "/example.com/../@v/list", "/@v/.zip",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, path string) {
		req, err := ParseRequest(path)
		if err != nil {
			re, ok := err.(*RequestError)
			if !ok || re.Status < 400 || re.Status > 499 {
				t.Fatalf("ParseRequest(%q) error %v is not a 4xx RequestError", path, err)
			}
			return
		}
		// Whatever is accepted is a safe cache key and upstream path.
		if req.Path != path || !strings.HasPrefix(path, "/") || strings.Contains(path, "/../") ||
			strings.Contains(path, "//") || !utf8.ValidString(path) || strings.ContainsAny(path, "?\\\x00") {
			t.Fatalf("ParseRequest(%q) accepted an unsafe path: %+v", path, *req)
		}
		base, _ := url.Parse("http://127.0.0.1:1/base")
		got, err := url.Parse(URL(base, path).String())
		if err != nil || got.Path != "/base"+path || got.Host != base.Host || got.RawQuery != "" || got.Fragment != "" {
			t.Fatalf("URL(%q) = %v, %v: does not round-trip", path, got, err)
		}
		if (req.Kind == KindMod || req.Kind == KindZip) && !req.Immutable {
			t.Fatalf("ParseRequest(%q): .mod/.zip must be immutable", path)
		}
	})
}
