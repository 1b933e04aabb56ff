package statuspage

import (
	"bytes"
	"strings"
	"testing"
)

// TestCacheUpkeepShown: the cache card and the text say when the scrub
// last finished, and name corrupt files found and a damaged index set
// aside only when there are any.
func TestCacheUpkeepShown(t *testing.T) {
	rep := sampleReport()
	rep.Cache.CorruptBlobs = 0
	rep.Cache.SetAside = "/cache/meta.damaged-20260310T115900Z\x1b[2J"
	page, err := renderPage(sanitized(rep))
	if err != nil {
		t.Fatal(err)
	}
	var text bytes.Buffer
	if err := WriteText(&text, rep); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		out, want string
		present   bool
	}{
		{string(page), "<dt>Damaged index set aside</dt><dd>/cache/meta.damaged-20260310T115900Z", true},
		{string(page), "Corrupt blobs found", false},
		{text.String(), "Cache: a damaged index was set aside at start-up: /cache/meta.damaged-20260310T115900Z [2J", true},
		{text.String(), "corrupt blobs found", false},
	} {
		if strings.Contains(c.out, c.want) != c.present {
			t.Errorf("output has %q: %v, want %v", c.want, !c.present, c.present)
		}
	}

	rep.Cache = CacheStats{}
	page, err = renderPage(sanitized(rep))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(page), "<dt>Last scrub</dt><dd>"+dash+"</dd>") {
		t.Error("a scrub that never finished is not shown as a dash")
	}
}
