package proxy

import (
	"context"
	"fmt"
	"io/fs"
	"net/http"
	"time"

	"github.com/gofailover/gofailover/health"
	"github.com/gofailover/gofailover/proxy/checksum"
	"github.com/gofailover/gofailover/proxy/protocol"
	"github.com/gofailover/gofailover/proxy/upstream"
)

// sumdbSources returns the ways the verifier reads its database, best
// first: the database's own URL when configured, else each public
// upstream's /sumdb/<name>/ path in the router's order.
//
// The verifier tries sources one after another (each has its own client,
// so that bad content is blamed on the upstream that served it), so an
// upstream that has stopped answering would cost every lookup the whole
// first-byte timeout. Instead, each upstream but the last gets three times
// its hedge delay (within the hedge ceiling) to start answering, then the
// read gives up on it and the next is tried. Giving up, unlike a hedge,
// throws the wait away: hence more patience than a hedge gets.
//
// With a shared store, the store comes first: what it holds was verified
// by a replica, and is verified again here.
func (h *Handler) sumdbSources() []checksum.Source {
	var out []checksum.Source
	if h.sharedSum != nil {
		out = append(out, h.sharedSum)
	}
	db := h.cfg.SumDB
	if db.URL != nil {
		own := &health.Upstream{Name: db.URL.Redacted(), URL: db.URL}
		return append(out, &sumdbSource{h: h, upstream: own, own: true, last: true})
	}
	ups := h.cfg.Router.Candidates()
	for i, u := range ups {
		src := &sumdbSource{h: h, upstream: u, last: i == len(ups)-1}
		if !src.last {
			src.patience = min(3*h.upstreamHedgeDelay(h.cfg.Router, u), h.cfg.HedgeCeiling)
		}
		out = append(out, src)
	}
	return out
}

// reportBadContent tells the router that an upstream served checksum
// database content that failed verification.
func (h *Handler) reportBadContent(source string, err error) {
	if h.sharedSum != nil && source == h.sharedSum.Name() {
		h.sharedSum.condemnRecent(err)
		return
	}
	for _, u := range h.cfg.Router.Upstreams() {
		if u.Name == source {
			h.cfg.Router.Report(u, health.Outcome{Status: http.StatusOK, Failure: health.FailBadContent, Err: err})
			return
		}
	}
}

// sumdbSource reads checksum-database paths from one upstream's
// /sumdb/<name>/ path, or from the database's own URL.
type sumdbSource struct {
	h        *Handler
	upstream *health.Upstream
	// own marks the database's own URL, which serves its paths without
	// the /sumdb/<name> prefix and is no upstream of the router's.
	own bool
	// last marks the last source: the slow-body floor does not apply.
	last bool
	// patience is how long the upstream may take to start answering
	// before the read gives up on it; zero means the first-byte timeout.
	patience time.Duration
}

// Name identifies the source.
func (s *sumdbSource) Name() string { return s.upstream.Name }

// ReadRemote fetches one database path, such as /lookup/m@v1.0.0, through
// the upstream client. A definitive answer (the database does not know the
// module, or refuses it) is an error wrapping fs.ErrNotExist, and is no
// failure of the upstream that relayed it.
func (s *sumdbSource) ReadRemote(ctx context.Context, path string) ([]byte, error) {
	name := s.h.cfg.SumDB.Name
	req, err := protocol.ParseRequest("/sumdb/" + name + path)
	if err != nil {
		return nil, fmt.Errorf("checksum database path %s: %w", path, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	opt := upstream.Options{Last: s.last}
	if s.own {
		opt.Path = path
	}
	if s.patience > 0 {
		// Give up on an upstream that has not started answering in
		// time; once it has, the body has the usual rules.
		impatient := time.AfterFunc(s.patience, cancel)
		defer impatient.Stop()
		opt.OnHeader = func() { impatient.Stop() }
	}
	resp := s.h.client.Get(ctx, s.upstream, req, opt)
	if !s.own {
		s.h.report(s.h.cfg.Router, s.upstream, resp)
	}
	s.h.logAttempt(s.upstream, "sumdb", req.Path, resp, resp.Err, false)
	switch {
	case resp.OK():
		return resp.Body, nil
	case resp.Definitive():
		return nil, fmt.Errorf("%s%s: %d %s: %w", s.upstream.Name, req.Path, resp.Status, resp.Reason, fs.ErrNotExist)
	case resp.Cancelled && ctx.Err() != nil && s.patience > 0 && resp.Status == 0:
		return nil, fmt.Errorf("%s: no answer within %v; trying the next source", s.upstream.Name, s.patience)
	}
	return nil, resp.Err
}
