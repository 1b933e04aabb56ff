package statuspage

import (
	"bytes"
	"net/http"
	"strings"
	"testing"
)

// TestReadOnlyCacheShown: a cache whose disk is full shows in the
// verdict, the Cache panel, status.json and the text report; a writable
// one says that it stores, with its free space.
func TestReadOnlyCacheShown(t *testing.T) {
	rep := sampleReport()
	rep.Cache.FreeBytes, rep.Cache.ReserveBytes = 5<<30, 1<<30
	_, body := fetch(t, http.MethodGet, serve(t, rep).URL+"/")
	for _, want := range []string{"<dt>New answers</dt><dd>stored</dd>", "<dt>Free space</dt><dd>5.0 GiB (reserve 1.0 GiB)</dd>"} {
		if !strings.Contains(body, want) {
			t.Errorf("a writable cache: the page lacks %q", want)
		}
	}
	if strings.Contains(body, "read-only") {
		t.Error("a writable cache shown read-only")
	}

	rep.Cache.ReadOnly = "disk full: 12.0 MiB free, reserve 1.0 GiB"
	rep.Cache.FreeBytes = 12 << 20
	_, body = fetch(t, http.MethodGet, serve(t, rep).URL+"/")
	for _, want := range []string{
		"the cache is read-only (disk full: 12.0 MiB free, reserve 1.0 GiB): new answers are served without being stored, and zips not yet cached get 503",
		"<dt>New answers</dt><dd>not stored: read-only (disk full: 12.0 MiB free, reserve 1.0 GiB)</dd>",
		"<dt>Free space</dt><dd>12 MiB (reserve 1.0 GiB)</dd>",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("a read-only cache: the page lacks %q", want)
		}
	}

	_, js := fetch(t, http.MethodGet, serve(t, rep).URL+"/status.json")
	got, err := DecodeReport(strings.NewReader(js))
	if err != nil {
		t.Fatal(err)
	}
	if got.Cache.ReadOnly != rep.Cache.ReadOnly || got.Cache.FreeBytes != 12<<20 || got.Cache.ReserveBytes != 1<<30 {
		t.Errorf("status.json round trip: %+v", got.Cache)
	}

	var text bytes.Buffer
	if err := WriteText(&text, rep); err != nil {
		t.Fatal(err)
	}
	if want := "Cache: the cache is read-only (disk full: 12.0 MiB free, reserve 1.0 GiB)"; !strings.Contains(text.String(), want) {
		t.Errorf("the text report lacks %q:\n%s", want, text.String())
	}
}

// TestReadOnlyVerdictWarns: with every upstream healthy, a read-only
// cache still turns the verdict to a warning.
func TestReadOnlyVerdictWarns(t *testing.T) {
	v := verdictView{Class: "ok"}
	spaceVerdict(CacheStats{ReadOnly: "disk full"}, &v)
	if v.Class != "warn" || len(v.Details) != 1 {
		t.Errorf("verdict with a read-only cache: %+v", v)
	}
	v = verdictView{Class: "bad"}
	spaceVerdict(CacheStats{ReadOnly: "disk full"}, &v)
	if v.Class != "bad" {
		t.Errorf("a read-only cache softened a bad verdict: %+v", v)
	}
}
