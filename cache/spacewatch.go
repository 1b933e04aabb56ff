package cache

import "time"

// watchSpace checks free space every spaceCheckInterval until stop is
// closed (see checkSpace).
func (s *Store) watchSpace(stop <-chan struct{}) {
	s.every(stop, spaceCheckInterval, nil, s.checkSpace)
}

// checkSpace measures free space and acts on it:
//
//   - below Badger's headroom (others filled the disk), the ballast goes,
//     so that Badger's own flushes and compactions have room;
//   - below the reserve, or without its ballast, a writable store turns
//     read-only;
//   - above the reserve plus the hysteresis (plus the ballast's room while
//     it is missing), a read-only store makes its ballast and writes again,
//     reopening Badger read-write first if start-up opened it read-only or
//     not at all.
func (s *Store) checkSpace() {
	g := s.space
	g.mu.Lock()
	g.measureLocked()
	if !g.known {
		g.mu.Unlock()
		return
	}
	if g.mode != metaReadWrite {
		g.reason = g.lowReasonLocked()
		room := g.free >= g.reserve+g.headroom+g.hysteresis && !time.Now().Before(g.reopenAt)
		g.mu.Unlock()
		if room {
			s.reopenReadWrite()
		}
		return
	}
	defer g.mu.Unlock()
	if g.free < g.headroom && g.releaseBallastLocked("something else filled the disk below what the metadata store may need") {
		g.measureLocked()
	}
	if g.writable {
		if g.free < g.reserve || !g.ballastOKLocked() {
			g.readOnlyLocked(g.lowReasonLocked())
		}
		return
	}
	need := g.reserve + g.hysteresis
	if !g.ballastOKLocked() {
		need += g.headroom
	}
	if g.free < need || !g.tryBallastLocked() {
		g.reason = g.lowReasonLocked()
		return
	}
	g.measureLocked()
	g.writableLocked()
}

// writableLocked lets writes through again, logging the change. g.mu is
// held.
func (g *spaceGuard) writableLocked() {
	if g.writable {
		return
	}
	g.writable = true
	g.reason = ""
	g.log.Info("cache: free space is back above the reserve; storing new answers again",
		"dir", g.dir, "free", formatSize(g.free), "reserve", formatSize(g.reserve))
}
