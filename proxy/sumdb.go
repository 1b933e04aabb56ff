package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/gofailover/gofailover/health"
	"github.com/gofailover/gofailover/proxy/checksum"
)

// maxSumDBBytes bounds a checksum-database answer read by the verifier:
// lookups and tiles are a few kilobytes.
const maxSumDBBytes = 1 << 20

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
func (h *Handler) sumdbSources() []checksum.Source {
	db := h.cfg.SumDB
	if db.URL != nil {
		return []checksum.Source{&sumdbSource{h: h, name: db.URL.Redacted(), base: db.URL}}
	}
	ups := h.cfg.Router.Candidates()
	out := make([]checksum.Source, 0, len(ups))
	for i, u := range ups {
		base := *u.URL
		base.Path += "/sumdb/" + db.Name
		src := &sumdbSource{h: h, name: u.Name, base: &base, upstream: u}
		if i < len(ups)-1 {
			src.patience = min(3*h.upstreamHedgeDelay(h.cfg.Router, u), h.cfg.HedgeCeiling)
		}
		out = append(out, src)
	}
	return out
}

// reportBadContent tells the router that an upstream served checksum
// database content that failed verification.
func (h *Handler) reportBadContent(source string, err error) {
	for _, u := range h.cfg.Router.Upstreams() {
		if u.Name == source {
			h.cfg.Router.Report(u, health.Outcome{Status: http.StatusOK, Failure: health.FailBadContent, Err: err})
			return
		}
	}
}

// sumdbSource reads checksum-database paths below one base URL.
type sumdbSource struct {
	h        *Handler
	name     string
	base     *url.URL
	upstream *health.Upstream // nil for the database's own URL
	// patience is how long the upstream may take to start answering
	// before the read gives up on it; zero means the first-byte timeout.
	patience time.Duration
}

// Name identifies the source.
func (s *sumdbSource) Name() string { return s.name }

// ReadRemote fetches one database path, such as /lookup/m@v1.0.0.
func (s *sumdbSource) ReadRemote(ctx context.Context, path string) ([]byte, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := time.Now()
	var out health.Outcome
	var impatient atomic.Bool
	if s.patience > 0 {
		t := time.AfterFunc(s.patience, func() { impatient.Store(true); cancel() })
		defer t.Stop()
	}
	data, err := s.read(ctx, cancel, path, &out)
	out.Total = time.Since(start)
	if impatient.Load() && out.Status == 0 {
		// Like a lost hedge: it takes at least this long, which is
		// what the router learns.
		if s.upstream != nil && s.h.base.Err() == nil {
			s.h.cfg.Router.Report(s.upstream, health.AbandonedAfter(out.Total))
		}
		return nil, fmt.Errorf("%s: no answer within %v; trying the next source", s.name, s.patience)
	}
	if err != nil && out.Failure == health.FailNone && !isNotExist(err) {
		out.Failure = classify(err)
	}
	out.Err = err
	if s.upstream != nil && ctx.Err() == nil && !errors.Is(err, errUpstreamBusy) {
		s.h.cfg.Router.Report(s.upstream, out)
	}
	return data, err
}

func (s *sumdbSource) read(ctx context.Context, cancel context.CancelFunc, path string, out *health.Outcome) ([]byte, error) {
	target := upstreamURL(s.base, path)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, fmt.Errorf("building request for %s: %w", target, err)
	}
	req.Header.Set("User-Agent", "gofailover")
	release, err := s.h.limits.acquire(ctx, s.name)
	if err != nil {
		return nil, err
	}
	defer release()
	start := time.Now()
	resp, err := s.h.cfg.Client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out.Status = resp.StatusCode
	out.FirstByte = time.Since(start)
	body := newIdleReader(resp.Body, s.h.cfg.IdleTimeout, cancel)
	defer body.stop()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound, http.StatusGone:
		return nil, fmt.Errorf("%s: %s: %w", target, resp.Status, fs.ErrNotExist)
	default:
		if resp.StatusCode >= 500 {
			out.Failure = health.FailStatus5xx
		} else if resp.StatusCode == http.StatusTooManyRequests {
			out.Failure = health.FailRateLimit
		} else {
			out.Failure = health.FailBadStatus
		}
		return nil, fmt.Errorf("%s: %s", target, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(body, maxSumDBBytes+1))
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", target, err)
	}
	if len(data) > maxSumDBBytes {
		out.Failure = health.FailTooLarge
		return nil, fmt.Errorf("%s: body exceeds %d bytes", target, maxSumDBBytes)
	}
	return data, nil
}
