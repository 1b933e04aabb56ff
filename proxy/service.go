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

// serveReadyz answers /readyz: the store is open and there is an upstream
// to fetch from or a cache to serve from.
func (h *Handler) serveReadyz(w http.ResponseWriter, _ *http.Request) {
	if _, err := h.cfg.Store.Lookup(readyProbeKey); err != nil && !errors.Is(err, cache.ErrNotFound) {
		writeError(w, http.StatusServiceUnavailable, "cache store is not usable: "+err.Error())
		return
	}
	if len(h.cfg.Router.Upstreams()) == 0 {
		writeError(w, http.StatusServiceUnavailable, "no upstream is configured")
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if h.sums == nil {
		io.WriteString(w, "ready\nchecksum verification: off\n")
		return
	}
	io.WriteString(w, "ready\nchecksum verification: "+h.sums.Name()+"\n")
}
