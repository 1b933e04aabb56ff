package mirrortest

import (
	"bytes"
	"strings"
	"testing"
)

// TestMissingComponentSkipsAndReports: without the require variable a
// missing component skips the test and is noted for the end-of-run report.
func TestMissingComponentSkipsAndReports(t *testing.T) {
	t.Setenv("GOFAILOVER_REQUIRE_NOTHING_REAL", "")
	var l SkipLedger
	var skippedTest bool
	t.Run("needs a widget", func(t *testing.T) {
		defer func() { skippedTest = t.Skipped() }()
		MissingComponent(t, &l, "GOFAILOVER_REQUIRE_NOTHING_REAL", "the widget test", "no widget on PATH (apt-get install widget)")
		t.Error("MissingComponent returned")
	})
	if !skippedTest {
		t.Error("the test was not skipped")
	}
	var b bytes.Buffer
	l.Report(&b)
	for _, want := range []string{"1 test(s) SKIPPED", "the widget test: no widget on PATH", "GOFAILOVER_REQUIRE_NOTHING_REAL=1 makes it fail instead"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, b.String())
		}
	}
	var empty SkipLedger
	b.Reset()
	empty.Report(&b)
	if b.Len() != 0 {
		t.Errorf("an empty ledger reported %q", b.String())
	}
}
