package statuspage

import (
	"log/slog"
	"net/http"
	"time"
)

// Paths the handler serves, relative to where it is mounted.
const (
	pagePath = "/"
	jsonPath = "/status.json"
)

// Option configures a Handler.
type Option func(*handler)

// WithLogger sets the logger for reports that cannot be made or rendered;
// the default is slog.Default().
func WithLogger(log *slog.Logger) Option {
	return func(h *handler) { h.log = log }
}

// WithClock sets the clock that dates a report whose GeneratedAt is zero;
// the default is time.Now.
func WithClock(now func() time.Time) Option {
	return func(h *handler) { h.now = now }
}

// Handler serves the status page: GET / is the HTML page and GET
// /status.json the same Report as JSON, both made afresh from src for each
// request and never cached. HEAD works too; other methods get 405, other
// paths 404, and an error from src 503, each with a one-line reason.
//
// Mounted under a prefix with http.StripPrefix, the page should be reached
// with a trailing slash: its link to the JSON is relative.
func Handler(src Source, opts ...Option) http.Handler {
	h := &handler{src: src, log: slog.Default(), now: time.Now}
	for _, o := range opts {
		o(h)
	}
	return h
}

// handler is the http.Handler that Handler returns.
type handler struct {
	src Source
	log *slog.Logger
	now func() time.Time
}

// ServeHTTP answers one request for the page or its JSON.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if path == "" {
		path = pagePath
	}
	if path != pagePath && path != jsonPath {
		writeReason(w, http.StatusNotFound, "no such page: the status page is at / and its JSON at /status.json")
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeReason(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed: use GET or HEAD")
		return
	}
	rep, err := h.src.Report(r.Context())
	if err != nil {
		h.log.WarnContext(r.Context(), "status report unavailable", "path", path, "err", err)
		writeReason(w, http.StatusServiceUnavailable, "status unavailable: "+err.Error())
		return
	}
	if rep.GeneratedAt.IsZero() {
		rep.GeneratedAt = h.now()
	}
	rep = sanitized(rep)

	var body []byte
	hdr := w.Header()
	if path == jsonPath {
		body, err = encodeReport(rep)
		hdr.Set("Content-Type", "application/json")
	} else {
		body, err = renderPage(rep)
		hdr.Set("Content-Type", "text/html; charset=utf-8")
		hdr.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'")
	}
	if err != nil {
		h.log.ErrorContext(r.Context(), "status page failed", "path", path, "err", err)
		writeReason(w, http.StatusInternalServerError, "status page failed: "+err.Error())
		return
	}
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Content-Length", itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(body)
	}
}

// writeReason answers with status and a one-line plain-text reason.
func writeReason(w http.ResponseWriter, status int, reason string) {
	hdr := w.Header()
	hdr.Set("Content-Type", "text/plain; charset=utf-8")
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write([]byte(oneLine(reason, 300) + "\n"))
}
