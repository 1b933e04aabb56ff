package cache

import (
	"errors"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
)

// fakeFS is a file system whose free space the test sets.
type fakeFS struct {
	mu          sync.Mutex
	free, total int64
	err         error
	calls       int
}

func (f *fakeFS) stat(string) (fsStat, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	return fsStat{free: f.free, total: f.total}, f.err
}

func (f *fakeFS) set(free int64) {
	f.mu.Lock()
	f.free = free
	f.mu.Unlock()
}

// newTestGuard returns a read-write gate in dir over fs, with a 1 MiB
// headroom (and ballast), and what it logs.
func newTestGuard(t *testing.T, dir string, fs *fakeFS, opts Options) (*spaceGuard, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	opts.Dir = dir
	g, err := newSpaceGuard(opts, badgerOptions(dir, slog.New(slog.DiscardHandler), slog.LevelWarn), slog.New(slog.NewTextHandler(logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	g.headroom = 1 << 20
	g.stat = fs.stat
	return g, logs
}

func TestReserveRule(t *testing.T) {
	const MiB, GiB = 1 << 20, 1 << 30
	for _, tc := range []struct {
		name    string
		opts    Options
		total   int64
		reserve int64
	}{
		{"tiny file system: the headroom", Options{}, 64 * MiB, 64 * MiB},
		{"small: a tenth", Options{}, 4 * GiB, 4 * GiB / 10},
		{"20 GiB: 1 GiB", Options{}, 20 * GiB, GiB},
		{"100 GiB: 1 GiB", Options{}, 100 * GiB, GiB},
		{"2 TiB: still 1 GiB", Options{}, 2048 * GiB, GiB},
		{"bytes", Options{Reserve: 2 * GiB}, 100 * GiB, 2 * GiB},
		{"bytes below the headroom", Options{Reserve: MiB}, 100 * GiB, 64 * MiB},
		{"percent", Options{ReservePercent: 10}, 100 * GiB, 10 * GiB},
		{"bytes win over percent", Options{Reserve: 3 * GiB, ReservePercent: 10}, 100 * GiB, 3 * GiB},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := newSpaceGuard(tc.opts, badgerOptions(t.TempDir(), slog.New(slog.DiscardHandler), slog.LevelWarn), slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			if g.headroom != 64*MiB {
				t.Fatalf("Badger's headroom with the store's options is %s, want 64 MiB", formatSize(g.headroom))
			}
			if got := g.resolveReserve(tc.total); got != tc.reserve {
				t.Errorf("reserve on %s: %s, want %s", formatSize(tc.total), formatSize(got), formatSize(tc.reserve))
			}
		})
	}
}

func TestReserveOptionsChecked(t *testing.T) {
	for _, opts := range []Options{{Reserve: -1}, {ReservePercent: -1}, {ReservePercent: 100}} {
		opts.Dir = t.TempDir()
		if s, err := Open(opts); err == nil {
			s.Close()
			t.Errorf("Open(%+v) accepted the options", opts)
		}
	}
}

func TestGateRefusesBelowReserve(t *testing.T) {
	fs := &fakeFS{free: 100 << 20, total: 1 << 30}
	g, logs := newTestGuard(t, t.TempDir(), fs, Options{Reserve: 90 << 20})
	g.measure()
	g.ballast = true
	// The gate counts what it lets through between measurements.
	for i := range 9 {
		if err := g.admit(1 << 20); err != nil {
			t.Fatalf("write %d of 1 MiB with 10 MiB above the reserve: %v", i, err)
		}
	}
	fs.set(91 << 20) // the writes landed
	// A piece of a blob that does not fit fails that blob alone.
	err := g.admitBlob(2<<20, 5<<20)
	var se *SpaceError
	if !errors.As(err, &se) || !errors.Is(err, ErrNoSpace) || se.Body != 7<<20 {
		t.Fatalf("a blob's piece beyond the reserve: %v (%+v)", err, se)
	}
	if want := "no room on the cache's disk for this body (7.0 MiB so far): it has 91.0 MiB free and keeps a reserve of 90.0 MiB"; err.Error() != want {
		t.Errorf("error:\n %s\nwant\n %s", err, want)
	}
	if !g.state().Writable {
		t.Fatal("a blob too large for the room turned the store read-only")
	}
	// A record that does not fit turns the store read-only.
	err = g.admit(2 << 20)
	if !errors.Is(err, ErrNoSpace) || !errors.As(err, &se) || se.Body != 0 {
		t.Fatalf("a record beyond the reserve: %v", err)
	}
	if want := "the cache is read-only: its disk is full (91.0 MiB free, and it keeps a reserve of 90.0 MiB)"; err.Error() != want {
		t.Errorf("error:\n %s\nwant\n %s", err, want)
	}
	st := g.state()
	if st.Writable || st.Reason != "disk full: 91.0 MiB free, reserve 90.0 MiB" || st.Free != 91<<20 || st.Reserve != 90<<20 {
		t.Errorf("state after the refusal: %+v", st)
	}
	// Read-only refuses everything, even what would fit, without
	// measuring.
	calls := fs.calls
	if err := g.admit(0); !errors.Is(err, ErrNoSpace) {
		t.Errorf("a read-only store let a write through: %v", err)
	}
	if fs.calls != calls {
		t.Error("a refusal while read-only measured free space")
	}
	if n := strings.Count(logs.String(), "level=WARN"); n != 1 {
		t.Errorf("want one WARN for the change to read-only, got %d:\n%s", n, logs)
	}
}

func TestGateMeasuresNearTheReserve(t *testing.T) {
	fs := &fakeFS{free: 500 << 20, total: 1 << 30}
	g, _ := newTestGuard(t, t.TempDir(), fs, Options{Reserve: 100 << 20})
	g.measure()
	calls := fs.calls
	if err := g.admit(1 << 20); err != nil {
		t.Fatal(err)
	}
	if fs.calls != calls {
		t.Error("a write far from the reserve measured again within spaceRecheck")
	}
	// Something else takes the space: near the reserve, every write
	// measures, so the first one sees it.
	fs.set(100<<20 + 512<<10)
	g.mu.Lock()
	g.free = 101<<20 + 512<<10 // as if measured just before
	g.mu.Unlock()
	if err := g.admit(1 << 20); !errors.Is(err, ErrNoSpace) {
		t.Errorf("a write near the reserve did not measure: %v", err)
	}
}

func TestGateWithoutMeasurement(t *testing.T) {
	fs := &fakeFS{err: errors.New("statfs: no such file system")}
	g, logs := newTestGuard(t, t.TempDir(), fs, Options{})
	for range 3 {
		if err := g.admit(1 << 30); err != nil {
			t.Fatalf("free space unknown: %v", err)
		}
	}
	if st := g.state(); !st.Writable || st.Known {
		t.Errorf("state with free space unknown: %+v", st)
	}
	if n := strings.Count(logs.String(), "cannot measure free space"); n != 1 {
		t.Errorf("want the failure logged once, got %d:\n%s", n, logs)
	}
}

// TestCheckSpaceHysteresisAndBallast walks the background check through
// a disk that fills and empties: read-only below the reserve, writable
// again only past the hysteresis, the ballast deleted when others take
// the headroom and made again before writing.
func TestCheckSpaceHysteresisAndBallast(t *testing.T) {
	const MiB = 1 << 20
	dir := t.TempDir()
	fs := &fakeFS{free: 500 * MiB, total: 1 << 30}
	g, logs := newTestGuard(t, dir, fs, Options{Reserve: 100 * MiB})
	s := &Store{dir: dir, space: g, log: slog.New(slog.DiscardHandler)}
	s.readWriteOpened()
	ballast := func() bool { _, err := os.Stat(ballastPath(dir)); return err == nil }
	if !g.state().Writable || !ballast() {
		t.Fatalf("opened with room: %+v, ballast %v", g.state(), ballast())
	}
	step := func(free int64, writable, withBallast bool) {
		t.Helper()
		fs.set(free)
		s.checkSpace()
		st := g.state()
		if st.Writable != writable || ballast() != withBallast {
			t.Fatalf("%s free: %+v, ballast %v; want writable %v, ballast %v", formatSize(free), st, ballast(), writable, withBallast)
		}
	}
	hyst := g.hysteresis
	step(99*MiB, false, true)                 // below the reserve
	step(100*MiB+hyst/2, false, true)         // back, but within the hysteresis
	step(100*MiB+hyst, true, true)            // past it
	step(MiB/2, false, false)                 // others took even the headroom: the ballast goes
	step(100*MiB+hyst, false, false)          // no room to make the ballast again
	step(100*MiB+hyst+g.headroom, true, true) // room for it: made, and writable
	step(MiB/2, false, false)                 // gone again
	if st := g.state(); st.Reason != "disk full: 512.0 KiB free, reserve 100.0 MiB" {
		t.Errorf("reason: %q", st.Reason)
	}
	// Without its ballast a writable store turns read-only at the next
	// check, whatever is free.
	g.mu.Lock()
	g.writable = true
	g.mu.Unlock()
	step(100*MiB+hyst, false, false)
	for _, want := range []string{"deleted the ballast", "storing new answers again"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the log lacks %q:\n%s", want, logs)
		}
	}
}

func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{
		0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 12<<20 + 1<<19: "12.5 MiB", 64 << 20: "64.0 MiB", 3 << 40: "3.0 TiB",
	} {
		if got := formatSize(n); got != want {
			t.Errorf("formatSize(%d) = %q, want %q", n, got, want)
		}
	}
}
