package mirrortest

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
)

// SkipLedger notes the tests of one test binary that skipped because a
// real component they need (a browser, Alertmanager, promtool, root to
// mount a tmpfs) is missing, so that the binary can say so when its tests
// end: go test shows nothing of a package whose tests pass. A test package
// keeps one in a variable of its own and runs its tests with
// RunReportingSkips.
type SkipLedger struct {
	mu    sync.Mutex
	notes []string
}

// MissingComponent stops t because a component it needs is missing: what
// names the tests, why says what is missing and how to get it. When the
// environment variable requireEnv is "1" (.ci/run sets it, so CI fails
// rather than skips) the test fails; otherwise it is skipped with a loud
// message, noted in l (which may be nil).
func MissingComponent(t testing.TB, l *SkipLedger, requireEnv, what, why string) {
	t.Helper()
	if os.Getenv(requireEnv) == "1" {
		t.Fatalf("%s cannot run: %s; %s=1 requires them", what, why, requireEnv)
	}
	if l != nil {
		l.mu.Lock()
		l.notes = append(l.notes, fmt.Sprintf("%s: %s: %s (%s=1 makes it fail instead)", t.Name(), what, why, requireEnv))
		l.mu.Unlock()
	}
	t.Log(strings.Repeat("!", 72))
	t.Skipf("SKIPPING %s: %s", what, why)
}

// Report writes what was skipped, if anything, to w.
func (l *SkipLedger) Report(w io.Writer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.notes) == 0 {
		return
	}
	fmt.Fprintf(w, "%s\n%d test(s) SKIPPED for a missing component:\n", strings.Repeat("!", 72), len(l.notes))
	for _, n := range l.notes {
		fmt.Fprintf(w, "  %s\n", n)
	}
}

// RunReportingSkips runs the tests and, when they are done, reports what
// was skipped: to the terminal when there is one (go test keeps what a
// passing package prints to itself), and to standard error (shown with -v
// or when the package fails). It returns the exit status for os.Exit.
func RunReportingSkips(m *testing.M, l *SkipLedger) int {
	code := m.Run()
	if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
		l.Report(tty)
		tty.Close()
	}
	l.Report(os.Stderr)
	return code
}
