package cache

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gofailover/gofailover/proxy/mirrortest"
)

// The disk-full tests run the store on a small tmpfs that a filler file
// fills, in child processes (this test binary, re-executed), because a
// store that lets Badger write on a full disk dies of SIGBUS, which would
// kill the test binary. The parent mounts the tmpfs, starts the children,
// and checks their exit status and what they print.
//
// Mounting needs root: the tests skip, saying so, when not root, and fail
// instead when GOFAILOVER_REQUIRE_ROOT_TESTS=1 (as .ci/run sets).
const (
	requireRootEnv = "GOFAILOVER_REQUIRE_ROOT_TESTS"
	// diskFullChildEnv names the step a child runs; diskFullMountEnv is
	// the tmpfs it runs on.
	diskFullChildEnv = "GOFAILOVER_DISKFULL_CHILD"
	diskFullMountEnv = "GOFAILOVER_DISKFULL_MOUNT"
	// tmpfsSize is the test file system's size: the 64 MiB ballast and
	// the 64 MiB smallest reserve, and room for answers.
	tmpfsSize = 256 << 20
	// tmpfsMagic is tmpfs's f_type in statfs.
	tmpfsMagic = 0x01021994
	// recoveryWithin bounds how long a store may take to write again
	// once space returns: the check interval, and slack for -race.
	recoveryWithin = spaceCheckInterval + 2*time.Second
)

// mountTmpfs mounts a tmpfs of size bytes on a new temporary directory,
// unmounted when the test ends, or skips (fails, under
// GOFAILOVER_REQUIRE_ROOT_TESTS=1) when it cannot.
func mountTmpfs(t *testing.T, size int64) string {
	t.Helper()
	if os.Geteuid() != 0 {
		cannotMount(t, "not running as root")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, fmt.Sprintf("size=%d", size)); err != nil {
		cannotMount(t, fmt.Sprintf("mounting a tmpfs on %s failed: %v", dir, err))
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(dir, 0); err != nil {
			t.Errorf("unmounting the tmpfs at %s: %v", dir, err)
			_ = syscall.Unmount(dir, syscall.MNT_DETACH)
		}
	})
	checkTmpfs(t, dir)
	return dir
}

// cannotMount skips the test, loudly, because why keeps it from mounting
// a tmpfs; under GOFAILOVER_REQUIRE_ROOT_TESTS=1 it fails it instead.
func cannotMount(t *testing.T, why string) {
	t.Helper()
	mirrortest.MissingComponent(t, &skipped, requireRootEnv, "the disk-full tests",
		why+"; they mount a tmpfs, which needs root (CI runs them as root)")
}

// checkTmpfs fails the test unless dir is on a tmpfs of at most 1 GiB:
// the tests fill their file system, and must never fill a real one.
func checkTmpfs(t testing.TB, dir string) {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatalf("statfs %s: %v", dir, err)
	}
	if st.Type != tmpfsMagic || int64(st.Blocks)*st.Bsize > 1<<30 {
		t.Fatalf("%s is not a small tmpfs (type %#x, %d bytes): refusing to fill it", dir, st.Type, int64(st.Blocks)*st.Bsize)
	}
}

// freeOn returns the free bytes on dir's file system.
func freeOn(t testing.TB, dir string) int64 {
	t.Helper()
	st, err := statFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	return st.free
}

