package cache

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/dgraph-io/badger/v4"
)

const (
	// scrubStateKey is the Badger key of the scrub's progress, apart from
	// the records' (r/) and the named values' (v/) keys.
	scrubStateKey = "i/scrub"
	// scrubChunk is how much the scrub reads at a time.
	scrubChunk = 256 << 10
	// scrubSaveEvery is how often a pass in progress saves its cursor, so
	// that a restart resumes it rather than starting over.
	scrubSaveEvery = time.Minute
	// maxScrubLag bounds how far behind its rate the scrub may fall (a slow
	// disk, a busy machine) before it stops trying to catch up: the rate
	// is a ceiling, never a burst.
	maxScrubLag = time.Second
)

// scrubState is the scrub's progress, kept in Badger across restarts.
type scrubState struct {
	// PassStarted is when the pass in progress started; zero when none is.
	PassStarted time.Time `json:"pass_started,omitzero"`
	// Cursor is the name of the last blob file the pass in progress hashed.
	Cursor string `json:"cursor,omitempty"`
	// LastPass is when the last complete pass ended; zero if none has.
	LastPass time.Time `json:"last_pass,omitzero"`
}

// scrubLoop re-hashes every blob file at the scrub rate, a pass every
// scrub interval, until stop is closed. A pass resumes where the last run
// left it; after an unclean start a pass starts over at once. A file that
// does not hash to its name is condemned (removed, its records dropped).
func (s *Store) scrubLoop(stop <-chan struct{}) {
	defer s.wg.Done()
	m := s.maint
	st := s.loadScrubState()
	if !st.LastPass.IsZero() {
		m.lastScrub.Store(st.LastPass.UnixNano())
	}
	now := m.uncleanStart
	for {
		if st.PassStarted.IsZero() || now {
			due := st.LastPass.Add(m.scrubInterval)
			if now {
				due = time.Time{}
			}
			if !sleepUntil(due, stop) {
				return
			}
			st.PassStarted, st.Cursor = time.Now(), ""
			s.saveScrubState(st)
		}
		now = false
		startBytes, startCorrupt := m.scrubbedBytes.Load(), m.corrupt.Load()
		done := s.scrubPass(stop, &st)
		if !done {
			s.saveScrubState(st) // resumed by the next run
			return
		}
		took := time.Since(st.PassStarted)
		st.LastPass, st.PassStarted, st.Cursor = time.Now(), time.Time{}, ""
		s.saveScrubState(st)
		m.scrubPasses.Add(1)
		m.lastScrub.Store(st.LastPass.UnixNano())
		level, read := slog.LevelInfo, m.scrubbedBytes.Load()-startBytes
		if read == 0 {
			level = slog.LevelDebug // nothing to scrub: not worth a line
		}
		s.log.Log(context.Background(), level, "cache: scrub pass done", "bytes", read,
			"corrupt_blobs_found", m.corrupt.Load()-startCorrupt, "took", took.Round(time.Second))
	}
}

// scrubPass hashes every blob file after st.Cursor, in name order, moving
// the cursor along. It returns false if stop was closed first.
func (s *Store) scrubPass(stop <-chan struct{}, st *scrubState) bool {
	p := &pacer{rate: s.maint.scrubRate, start: time.Now()}
	buf := make([]byte, scrubChunk)
	saved := time.Now()
	dirs, err := os.ReadDir(s.blobDir)
	if err != nil {
		s.log.Warn("cache: scrub cannot list blobs", "dir", s.blobDir, "err", err)
		return true
	}
	for _, d := range dirs {
		if !d.IsDir() || len(d.Name()) != 2 || (st.Cursor != "" && d.Name() < st.Cursor[:2]) {
			continue
		}
		dir := filepath.Join(s.blobDir, d.Name())
		files, err := os.ReadDir(dir)
		if err != nil {
			s.log.Warn("cache: scrub cannot list blobs", "dir", dir, "err", err)
			continue
		}
		for _, f := range files {
			sum, ok := blobName(d.Name(), f.Name())
			if !ok || !f.Type().IsRegular() || f.Name() <= st.Cursor {
				continue
			}
			if !s.scrubFile(sum, buf, p, stop) {
				return false
			}
			st.Cursor = f.Name()
			if time.Since(saved) >= scrubSaveEvery {
				s.saveScrubState(*st)
				saved = time.Now()
			}
		}
	}
	return true
}

