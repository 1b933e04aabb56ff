package cache

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"
)

// fastScrub is a scrub rate that makes a test's pass take no time.
const fastScrub = 1 << 30

// waitFor polls cond until it holds or 10 s have passed.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("10 s passed waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestScrubFindsCorruptBlobWhileRunning: a blob that rots while the
// store is open (after it was committed, so reads trust it) is found by
// the next scrub pass: the file is removed, its record dropped, the
// finding counted and logged at ERROR; the other blobs stay.
func TestScrubFindsCorruptBlobWhileRunning(t *testing.T) {
	s, logs := openOpts(t, Options{Dir: t.TempDir(), ScrubRate: fastScrub, ScrubInterval: 20 * time.Millisecond})
	for i := range 4 {
		if err := s.PutBytes(fmt.Sprint("k", i), Meta{Status: 200}, pattern(100<<10, byte(i))); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "a scrub pass over the blobs", func() bool { return s.Stats().ScrubbedFiles >= 4 })
	p := blobFile(t, s, "k2")
	flipByte(t, p, 4096)
	waitFor(t, "the scrub to find the corrupt blob", func() bool { return s.Stats().CorruptBlobs == 1 })
	wantGone(t, s, "k2", p)
	for _, i := range []int{0, 1, 3} {
		if _, got := readObject(t, s, fmt.Sprint("k", i)); !bytes.Equal(got, pattern(100<<10, byte(i))) {
			t.Errorf("k%d: wrong body after the scrub", i)
		}
	}
	st := s.Stats()
	if st.ScrubPasses < 1 || st.LastScrubAt.IsZero() || st.ScrubbedBytes < 4*100<<10 || st.Entries != 3 {
		t.Errorf("Stats = %+v", st)
	}
	if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "found_by=scrub") {
		t.Errorf("the scrub's finding was not logged at ERROR:\n%s", logs)
	}
}

// TestScrubChecksUncheckedBlobs: a pass after a restart checks the blobs
// nobody read yet, so their first reads need not hash them.
func TestScrubChecksUncheckedBlobs(t *testing.T) {
	dir := t.TempDir()
	s, _ := noScrub(t, dir)
	for i := range 3 {
		if err := s.PutBytes(fmt.Sprint("k", i), Meta{Status: 200}, pattern(100<<10, byte(i))); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	s, _ = openOpts(t, Options{Dir: dir, ScrubRate: fastScrub})
	waitFor(t, "a scrub pass", func() bool { return s.Stats().ScrubPasses == 1 })
	if st := s.Stats(); st.UncheckedBlobs != 0 || st.ScrubbedFiles != 3 {
		t.Errorf("Stats = %+v, want 3 files scrubbed and none unchecked", st)
	}
}

// TestScrubRate: a pass reads no faster than the rate.
func TestScrubRate(t *testing.T) {
	dir := t.TempDir()
	s, _ := noScrub(t, dir)
	for i := range 3 {
		if err := s.PutBytes(fmt.Sprint("k", i), Meta{Status: 200}, pattern(256<<10, byte(i))); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	start := time.Now()
	s, _ = openOpts(t, Options{Dir: dir, ScrubRate: 1 << 20})
	waitFor(t, "a scrub pass", func() bool { return s.Stats().ScrubPasses == 1 })
	// 768 KiB at 1 MiB/s: 0.75 s, less the first chunk, read at once.
	if took := time.Since(start); took < 500*time.Millisecond {
		t.Errorf("a pass over 768 KiB at 1 MiB/s took %v", took)
	}
	if st := s.Stats(); st.ScrubbedBytes != 768<<10 {
		t.Errorf("ScrubbedBytes = %d, want %d", st.ScrubbedBytes, 768<<10)
	}
}

// TestScrubStopsAtCloseAndResumes: Close stops a pass in progress at
// once, which saves where it was; a clean restart resumes the pass rather
// than waiting a whole interval, and a finished pass is not repeated
// before the interval is over, unless the start is unclean.
func TestScrubStopsAtCloseAndResumes(t *testing.T) {
	dir := t.TempDir()
	s, _ := noScrub(t, dir)
	for i := range 4 {
		if err := s.PutBytes(fmt.Sprint("k", i), Meta{Status: 200}, pattern(256<<10, byte(i))); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()

	s, _ = openOpts(t, Options{Dir: dir, ScrubRate: 256 << 10}) // 4 s a pass
	waitFor(t, "the scrub to start", func() bool { return s.Stats().ScrubbedBytes > 0 })
	start := time.Now()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("Close took %v with a scrub pass in progress", took)
	}

	s, _ = noScrub(t, dir)
	st := s.loadScrubState()
	if st.PassStarted.IsZero() || !st.LastPass.IsZero() {
		t.Errorf("saved scrub state after an interrupted pass: %+v", st)
	}
	s.Close()

	s, _ = openOpts(t, Options{Dir: dir, ScrubRate: fastScrub, ScrubInterval: time.Hour})
	waitFor(t, "the interrupted pass to finish", func() bool { return s.Stats().ScrubPasses == 1 })
	last := s.Stats().LastScrubAt
	s.Close()

	s, _ = openOpts(t, Options{Dir: dir, ScrubRate: fastScrub, ScrubInterval: time.Hour})
	time.Sleep(200 * time.Millisecond)
	if st := s.Stats(); st.ScrubPasses != 0 || !st.LastScrubAt.Equal(last) {
		t.Errorf("a clean restart within the interval: Stats %+v, want no pass and the last one at %v", st, last)
	}
	s.Close()

	simulateCrash(t, dir)
	s, _ = openOpts(t, Options{Dir: dir, ScrubRate: fastScrub, ScrubInterval: time.Hour})
	waitFor(t, "a pass after an unclean start", func() bool { return s.Stats().ScrubPasses == 1 })
}

// TestScrubOff: a negative rate starts no scrub.
func TestScrubOff(t *testing.T) {
	dir := t.TempDir()
	s, _ := noScrub(t, dir)
	if err := s.PutBytes("k", Meta{Status: 200}, pattern(100<<10, 1)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, _ = noScrub(t, dir)
	time.Sleep(100 * time.Millisecond)
	if st := s.Stats(); st.ScrubbedBytes != 0 || st.ScrubPasses != 0 {
		t.Errorf("Stats = %+v with the scrub off", st)
	}
}