// fillTo grows (or shrinks) the filler file on the tmpfs at mnt until the
// file system has at most leave bytes free (rounded to its pages). It
// does not chase space that appears meanwhile, such as the room of a
// ballast the store deletes when it sees the disk full.
func fillTo(t testing.TB, mnt string, leave int64) {
	t.Helper()
	checkTmpfs(t, mnt)
	f, err := os.OpenFile(filepath.Join(mnt, "filler"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	size := fi.Size()
	for range 4 {
		grow := freeOn(t, mnt) - leave
		if grow == 0 {
			return
		}
		if size+grow < 0 {
			grow = -size
		}
		if grow < 0 {
			err = f.Truncate(size + grow)
		} else {
			err = syscall.Fallocate(int(f.Fd()), 0, size, grow)
		}
		if err != nil && !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("filling %s to leave %d bytes: %v", mnt, leave, err)
		}
		if fi, err = f.Stat(); err != nil {
			t.Fatal(err)
		}
		size = fi.Size()
		if free := freeOn(t, mnt); free <= leave || free-leave > 1<<20 {
			return
		}
	}
}

// childStore is a store a child opened on the tmpfs, and what it logs
// (to stderr as well, for the parent).
type childStore struct {
	*Store
	logs *logBuffer
}

// openChild opens the store in mnt/cache with opts.
func openChild(t *testing.T, mnt string, opts Options) childStore {
	t.Helper()
	logs := &logBuffer{}
	opts.Dir = filepath.Join(mnt, "cache")
	opts.Logger = slog.New(slog.NewTextHandler(io.MultiWriter(logs, os.Stderr), &slog.HandlerOptions{Level: slog.LevelInfo}))
	s, err := Open(opts)
	if err != nil {
		t.Fatalf("Open on the tmpfs: %v", err)
	}
	return childStore{s, logs}
}

// report prints a line the parent logs.
func report(format string, args ...any) {
	fmt.Printf("REPORT "+format+"\n", args...)
}

// randomBody returns n random bytes.
func randomBody(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// checkRead fails unless key reads back as body.
func checkRead(t *testing.T, s *Store, key string, body []byte) {
	t.Helper()
	if _, got := readObject(t, s, key); !bytes.Equal(got, body) {
		t.Fatalf("reading %q: %d bytes, want the %d written", key, len(got), len(body))
	}
}

// checkRefused fails unless err is a refusal for want of space that says so.
func checkRefused(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, ErrNoSpace) {
		t.Fatalf("%s on a full disk: %v, want an error wrapping ErrNoSpace", what, err)
	}
	readOnly := strings.Contains(err.Error(), "the cache is read-only: its disk is full (") && strings.Contains(err.Error(), "it keeps a reserve of ")
	noRoom := strings.Contains(err.Error(), "no room on the cache's disk for this body (") && strings.Contains(err.Error(), "keeps a reserve of ")
	if !readOnly && !noRoom {
		t.Fatalf("%s on a full disk: %q does not say why", what, err)
	}
}

// minFree samples the free space on mnt every millisecond until stop is
// called, which returns the least seen.
func minFree(t *testing.T, mnt string) (stop func() int64) {
	var least atomic.Int64
	least.Store(freeOn(t, mnt))
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-done:
				return
			case <-time.After(time.Millisecond):
			}
			if st, err := statFS(mnt); err == nil && st.free < least.Load() {
				least.Store(st.free)
			}
		}
	})
	return func() int64 {
		close(done)
		wg.Wait()
		return least.Load()
	}
}