// scrubFile hashes the blob file named after sum, at the pacer's rate,
// and condemns it if it does not hash to its name. It returns false if
// stop was closed first.
func (s *Store) scrubFile(sum [32]byte, buf []byte, p *pacer, stop <-chan struct{}) bool {
	path := s.blobPath(sum)
	f, err := os.Open(path)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) { // evicted or expired meanwhile
			s.log.Warn("cache: scrub cannot open a blob", "file", path, "err", err)
		}
		return true
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		return true
	}
	h := sha256.New()
	for {
		n, err := f.Read(buf)
		h.Write(buf[:n])
		s.maint.scrubbedBytes.Add(int64(n))
		if !p.wait(n, stop) {
			return false
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// Left for the next read: it fails the same way, and the
			// commit of the copy fetched instead replaces the file.
			s.log.Error("cache: scrub cannot read a blob", "file", path, "err", err)
			return true
		}
	}
	s.maint.scrubbedFiles.Add(1)
	var got [32]byte
	h.Sum(got[:0])
	if got == sum {
		s.markChecked(sum)
		return true
	}
	s.condemn(sum, got, info, "scrub")
	return true
}

// loadScrubState reads the scrub's progress; a missing or unreadable one
// is a fresh start.
func (s *Store) loadScrubState() scrubState {
	var st scrubState
	err := s.dbView(func(txn *badger.Txn) error {
		item, err := txn.Get([]byte(scrubStateKey))
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error { return json.Unmarshal(v, &st) })
	})
	if err != nil && !errors.Is(err, badger.ErrKeyNotFound) {
		s.log.Warn("cache: cannot read the scrub's progress; starting afresh", "err", short(err))
		return scrubState{}
	}
	return st
}

// saveScrubState writes the scrub's progress, unless the store is
// read-only; a failure is logged (the next run then scrubs more than it
// needed to).
func (s *Store) saveScrubState(st scrubState) {
	if ok, _ := s.Writable(); !ok {
		return // on a full disk: the next run scrubs a little more
	}
	v, err := json.Marshal(st)
	if err == nil {
		err = s.admit(int64(len(scrubStateKey) + len(v)))
	}
	if err == nil {
		err = s.dbUpdate(func(txn *badger.Txn) error { return txn.Set([]byte(scrubStateKey), v) })
	}
	if err != nil {
		s.log.Warn("cache: cannot save the scrub's progress", "err", short(err))
	}
}

// pacer holds reads to a rate in bytes per second.
type pacer struct {
	rate  int64
	start time.Time
	done  int64
}

// wait accounts for n bytes read and sleeps until the rate allows the
// next read. It returns false if stop was closed.
func (p *pacer) wait(n int, stop <-chan struct{}) bool {
	p.done += int64(n)
	due := p.start.Add(time.Duration(float64(p.done) / float64(p.rate) * float64(time.Second)))
	if lag := time.Until(due); lag < -maxScrubLag {
		p.start, p.done = time.Now(), 0
	}
	return sleepUntil(due, stop)
}

// sleepUntil waits until t (returning at once if it has passed) and
// reports false if stop was closed first.
func sleepUntil(t time.Time, stop <-chan struct{}) bool {
	d := time.Until(t)
	if d <= 0 {
		select {
		case <-stop:
			return false
		default:
			return true
		}
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-stop:
		return false
	case <-timer.C:
		return true
	}
}
