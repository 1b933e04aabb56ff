package proxy

import (
	"errors"
	"io"
	"net/http"

	"github.com/gofailover/gofailover/cache"
)

// readyProbeKey is looked up by /readyz to show that the store answers.
const readyProbeKey = "/readyz-probe"

// serveHealthz answers /healthz: the process is alive.
func (h *Handler) serveHealthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	io.WriteString(w, "ok\n")
}

// storeChecker is a store that can say whether it is usable, healing
// what it can first (cache.Store.Check: its directories, a file written,
// a record read).
type storeChecker interface{ Check() error }

// serveReadyz answers /readyz: the store is usable and there is an
// upstream to fetch from or a cache to serve from.
func (h *Handler) serveReadyz(w http.ResponseWriter, _ *http.Request) {
	if err := h.storeUsable(); err != nil {
		writeError(w, http.StatusServiceUnavailable, "cache store is not usable: "+err.Error())
		return
	}
	if len(h.cfg.Router.Upstreams()) == 0 {
		writeError(w, http.StatusServiceUnavailable, "no upstream is configured")
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	io.WriteString(w, "ready\n"+h.cacheReadOnly())
	if h.sums == nil {
		io.WriteString(w, "checksum verification: off\n")
		return
	}
	io.WriteString(w, "checksum verification: "+h.sums.Name()+"\n")
}

// storeWritable is a store that says whether it stores new answers
// (cache.Store.Writable). One that does not, on a full disk, still serves
// what it holds and what the upstreams send: /readyz says so, and ready.
type storeWritable interface{ Writable() (bool, string) }

// cacheReadOnly returns /readyz's line about a read-only store: "cache:
// read-only (disk full: 12.0 MiB free, reserve 1.0 GiB)", or nothing.
func (h *Handler) cacheReadOnly() string {
	if s, ok := h.cfg.Store.(storeWritable); ok {
		if ok, reason := s.Writable(); !ok {
			return "cache: read-only (" + reason + ")\n"
		}
	}
	return ""
}

// storeUsable checks the store with its own Check if it has one, else by
// looking a key up.
func (h *Handler) storeUsable() error {
	if c, ok := h.cfg.Store.(storeChecker); ok {
		return c.Check()
	}
	if _, err := h.cfg.Store.Lookup(readyProbeKey); err != nil && !errors.Is(err, cache.ErrNotFound) {
		return err
	}
	return nil
}