// waitWritable waits up to recoveryWithin for the store to write again
// and returns how long it took.
func waitWritable(t *testing.T, s *Store) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		if ok, _ := s.Writable(); ok {
			return time.Since(start)
		}
		if time.Since(start) > recoveryWithin {
			_, reason := s.Writable()
			t.Fatalf("still read-only %v after space returned: %s", recoveryWithin, reason)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDiskFullChild is the child half of the disk-full tests; it is
// skipped unless one of them runs it.
func TestDiskFullChild(t *testing.T) {
	step := os.Getenv(diskFullChildEnv)
	if step == "" {
		t.Skip("run by the disk-full tests only")
	}
	mnt := os.Getenv(diskFullMountEnv)
	checkTmpfs(t, mnt)
	switch step {
	case "burst":
		childBurst(t, mnt)
	case "downloads":
		childDownloads(t, mnt)
	case "seed":
		childSeed(t, mnt, "")
	case "seed-and-wait":
		childSeed(t, mnt, "wait")
	case "seed-close-full":
		childSeed(t, mnt, "close-full")
	case "full-start":
		childFullStart(t, mnt)
	default:
		t.Fatalf("unknown step %q", step)
	}
	fmt.Println("DONE " + step)
}

// runChild runs step in a child on the tmpfs at mnt and returns its
// output, failing the test unless it ran to its end without a signal.
func runChild(t *testing.T, mnt, step string) string {
	t.Helper()
	cmd := childCommand(t, mnt, step)
	out, err := cmd.CombinedOutput()
	logChild(t, step, string(out))
	if err != nil || !strings.Contains(string(out), "DONE "+step) {
		t.Fatalf("child %q: %v; output:\n%s", step, err, tail(string(out)))
	}
	return string(out)
}

// childCommand returns the command that runs step in a child.
func childCommand(t *testing.T, mnt, step string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^TestDiskFullChild$", "-test.count=1", "-test.timeout=3m")
	cmd.Env = append(os.Environ(), diskFullChildEnv+"="+step, diskFullMountEnv+"="+mnt)
	return cmd
}

// logChild logs the lines a child reported, and fails the test if it
// died of SIGBUS.
func logChild(t *testing.T, step, out string) {
	t.Helper()
	for line := range strings.Lines(out) {
		if r, ok := strings.CutPrefix(line, "REPORT "); ok {
			t.Logf("%s: %s", step, strings.TrimSpace(r))
		}
	}
	if strings.Contains(out, "SIGBUS") {
		t.Fatalf("child %q died of SIGBUS:\n%s", step, tail(out))
	}
}

// tail returns the last lines of a child's output.
func tail(out string) string {
	lines := strings.Split(out, "\n")
	return strings.Join(lines[max(0, len(lines)-60):], "\n")
}

// TestDiskFullBurst: thousands of small answers arrive while a filler
// leaves little more than the reserve; then something else takes every
// byte; then space returns. No SIGBUS; writes are refused cleanly; reads
// keep working; writes come back within the check interval.
func TestDiskFullBurst(t *testing.T) {
	mnt := mountTmpfs(t, tmpfsSize)
	out := runChild(t, mnt, "burst")
	for _, want := range []string{"level=WARN msg=\"cache: read-only", "deleted the ballast", "storing new answers again"} {
		if !strings.Contains(out, want) {
			t.Errorf("the child's log lacks %q", want)
		}
	}
}

// childBurst is TestDiskFullBurst's child.
func childBurst(t *testing.T, mnt string) {
	rng := rand.New(rand.NewPCG(1, 2))
	s := openChild(t, mnt, Options{})
	sp := s.space.state()
	report("opened: %s free of %s, reserve %s, writable %v", formatSize(sp.Free), formatSize(tmpfsSize), formatSize(sp.Reserve), sp.Writable)
	if !sp.Writable || sp.Reserve != 64<<20 {
		t.Fatalf("a fresh store on %s: %+v, want writable with the smallest reserve, 64 MiB", formatSize(tmpfsSize), sp)
	}
	bodies := map[string][]byte{}
	for i := range 200 {
		key := fmt.Sprintf("seed/%d", i)
		bodies[key] = randomBody(rng, 2000)
		if i%50 == 0 {
			bodies[key] = randomBody(rng, 200<<10) // a blob
		}
		if err := s.PutBytes(key, Meta{Status: 200}, bodies[key]); err != nil {
			t.Fatal(err)
		}
	}

	fillTo(t, mnt, sp.Reserve+4<<20)
	time.Sleep(2 * spaceRecheck) // the filler has been there a while
	report("filler leaves %s free", formatSize(freeOn(t, mnt)))
	least := minFree(t, mnt)
	var stored, refused int
	for i := range 5000 {
		key := fmt.Sprintf("burst/%d", i)
		body := randomBody(rng, 2000)
		err := s.PutBytes(key, Meta{Status: 200}, body)
		switch {
		case err == nil:
			stored++
			bodies[key] = body
		case errors.Is(err, ErrNoSpace):
			if refused == 0 {
				report("first refusal after %d answers: %v", stored, err)
			}
			checkRefused(t, "PutBytes", err)
			refused++
		default:
			t.Fatalf("PutBytes %q: %v", key, err)
		}
	}
	low := least()
	ok, reason := s.Writable()
	report("burst of 5000 answers of 2000 bytes: %d stored, %d refused; least free %s (reserve %s); writable %v (%s)",
		stored, refused, formatSize(low), formatSize(sp.Reserve), ok, reason)
	if stored < 1000 || refused == 0 || ok || !strings.HasPrefix(reason, "disk full: ") {
		t.Fatalf("want about 2,000 stored, the rest refused and the store read-only")
	}
	if st := s.Stats(); st.Writable || st.ReadOnly != reason || st.FreeBytes < sp.Reserve-(8<<20) || st.ReserveBytes != sp.Reserve {
		t.Fatalf("Stats says %+v", st)
	}
	if low < sp.Reserve-badgerHeadroom(8<<20, 1<<20, 2)/2 {
		t.Fatalf("free space fell to %s, far below the reserve %s", formatSize(low), formatSize(sp.Reserve))
	}
	for key, body := range bodies {
		checkRead(t, s.Store, key, body)
	}

	// Something else takes every byte: the ballast goes, so that Badger
	// can still flush and close.
	fillTo(t, mnt, 0)
	report("filler leaves %s free", formatSize(freeOn(t, mnt)))
	waitBallastGone(t, s.Store, mnt)
	report("ballast deleted: %s free", formatSize(freeOn(t, mnt)))
	for i := range 1000 {
		checkRefused(t, "PutBytes", s.PutBytes(fmt.Sprintf("full/%d", i), Meta{Status: 200}, randomBody(rng, 2000)))
	}
	_, err := s.NewBlob()
	checkRefused(t, "NewBlob", err)
	checkRefused(t, "SwapValue", s.SwapValue("v", nil, []byte("x")))
	checkRefused(t, "Delete", s.Delete("seed/1"))
	checkRefused(t, "MarkVerified", s.MarkVerified("seed/1", sha256.Sum256(bodies["seed/1"])))
	for key, body := range bodies {
		checkRead(t, s.Store, key, body)
	}
	report("1,000 more answers, a blob, a value, a delete and a mark refused; %d answers read back", len(bodies))

	// Space returns.
	if err := os.Remove(filepath.Join(mnt, "filler")); err != nil {
		t.Fatal(err)
	}
	took := waitWritable(t, s.Store)
	report("filler deleted: writable again after %v, %s free, ballast back: %v", took.Round(time.Millisecond), formatSize(freeOn(t, mnt)), fileExists(ballastPath(s.dir)))
	if !fileExists(ballastPath(s.dir)) {
		t.Fatal("writable again without the ballast")
	}
	if err := s.PutBytes("after", Meta{Status: 200}, []byte("back")); err != nil {
		t.Fatal(err)
	}
	checkRead(t, s.Store, "after", []byte("back"))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// waitBallastGone waits up to recoveryWithin for s to delete its ballast,
// on a disk that something else filled, and for its room to show as free
// (the name goes before the unlink has freed the pages).
func waitBallastGone(t *testing.T, s *Store, mnt string) {
	t.Helper()
	deadline := time.Now().Add(recoveryWithin)
	for fileExists(ballastPath(s.dir)) || freeOn(t, mnt) < s.space.headroom/2 {
		if time.Now().After(deadline) {
			t.Fatalf("with the disk full, after %v: ballast there %v, %s free", recoveryWithin, fileExists(ballastPath(s.dir)), formatSize(freeOn(t, mnt)))
		}
		time.Sleep(time.Millisecond)
	}
}

// fileExists reports whether p exists.
func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// TestDiskFullDownloads: large bodies stream into blobs until the disk
// reaches the reserve. Those that fit are stored whole and read back; the
// others are refused with an error that says why, and leave nothing
// behind; small answers are still stored beside them.
func TestDiskFullDownloads(t *testing.T) {
	mnt := mountTmpfs(t, tmpfsSize)
	runChild(t, mnt, "downloads")
}

// childDownloads is TestDiskFullDownloads's child.
func childDownloads(t *testing.T, mnt string) {
	s := openChild(t, mnt, Options{})
	sp := s.space.state()
	fillTo(t, mnt, sp.Reserve+40<<20)
	time.Sleep(2 * spaceRecheck) // the filler has been there a while
	report("filler leaves %s free (reserve %s)", formatSize(freeOn(t, mnt)), formatSize(sp.Reserve))
	least := minFree(t, mnt)
	const downloads, size, chunk = 8, 12 << 20, 256 << 10
	var stored, refused int
	for i := range downloads {
		key := fmt.Sprintf("example.com/m/@v/v1.0.%d.zip", i)
		sum, when, err := download(s.Store, key, uint64(i), size, chunk)
		switch {
		case err == nil:
			stored++
			e, err := s.Lookup(key)
			if err != nil || e.SHA256 != sum || e.Size != size {
				t.Fatalf("%s: stored, but reads back as %+v, %v", key, e, err)
			}
		default:
			checkRefused(t, when, err)
			if refused == 0 {
				report("%s refused at %s: %v", key, when, err)
			}
			refused++
		}
		if ents, err := os.ReadDir(s.tmpDir); err != nil || len(ents) != 0 {
			t.Fatalf("tmp holds %d files after download %d (%v)", len(ents), i, err)
		}
	}
	low := least()
	ok, reason := s.Writable()
	report("%d downloads of %s each, one after another: %d stored, %d refused; least free %s (reserve %s); writable %v %s",
		downloads, formatSize(size), stored, refused, formatSize(low), formatSize(sp.Reserve), ok, reason)
	if stored != 3 || refused != downloads-3 {
		t.Fatalf("%d stored and %d refused, want 3 stored (36 MiB of the 40 MiB above the reserve) and the rest refused", stored, refused)
	}
	if low < sp.Reserve {
		t.Fatalf("free space fell to %s, below the reserve %s", formatSize(low), formatSize(sp.Reserve))
	}
	// A download that does not fit fails alone: small answers are still
	// stored (and the store reads as writable).
	if !ok {
		t.Fatalf("read-only after downloads too large for the room: %s", reason)
	}
	if err := s.PutBytes("example.com/m/@v/v1.0.0.info", Meta{Status: 200}, []byte(`{"Version":"v1.0.0"}`)); err != nil {
		t.Fatalf("a small answer beside the refused downloads: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// download streams size random bytes (seeded) into a blob in chunks and
// commits it as key; on failure it says which call failed.
func download(s *Store, key string, seed uint64, size, chunk int) (sum [32]byte, when string, err error) {
	rng := rand.New(rand.NewPCG(seed, 7))
	b, err := s.NewBlob()
	if err != nil {
		return sum, "NewBlob", err
	}
	defer b.Discard()
	h := sha256.New()
	for range size / chunk {
		p := randomBody(rng, chunk)
		h.Write(p)
		if _, err := b.Write(p); err != nil {
			return sum, "Write", err
		}
	}
	if _, err := s.CommitBlob(key, Meta{Status: 200, Immutable: true}, b); err != nil {
		return sum, "CommitBlob", err
	}
	return [32]byte(h.Sum(nil)), "", nil
}

// seedKeys is what childSeed stores: small answers, blobs, a value.
func seedKeys() map[string][]byte {
	rng := rand.New(rand.NewPCG(3, 4))
	m := map[string][]byte{}
	for i := range 300 {
		m[fmt.Sprintf("seed/%d.info", i)] = randomBody(rng, 1000+i)
	}
	for i := range 3 {
		m[fmt.Sprintf("seed/%d.zip", i)] = randomBody(rng, 300<<10)
	}
	return m
}

// childSeed stores seedKeys and closes the store. With then "wait" it
// prints SEEDED and waits to be killed instead (an unclean stop: the
// memtable log is not flushed); with "close-full" it fills the disk, waits
// for the ballast to go, and closes the store on the full disk (closing
// flushes the memtable into a table).
func childSeed(t *testing.T, mnt string, then string) {
	s := openChild(t, mnt, Options{})
	for key, body := range seedKeys() {
		if err := s.PutBytes(key, Meta{Status: 200, Immutable: true}, body); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SwapValue("tree", nil, []byte("head")); err != nil {
		t.Fatal(err)
	}
	switch then {
	case "wait":
		fmt.Println("SEEDED")
		time.Sleep(time.Minute)
		t.Fatal("not killed")
	case "close-full":
		fillTo(t, mnt, 0)
		waitBallastGone(t, s.Store, mnt)
		report("closing with %s free (the ballast's room)", formatSize(freeOn(t, mnt)))
		defer func() { report("closed: %s free", formatSize(freeOn(t, mnt))) }()
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// childFullStart opens the store on a full disk, as the parent arranged
// it (FULLSTART_WANT says which mode it expects), checks that it reads
// (or, without its metadata store, misses) and refuses writes, then frees
// the disk and checks that it writes again and reads everything.
func childFullStart(t *testing.T, mnt string) {
	want := os.Getenv("FULLSTART_WANT")
	report("start-up with %s free", formatSize(freeOn(t, mnt)))
	s := openChild(t, mnt, Options{})
	sp := s.space.state()
	report("opened: writable %v, %s", sp.Writable, sp.Reason)
	if sp.Writable {
		t.Fatal("writable on a full disk")
	}
	mode := s.space.currentMode().String()
	if mode != want {
		t.Fatalf("opened %s, want %s", mode, want)
	}
	seeds := seedKeys()
	for key, body := range seeds {
		if want == "absent" {
			if _, err := s.Open(key); !errors.Is(err, ErrNotFound) {
				t.Fatalf("reading %q without the metadata store: %v, want ErrNotFound", key, err)
			}
			continue
		}
		checkRead(t, s.Store, key, body)
	}
	checkRefused(t, "PutBytes", s.PutBytes("new", Meta{Status: 200}, []byte("x")))
	_, err := s.NewBlob()
	checkRefused(t, "NewBlob", err)
	checkRefused(t, "SwapValue", s.SwapValue("tree", []byte("head"), []byte("next")))
	report("%s: %d seeded answers %s, writes refused", mode, len(seeds), map[bool]string{true: "miss", false: "read back"}[want == "absent"])

	if err := os.Remove(filepath.Join(mnt, "filler")); err != nil {
		t.Fatal(err)
	}
	took := waitWritable(t, s.Store)
	report("filler deleted: writable again after %v, now %s", took.Round(time.Millisecond), s.space.currentMode())
	for key, body := range seeds {
		checkRead(t, s.Store, key, body)
	}
	if err := s.PutBytes("new", Meta{Status: 200}, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Entries != int64(len(seeds))+1 {
		t.Fatalf("Stats counts %d entries, want %d", st.Entries, len(seeds)+1)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestDiskFullStart starts the store on a tmpfs that a filler left with no
// free byte: after a clean stop with its ballast (Badger opens read-write
// in the ballast's room), after a clean stop without one (Badger opens
// read-only), and after a crash without one (no metadata store: every
// read misses). Each opens, reads what it can, refuses writes, and writes
// again once the filler is deleted.
func TestDiskFullStart(t *testing.T) {
	if os.Geteuid() != 0 {
		cannotMount(t, "not running as root")
	}
	for _, tc := range []struct {
		name      string
		seed      string
		noBallast bool
		want      string
	}{
		{"with ballast", "seed", false, "read-write"},
		{"clean stop, no ballast", "seed", true, "read-only"},
		{"crash, no ballast", "seed-and-wait", true, "absent"},
		{"closed on the full disk", "seed-close-full", false, "read-only"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mnt := mountTmpfs(t, tmpfsSize)
			if tc.seed == "seed-and-wait" {
				cmd := childCommand(t, mnt, "seed-and-wait")
				out := &logBuffer{}
				cmd.Stdout, cmd.Stderr = out, out
				if err := cmd.Start(); err != nil {
					t.Fatal(err)
				}
				deadline := time.Now().Add(time.Minute)
				for !strings.Contains(out.String(), "SEEDED") && time.Now().Before(deadline) {
					time.Sleep(10 * time.Millisecond)
				}
				cmd.Process.Kill()
				cmd.Wait()
				if !strings.Contains(out.String(), "SEEDED") {
					t.Fatalf("the seeding child did not finish:\n%s", tail(out.String()))
				}
			} else {
				runChild(t, mnt, tc.seed)
			}
			if tc.noBallast {
				if err := os.Remove(ballastPath(filepath.Join(mnt, "cache"))); err != nil {
					t.Fatal(err)
				}
			}
			fillTo(t, mnt, 0)
			t.Setenv("FULLSTART_WANT", tc.want)
			out := runChild(t, mnt, "full-start")
			if !strings.Contains(out, "level=ERROR") && tc.want != "read-write" {
				t.Errorf("start-up on a full disk without a ballast logged no ERROR")
			}
		})
	}
}
